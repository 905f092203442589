// A member added at runtime keeps the capacity, worker flag and tags it was added with: in its config entry, in the
// snapshot, and in the leader's placement (src/node/member-facts.ts, src/raft/confchange.ts, snapshot-data.ts).
import { describe, expect, it } from "vitest";
import { decodeConfChange, encodeConfChange } from "../../../src/raft/confchange.js";
import { factsOf, memberTags, workerCapacities } from "../../../src/node/member-facts.js";
import { decodeSnapshotData, encodeSnapshotData } from "../../../src/node/snapshot-data.js";
import { Packr } from "msgpackr";

describe("member facts", () => {
  it("travel in the config entry, and a malformed one is refused like a malformed url", () => {
    const cc = decodeConfChange(encodeConfChange({ op: "addLearner", id: "n4", url: "http://h:1", capacity: 8, worker: true }));
    expect(cc).toEqual({ op: "addLearner", id: "n4", url: "http://h:1", capacity: 8, worker: true });
    expect(decodeConfChange(encodeConfChange({ op: "addVoter", id: "n4" }))).toEqual({ op: "addVoter", id: "n4" });
    expect(() => decodeConfChange(new TextEncoder().encode(JSON.stringify({ op: "addVoter", id: "n4", capacity: -1 })))).toThrow(/capacity/);
    expect(() => decodeConfChange(new TextEncoder().encode(JSON.stringify({ op: "addVoter", id: "n4", worker: "yes" })))).toThrow(/worker/);
  });

  it("win over the cluster file, which wins over the default of 4; worker: false leaves the member out", () => {
    const conf = { voters: ["n1", "n2", "n3"], learners: ["n4", "n5"] };
    const file = [
      { id: "n1", capacity: 4, worker: true },
      { id: "n2", capacity: 2, worker: false },
      { id: "n3", capacity: 6, worker: true },
    ];
    const replicated = new Map([["n3", { capacity: 9 }], ["n4", { capacity: 8 }], ["n5", { worker: false }]]);
    expect([...workerCapacities(conf, file, replicated)]).toEqual([["n1", 4], ["n3", 9], ["n4", 8]]);
    expect([...workerCapacities({ voters: ["n7"], learners: [] }, file, new Map())]).toEqual([["n7", 4]]);
  });

  it("are kept in the snapshot, and a snapshot written before them still decodes", () => {
    const memberUrls = new Map([["n1", "http://h:1"], ["n4", "http://h:4"]]);
    const table = new Uint8Array([1, 2, 3]);
    const d = decodeSnapshotData(encodeSnapshotData({ memberUrls, memberFacts: new Map([["n4", { capacity: 8, worker: true }]]), table }));
    expect([...d.memberUrls]).toEqual([...memberUrls]);
    expect([...(d.memberFacts ?? [])]).toEqual([["n4", { capacity: 8, worker: true }]]);
    expect([...d.table]).toEqual([1, 2, 3]);
    // The older layout: [[id, url], ...] only.
    const header = new Packr({ useRecords: false, structuredClone: false }).pack([["n1", "http://h:1"]]);
    const old = Buffer.concat([Buffer.from("RSN1"), Buffer.alloc(4), header, Buffer.from(table)]);
    old.writeUInt32BE(header.length, 4);
    const o = decodeSnapshotData(old);
    expect([...o.memberUrls]).toEqual([["n1", "http://h:1"]]);
    expect(o.memberFacts?.size).toBe(0);
  });

  it("tags: travel in the config entry and the snapshot, and win over the file's (member add --tags)", () => {
    const cc = decodeConfChange(encodeConfChange({ op: "addLearner", id: "n4", url: "http://h:1", tags: ["gpu", "ssd"] }));
    expect(cc).toEqual({ op: "addLearner", id: "n4", url: "http://h:1", tags: ["gpu", "ssd"] });
    expect(factsOf(cc as { tags?: string[] })).toEqual({ tags: ["gpu", "ssd"] });
    expect(() => decodeConfChange(new TextEncoder().encode(JSON.stringify({ op: "addVoter", id: "n4", tags: ["a b"] })))).toThrow(/tags/);
    expect(() => decodeConfChange(new TextEncoder().encode(JSON.stringify({ op: "addVoter", id: "n4", tags: "gpu" })))).toThrow(/tags/);
    const d = decodeSnapshotData(encodeSnapshotData({ memberUrls: new Map([["n4", "http://h:4"]]), memberFacts: new Map([["n4", { tags: ["gpu"] }]]), table: new Uint8Array(0) }));
    expect([...(d.memberFacts ?? [])]).toEqual([["n4", { tags: ["gpu"] }]]);
    const file = [{ id: "n1", tags: ["cpu"] }, { id: "n4", tags: ["old"] }];
    const replicated = new Map([["n4", { tags: ["ssd", "gpu"] }]]);
    expect(memberTags("n4", file, replicated)).toEqual(["gpu", "ssd"]);
    expect(memberTags("n1", file, replicated)).toEqual(["cpu"]);
    expect(memberTags("n9", file, replicated)).toEqual([]);
  });
});
