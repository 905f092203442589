import { describe, expect, it } from "vitest";
import { memberUrlOwner, memberUrlProblem, normalizeMemberUrl } from "../../../src/node/member-url.js";

describe("member urls", () => {
  it("normalizes scheme, host case, default port and trailing slash", () => {
    expect(normalizeMemberUrl("http://127.0.0.1:17101")).toBe("http://127.0.0.1:17101");
    expect(normalizeMemberUrl("http://127.0.0.1:17101/")).toBe("http://127.0.0.1:17101");
    expect(normalizeMemberUrl("http://127.0.0.1:017101")).toBe("http://127.0.0.1:17101");
    expect(normalizeMemberUrl("http://Node-A.Example:7001")).toBe("http://node-a.example:7001");
    expect(normalizeMemberUrl("http://h:80")).toBe("http://h:80");
    expect(normalizeMemberUrl("http://h")).toBe("http://h:80");
    expect(normalizeMemberUrl("https://h/")).toBe("https://h:443");
    expect(normalizeMemberUrl("http://[::1]:7001")).toBe("http://[::1]:7001");
    // Two names for one host are not equated: nothing else in the project does.
    expect(normalizeMemberUrl("http://localhost:7001")).not.toBe(normalizeMemberUrl("http://127.0.0.1:7001"));
    expect(normalizeMemberUrl("not a url/")).toBe("not a url");
  });

  it("accepts http://host:port and refuses anything a node cannot listen on or be dialled at", () => {
    for (const ok of ["http://127.0.0.1:7001", "http://127.0.0.1:7001/", "http://localhost:1", "http://[::1]:65535", "http://h:80"]) {
      expect(memberUrlProblem(ok), ok).toBeNull();
    }
    for (const bad of [
      "127.0.0.1:7001",
      "https://127.0.0.1:7001",
      "http://127.0.0.1",
      "http://127.0.0.1:7001/raft",
      "http://127.0.0.1:99999",
      "http://127.0.0.1:0",
      "http://user@127.0.0.1:7001",
      "http://user:pw@127.0.0.1:7001",
      "http://h?x:7001",
      "http://h#x:7001",
      "http://127.0.0.1:7001 ",
      "",
    ]) {
      expect(memberUrlProblem(bad), bad).toMatch(/^must be http:\/\/host:port/);
    }
  });

  it("names the other current member that already has the url, never the member itself", () => {
    const members: Array<readonly [string, string | undefined]> = [
      ["n1", "http://127.0.0.1:17101"],
      ["n2", "http://127.0.0.1:17102"],
      ["n3", undefined],
    ];
    expect(memberUrlOwner("http://127.0.0.1:17101", "n9", members)).toBe("n1");
    expect(memberUrlOwner("http://127.0.0.1:17101/", "n9", members)).toBe("n1");
    expect(memberUrlOwner("http://127.0.0.1:017102", "n9", members)).toBe("n2");
    expect(memberUrlOwner("http://127.0.0.1:17101", "n1", members)).toBeNull();
    expect(memberUrlOwner("http://127.0.0.1:17101", "n2", members)).toBe("n1");
    expect(memberUrlOwner("http://localhost:17101", "n9", members)).toBeNull();
    expect(memberUrlOwner("http://127.0.0.1:17103", "n9", members)).toBeNull();
  });
});
