// `raftsched member add` carries the new member's capacity and tags: from --capacity / --tags, else from what the
// cluster file says of that id; a member the file marks "worker": false stays one.
import { describe, expect, it } from "vitest";
import { memberFactsFor } from "../../../src/cli/member.js";
import { parseClusterFile } from "../../../src/config/cluster-file.js";

const cfg = parseClusterFile(
  JSON.stringify({
    token: "0123456789abcdef",
    nodes: [
      { id: "n1", url: "http://127.0.0.1:7001" },
      { id: "n4", url: "http://127.0.0.1:7004", capacity: 8, tags: ["gpu", "ssd"] },
      { id: "n5", url: "http://127.0.0.1:7005", worker: false },
    ],
  }),
  "test",
);

describe("member add: the new member's facts", () => {
  it("--tags splits on commas, trims, drops empties, and wins over the file", () => {
    expect(memberFactsFor(cfg, "n4", undefined, " gpu , arm,, ")).toEqual({ capacity: 8, tags: ["gpu", "arm"] });
    expect(memberFactsFor(cfg, "n9", "2", "x")).toEqual({ capacity: 2, tags: ["x"] });
    expect(memberFactsFor(cfg, "n4", undefined, "")).toEqual({ capacity: 8, tags: [] }); // --tags "" clears them
  });

  it("without flags: what the cluster file lists for the id; nothing for an id it does not list", () => {
    expect(memberFactsFor(cfg, "n4", undefined, undefined)).toEqual({ capacity: 8, tags: ["gpu", "ssd"] });
    expect(memberFactsFor(cfg, "n5", undefined, undefined)).toMatchObject({ worker: false });
    expect(memberFactsFor(cfg, "n9", undefined, undefined)).toEqual({});
  });

  it("a bad --capacity is a usage error naming the flag", () => {
    for (const bad of ["-1", "1.5", "lots", "100001"]) {
      expect(() => memberFactsFor(cfg, "n9", bad, undefined)).toThrow(/--capacity must be an integer/);
    }
  });
});
