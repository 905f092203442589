// Each checker fed a hand-made broken history must fire, and the correct twin of that history must pass:
// checkers that cannot fail prove nothing.
import { describe, expect, it } from "vitest";
import type { Entry } from "../../src/raft/types.js";
import {
  checkAll,
  committedEntryLost,
  electionSafety,
  leaderCompleteness,
  linearizableRead,
  logMatching,
  stateMachineSafety,
} from "./checkers.js";
import type { ClusterView, CommitRecord, LeaderRecord, NodeView, ReadRecord } from "./view.js";

const enc = new TextEncoder();

function e(index: number, term: number, text = ""): Entry {
  return { index, term, kind: "normal", data: enc.encode(text) };
}

/** A log from "term:payload" specs, index 1 first. */
function log(...specs: string[]): Entry[] {
  return specs.map((s, k) => {
    const [term, text] = s.split(":");
    return e(k + 1, Number(term), text ?? "");
  });
}

function node(id: string, l: readonly Entry[], applied: readonly Entry[] = [], durable: readonly Entry[] = l): NodeView {
  return { id, alive: true, role: "follower", term: l[l.length - 1]?.term ?? 0, log: l, durableLog: durable, applied };
}

function view(parts: {
  nodes: NodeView[];
  leaders?: LeaderRecord[];
  committed?: Entry[];
  commitTerms?: [number, number][];
  reads?: ReadRecord[];
}): ClusterView {
  const committed = new Map<number, CommitRecord>();
  for (const c of parts.committed ?? []) committed.set(c.index, { entry: c, node: "n1", tick: 1 });
  return {
    seed: 7,
    tick: 100,
    nodes: parts.nodes,
    leaders: parts.leaders ?? [],
    committed,
    commitTerms: new Map(parts.commitTerms ?? []),
    reads: parts.reads ?? [],
  };
}

describe("electionSafety", () => {
  it("fires when two nodes lead the same term", () => {
    const v = view({
      nodes: [],
      leaders: [
        { term: 2, id: "n1", tick: 10 },
        { term: 3, id: "n2", tick: 40 },
        { term: 3, id: "n3", tick: 41 },
      ],
    });
    const out = electionSafety(v);
    expect(out).toHaveLength(1);
    expect(out[0]).toMatchObject({ checker: "electionSafety", seed: 7, tick: 100 });
    expect(out[0]!.detail).toContain("term 3 has two leaders: n2 and n3");
  });

  it("passes one leader per term, even the same node in several terms", () => {
    const v = view({
      nodes: [],
      leaders: [
        { term: 2, id: "n1", tick: 10 },
        { term: 3, id: "n1", tick: 40 },
        { term: 4, id: "n2", tick: 80 },
      ],
    });
    expect(electionSafety(v)).toEqual([]);
  });
});

describe("logMatching", () => {
  it("fires when logs share (index, term) but differ before it", () => {
    const a = log("1:a", "1:b", "2:c");
    const b = log("1:a", "1:x", "2:c");
    const out = logMatching(view({ nodes: [node("n1", a), node("n2", b)] }));
    expect(out).toHaveLength(1);
    expect(out[0]!.detail).toContain("n1 and n2 both hold index 3 term 2 but differ at index 2");
  });

  it("fires on a log whose terms go down or whose indexes skip", () => {
    const backwards = [e(1, 2), e(2, 1)];
    const gap = [e(1, 1), e(3, 1)];
    expect(logMatching(view({ nodes: [node("n1", backwards)] })).map((v) => v.detail)).toEqual(["n1: term goes down at index 2: 2 -> 1"]);
    expect(logMatching(view({ nodes: [node("n2", gap)] })).map((v) => v.detail)).toEqual(["n2: log position 2 holds index 3"]);
  });

  it("passes logs that diverge only after their last common (index, term)", () => {
    const a = log("1:a", "1:b", "2:c", "2:d");
    const b = log("1:a", "1:b", "3:e");
    const c = log("1:a");
    expect(logMatching(view({ nodes: [node("n1", a), node("n2", b), node("n3", c)] }))).toEqual([]);
  });
});

describe("leaderCompleteness", () => {
  const committedX = e(2, 1, "X");

  it("fires when a leader of a later term lacks a committed entry", () => {
    const out = leaderCompleteness(
      view({
        nodes: [],
        leaders: [{ term: 3, id: "n2", tick: 50, log: log("1:", "2:other") }],
        committed: [e(1, 1), committedX],
        commitTerms: [
          [1, 1],
          [2, 2],
        ],
      }),
    );
    expect(out).toHaveLength(1);
    expect(out[0]!.detail).toContain('n2, leader of term 3 (tick 50), lacks (2@t1 "X") committed by term 2');
  });

  it("passes when the leader holds it, or was elected in a term not after the commit", () => {
    const v = view({
      nodes: [],
      leaders: [
        { term: 2, id: "n3", tick: 20, log: log("1:") }, // elected in the commit's own term: not bound by it
        { term: 3, id: "n2", tick: 50, log: [e(1, 1), committedX, e(3, 3)] },
        { term: 4, id: "n1", tick: 60 }, // no log recorded: nothing to check
      ],
      committed: [e(1, 1), committedX],
      commitTerms: [
        [1, 1],
        [2, 2],
      ],
    });
    expect(leaderCompleteness(v)).toEqual([]);
  });
});

describe("stateMachineSafety", () => {
  it("fires when a node applies a different entry at a committed index", () => {
    const first = e(1, 1, "a");
    const other = e(1, 2, "b");
    const out = stateMachineSafety(view({ nodes: [node("n1", [first], [first]), node("n2", [other], [other])], committed: [first] }));
    expect(out).toHaveLength(1);
    expect(out[0]!.detail).toContain('index 1: n2 applied (1@t2 "b") but n1 applied (1@t1 "a")');
  });

  it("fires when a node applies out of order", () => {
    const out = stateMachineSafety(view({ nodes: [node("n1", log("1:", "1:"), [e(2, 1)])] }));
    expect(out[0]!.detail).toContain("n1 applied index 2 as its 1th entry");
  });

  it("passes nodes that applied prefixes of the same sequence", () => {
    const l = log("1:a", "1:b", "2:c");
    const v = view({ nodes: [node("n1", l, l), node("n2", l, l.slice(0, 1)), node("n3", l, [])], committed: l });
    expect(stateMachineSafety(v)).toEqual([]);
  });
});

describe("committedEntryLost", () => {
  const l = log("1:a", "1:b");

  it("fires when a committed entry is durable on less than a majority", () => {
    const overwritten = log("1:a", "2:z");
    const v = view({ nodes: [node("n1", l), node("n2", overwritten), node("n3", overwritten)], committed: l });
    const out = committedEntryLost(v);
    expect(out).toHaveLength(1);
    expect(out[0]!.detail).toContain('(2@t1 "b") (applied by n1 at tick 1) is durable on 1 of 3 nodes');
  });

  it("counts durable logs only: an entry merely in flight does not count", () => {
    const v = view({ nodes: [node("n1", l), node("n2", l, [], l.slice(0, 1)), node("n3", l.slice(0, 1))], committed: l });
    expect(committedEntryLost(v)).toHaveLength(1);
  });

  it("passes when a majority holds every committed entry", () => {
    const v = view({ nodes: [node("n1", l), node("n2", l), node("n3", [])], committed: l });
    expect(committedEntryLost(v)).toEqual([]);
  });
});

describe("linearizableRead", () => {
  it("fires on a read point below what was applied when the read began", () => {
    const out = linearizableRead(
      view({ nodes: [], reads: [{ node: "n2", context: "r1", requestTick: 10, minIndex: 5, answerIndex: 4, answerTick: 12 }] }),
    );
    expect(out[0]!.detail).toContain("read r1 on n2 (asked at tick 10) got read index 4, but index 5 was already applied");
  });

  it("passes reads at or above it, and unanswered reads", () => {
    const v = view({
      nodes: [],
      reads: [
        { node: "n2", context: "r1", requestTick: 10, minIndex: 5, answerIndex: 5, answerTick: 12 },
        { node: "n1", context: "r2", requestTick: 11, minIndex: 5 },
      ],
    });
    expect(linearizableRead(v)).toEqual([]);
  });
});

describe("checkAll", () => {
  it("is clean on a healthy three-node history", () => {
    const l = log("1:", "1:a", "2:", "2:b");
    const v = view({
      nodes: [node("n1", l, l), node("n2", l, l.slice(0, 3)), node("n3", l.slice(0, 2), l.slice(0, 2))],
      leaders: [
        { term: 1, id: "n1", tick: 5, log: l.slice(0, 1) },
        { term: 2, id: "n2", tick: 30, log: l.slice(0, 3) },
      ],
      committed: l,
      commitTerms: [
        [1, 1],
        [2, 1],
        [3, 2],
        [4, 2],
      ],
    });
    expect(checkAll(v)).toEqual([]);
  });
});
