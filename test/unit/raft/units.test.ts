import { describe, expect, it } from "vitest";
import { committedIndex, quorumActive, quorumSize, voteResult } from "../../../src/raft/quorum.js";
import { Inflights } from "../../../src/raft/inflights.js";
import { Progress } from "../../../src/raft/progress.js";
import { Unstable } from "../../../src/raft/unstable.js";
import { RaftLog } from "../../../src/raft/log.js";
import { makePrng } from "../../../src/raft/prng.js";
import { applyConfChange, confChangeProblem, decodeConfChange, encodeConfChange } from "../../../src/raft/confchange.js";
import { ReadOnly } from "../../../src/raft/readonly.js";
import type { Entry } from "../../../src/raft/types.js";
import { RaftError } from "../../../src/raft/types.js";
import { MemoryStorage } from "../../../src/storage/memory.js";

function ents(from: number, terms: number[]): Entry[] {
  return terms.map((t, k) => ({ term: t, index: from + k, kind: "normal" as const, data: new Uint8Array(10) }));
}

describe("quorum", () => {
  it("majority sizes", () => {
    expect([1, 2, 3, 4, 5].map(quorumSize)).toEqual([1, 2, 2, 3, 3]);
  });
  it("committed index is the largest index held by a majority", () => {
    const m = new Map([["a", 5], ["b", 3], ["c", 1]]);
    expect(committedIndex(["a", "b", "c"], (id) => m.get(id))).toBe(3);
    expect(committedIndex(["a", "b", "c", "d"], (id) => m.get(id))).toBe(1); // d unknown = 0
    expect(committedIndex(["a"], (id) => m.get(id))).toBe(5);
    expect(committedIndex([], () => 7)).toBe(0);
  });
  it("vote results ignore non-voters and decide as early as possible", () => {
    const voters = ["a", "b", "c"];
    expect(voteResult(voters, new Map([["a", true]]))).toBe("pending");
    expect(voteResult(voters, new Map([["a", true], ["b", true]]))).toBe("won");
    expect(voteResult(voters, new Map([["a", true], ["b", false], ["c", false]]))).toBe("lost");
    expect(voteResult(voters, new Map([["a", true], ["x", true], ["y", true]]))).toBe("pending");
    expect(voteResult(["a", "b", "c", "d"], new Map([["a", false], ["b", false]]))).toBe("lost");
  });
  it("quorum activity", () => {
    expect(quorumActive(["a", "b", "c"], (id) => id !== "c")).toBe(true);
    expect(quorumActive(["a", "b", "c"], (id) => id === "a")).toBe(false);
  });
});

describe("unstable tail", () => {
  it("appends, truncates on conflict, and drops what became stable", () => {
    const u = new Unstable(5);
    u.truncateAndAppend(ents(5, [1, 1, 1]));
    expect(u.maybeLastIndex()).toBe(7);
    u.truncateAndAppend(ents(6, [2])); // replaces 6 and 7
    expect(u.entries.map((e) => [e.index, e.term])).toEqual([[5, 1], [6, 2]]);
    u.truncateAndAppend(ents(3, [3])); // before the offset: everything replaced, offset moves back
    expect(u.offset).toBe(3);
    expect(u.entries.map((e) => e.index)).toEqual([3]);
    u.stableTo(3, 9); // wrong term: the entry was replaced meanwhile, keep it
    expect(u.entries.length).toBe(1);
    u.stableTo(3, 3);
    expect(u.entries.length).toBe(0);
    expect(u.offset).toBe(4);
  });
  it("holds a snapshot until it is stable", () => {
    const u = new Unstable(1);
    u.restore({ meta: { index: 10, term: 3, conf: { voters: ["a"], learners: [] } }, data: new Uint8Array(0) });
    expect(u.maybeFirstIndex()).toBe(11);
    expect(u.maybeLastIndex()).toBe(10);
    expect(u.maybeTerm(10)).toBe(3);
    expect(u.maybeTerm(9)).toBeUndefined();
    u.stableSnapTo(10);
    expect(u.snapshot).toBeUndefined();
  });
});

describe("raft log", () => {
  function logWith(terms: number[]): { log: RaftLog; storage: MemoryStorage } {
    const storage = new MemoryStorage({ voters: ["a"], learners: [] });
    storage.append(ents(1, terms));
    return { log: new RaftLog(storage), storage };
  }

  it("maybeAppend checks prev, truncates a conflicting suffix, and commits up to the new entries", () => {
    const { log } = logWith([1, 1, 2, 2]);
    expect(log.maybeAppend(2, 2, 10, ents(3, [3]))).toBeUndefined(); // term at 2 is 1
    expect(log.maybeAppend(2, 1, 10, ents(3, [3]))).toBe(3);
    expect(log.lastIndex()).toBe(3); // entry 4 (term 2) dropped with the conflict at 3
    expect(log.term(3)).toBe(3);
    expect(log.committed).toBe(3);
    expect(log.unstable.entries.map((e) => e.index)).toEqual([3]);
  });

  it("maybeAppend of entries already held changes nothing", () => {
    const { log } = logWith([1, 1, 2, 2]);
    expect(log.maybeAppend(1, 1, 0, ents(2, [1, 2]))).toBe(3);
    expect(log.lastIndex()).toBe(4);
    expect(log.unstable.entries).toEqual([]);
  });

  it("refuses to truncate committed entries", () => {
    const { log } = logWith([1, 1, 2]);
    log.commitTo(3);
    expect(() => log.maybeAppend(1, 1, 3, ents(2, [5]))).toThrow(RaftError);
  });

  it("findConflictByTerm walks back to the last index with term <= the given term", () => {
    const { log } = logWith([1, 1, 1, 4, 4, 5, 5, 6, 6, 6]);
    expect(log.findConflictByTerm(10, 5)).toEqual({ index: 7, term: 5 });
    expect(log.findConflictByTerm(10, 3)).toEqual({ index: 3, term: 1 });
    expect(log.findConflictByTerm(10, 0)).toEqual({ index: 0, term: 0 });
    expect(log.findConflictByTerm(20, 5)).toEqual({ index: 20, term: 0 });
  });

  it("slices across storage and the unstable tail within a byte limit; compacted reads throw COMPACTED", () => {
    const { log, storage } = logWith([1, 1, 1]);
    log.append(ents(4, [2, 2]));
    expect(log.slice(2, 6).map((e) => e.index)).toEqual([2, 3, 4, 5]);
    expect(log.slice(2, 6, 70).map((e) => e.index)).toEqual([2, 3]); // 34 bytes each
    expect(log.slice(3, 6, 1).map((e) => e.index)).toEqual([3]); // always at least one
    storage.createSnapshot({ meta: { index: 2, term: 1, conf: { voters: ["a"], learners: [] } }, data: new Uint8Array(0) });
    storage.compact(2);
    expect(() => log.slice(1, 3)).toThrow(/compacted/);
    expect(log.term(1)).toBeUndefined();
    expect(log.term(2)).toBe(1);
  });

  it("up-to-date comparison (§5.4.1)", () => {
    const { log } = logWith([1, 2, 2]);
    expect(log.isUpToDate(3, 2)).toBe(true);
    expect(log.isUpToDate(2, 2)).toBe(false);
    expect(log.isUpToDate(1, 3)).toBe(true);
    expect(log.isUpToDate(9, 1)).toBe(false);
  });
});

describe("progress and inflights", () => {
  it("inflights bound the window and free acknowledged slots", () => {
    const f = new Inflights(3);
    f.add(1);
    f.add(5);
    f.add(9);
    expect(f.full()).toBe(true);
    expect(() => f.add(10)).toThrow();
    f.freeLE(5);
    expect(f.count).toBe(1);
    f.freeLE(100);
    expect(f.count).toBe(0);
  });

  it("probe sends one append then waits; replicate pipelines optimistically up to the window", () => {
    const pr = new Progress(6, 2, false);
    expect(pr.isPaused()).toBe(false);
    pr.sentEntries(0, 5);
    expect(pr.isPaused()).toBe(true);
    expect(pr.maybeUpdate(5)).toBe(true);
    pr.becomeReplicate();
    expect(pr.next).toBe(6);
    pr.sentEntries(3, 8);
    expect(pr.next).toBe(9);
    pr.sentEntries(2, 10);
    expect(pr.isPaused()).toBe(true); // window of 2 full
    pr.inflights.freeLE(8);
    expect(pr.isPaused()).toBe(false);
  });

  it("rejections: stale ones are ignored, fresh ones move next back (never below match + 1)", () => {
    const pr = new Progress(11, 4, false);
    expect(pr.maybeDecrTo(7, 3)).toBe(false); // we sent prev=10, this answers an old message
    expect(pr.maybeDecrTo(10, 3)).toBe(true);
    expect(pr.next).toBe(4);
    pr.maybeUpdate(5);
    pr.becomeReplicate();
    expect(pr.maybeDecrTo(4, 0)).toBe(false); // below match: stale
    expect(pr.maybeDecrTo(8, 5)).toBe(true);
    expect(pr.next).toBe(6);
  });

  it("a follower that refuses an entry it acknowledged, holding less, lost its storage: probe from what it has", () => {
    const pr = new Progress(11, 4, false);
    pr.maybeUpdate(10);
    pr.becomeReplicate();
    expect(pr.maybeDecrTo(10, 0)).toBe(true); // wiped data dir: its log is empty
    expect(pr.match).toBe(0);
    expect(pr.state).toBe("probe");
    expect(pr.next).toBe(1);
  });

  it("snapshot state pauses until the snapshot is done, then probes right after it", () => {
    const pr = new Progress(1, 4, false);
    pr.becomeSnapshot(20);
    expect(pr.isPaused()).toBe(true);
    pr.becomeProbe();
    expect(pr.next).toBe(21);
  });
});

describe("conf changes", () => {
  it("round-trips through JSON and rejects garbage", () => {
    const cc = { op: "addVoter", id: "n4", url: "http://x" } as const;
    expect(decodeConfChange(encodeConfChange(cc))).toEqual(cc);
    expect(() => decodeConfChange(new TextEncoder().encode("{}"))).toThrow(RaftError);
    expect(() => decodeConfChange(new TextEncoder().encode("nope"))).toThrow(RaftError);
    expect(() => decodeConfChange(new TextEncoder().encode('{"op":"boom","id":"a"}'))).toThrow(RaftError);
  });
  it("validates and applies one change at a time", () => {
    const conf = { voters: ["a"], learners: ["l"] };
    expect(confChangeProblem(conf, { op: "remove", id: "a" })).toMatch(/last voter/);
    expect(confChangeProblem(conf, { op: "addVoter", id: "a" })).toMatch(/already/);
    expect(confChangeProblem(conf, { op: "remove", id: "zz" })).toMatch(/not a member/);
    expect(confChangeProblem(conf, { op: "addVoter", id: "l" })).toBeNull();
    expect(applyConfChange(conf, { op: "addVoter", id: "l" })).toEqual({ voters: ["a", "l"], learners: [] });
    expect(applyConfChange(conf, { op: "remove", id: "a" })).toEqual(conf); // never empties the voters
    const twice = applyConfChange(applyConfChange(conf, { op: "addLearner", id: "m" }), { op: "addLearner", id: "m" });
    expect(twice).toEqual({ voters: ["a"], learners: ["l", "m"] });
  });
});

describe("read-only queue", () => {
  it("releases requests in order up to the acknowledged context", () => {
    const ro = new ReadOnly();
    expect(ro.addRequest(5, "a", "c1")).toBe(true);
    expect(ro.addRequest(6, "b", "c2")).toBe(true);
    expect(ro.addRequest(6, "b", "c2")).toBe(false);
    expect(ro.lastPendingContext()).toBe("c2");
    expect(ro.recvAck("x", "c2")?.size).toBe(1);
    expect(ro.advance("c2").map((r) => r.context)).toEqual(["c1", "c2"]);
    expect(ro.size).toBe(0);
    expect(ro.recvAck("x", "c1")).toBeUndefined();
  });
});

describe("prng", () => {
  it("is deterministic per seed and in [0, 1)", () => {
    const a = makePrng(42);
    const b = makePrng(42);
    const xs = Array.from({ length: 1000 }, () => a());
    expect(xs).toEqual(Array.from({ length: 1000 }, () => b()));
    expect(xs.every((x) => x >= 0 && x < 1)).toBe(true);
    expect(new Set(xs).size).toBeGreaterThan(990);
    expect(makePrng(43)()).not.toBe(makePrng(42)());
  });
});
