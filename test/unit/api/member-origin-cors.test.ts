// CORS for a dashboard page that moved to another member: headers for the origins of member urls only, and a
// preflight from one answered here; any other origin is left to the router without CORS headers, so a web page
// from elsewhere cannot read the cluster's tasks through a visitor's browser.
import type { IncomingMessage, ServerResponse } from "node:http";
import { describe, expect, it } from "vitest";
import { answerMemberCors, isMemberOrigin, originOf } from "../../../src/api/member-origin-cors.js";

const MEMBERS = ["http://127.0.0.1:7001", "http://127.0.0.1:7002/"];

function exchange(method: string, headers: Record<string, string>) {
  const set: Record<string, string> = {};
  let status: number | null = null;
  const res = {
    setHeader: (k: string, v: string) => void (set[k.toLowerCase()] = v),
    writeHead: (s: number, h: Record<string, string>) => {
      status = s;
      for (const [k, v] of Object.entries(h)) set[k.toLowerCase()] = v;
    },
    end: () => undefined,
  } as unknown as ServerResponse;
  const req = { method, headers } as unknown as IncomingMessage;
  const answered = answerMemberCors(req, res, () => MEMBERS);
  return { answered, set, status: status as number | null };
}

describe("answerMemberCors", () => {
  it("allows a member's origin on a plain request and leaves the answer to the router", () => {
    const r = exchange("GET", { origin: "http://127.0.0.1:7002" });
    expect(r.answered).toBe(false);
    expect(r.set["access-control-allow-origin"]).toBe("http://127.0.0.1:7002");
    expect(r.set.vary).toBe("Origin");
  });

  it("answers a member's preflight with the methods and headers the page uses", () => {
    const r = exchange("OPTIONS", { origin: "http://127.0.0.1:7001", "access-control-request-method": "POST" });
    expect(r.answered).toBe(true);
    expect(r.status).toBe(204);
    expect(r.set["access-control-allow-headers"]).toContain("authorization");
    expect(r.set["access-control-allow-methods"]).toContain("POST");
  });

  it("gives any other origin nothing, and does not answer its preflight", () => {
    for (const origin of ["http://evil.example", "http://127.0.0.1:7003", "null"]) {
      const r = exchange("OPTIONS", { origin, "access-control-request-method": "POST" });
      expect(r.answered).toBe(false);
      expect(r.set).toEqual({});
    }
    expect(exchange("GET", {}).set).toEqual({});
  });
});

describe("origins", () => {
  it("compare scheme, host and port", () => {
    expect(originOf("http://127.0.0.1:7001/x")).toBe("http://127.0.0.1:7001");
    expect(originOf("not a url")).toBeNull();
    expect(isMemberOrigin("https://127.0.0.1:7001", MEMBERS)).toBe(false);
  });
});
