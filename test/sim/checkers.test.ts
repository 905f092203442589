// Each checker fed a hand-made broken history must fire, and the correct twin of that history must pass:
// checkers that cannot fail prove nothing.
import { describe, expect, it } from "vitest";
import type { Entry } from "../../src/raft/types.js";
import {
  checkAll,
  committedEntryLost,
  disjointMajorities,
  electionSafety,
  leaderCompleteness,
  linearizableRead,
  logMatching,
  memberStopped,
  removedNodeLeads,
  stateMachineSafety,
} from "./checkers.js";
import type { ClusterView, CommitRecord, ConfRecord, LeaderRecord, NodeView, QuorumRecord, ReadRecord, RemovalRecord } from "./view.js";

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
  confs?: ConfRecord[];
  quorums?: QuorumRecord[];
  removals?: RemovalRecord[];
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
    confs: parts.confs ?? [],
    quorums: parts.quorums ?? [],
    removals: parts.removals ?? [],
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

describe("committedEntryLost over the configuration in force", () => {
  const l = log("1:a", "1:b");
  const conf = (voters: string[]): ConfRecord[] => [{ index: 0, tick: 0, conf: { voters, learners: [] } }];

  it("fires when the holders are most of the nodes but not a majority of the voters in force", () => {
    // n1 and n4 hold it, n2 and n3 do not; n4 is a learner: 1 of the 3 voters.
    const v = view({
      nodes: [node("n1", l), node("n2", []), node("n3", []), node("n4", l)],
      committed: l,
      confs: conf(["n1", "n2", "n3"]),
    });
    const out = committedEntryLost(v);
    expect(out).toHaveLength(2);
    expect(out[0]!.detail).toContain("is durable on 1 of 3 nodes, below a majority of 2 (voters {n1,n2,n3})");
  });

  it("with an even number of voters, half of them meets every majority", () => {
    const v = view({ nodes: [node("n1", l), node("n2", l), node("n3", []), node("n4", [])], committed: l, confs: conf(["n1", "n2", "n3", "n4"]) });
    expect(committedEntryLost(v)).toEqual([]);
    const short = view({ nodes: [node("n1", l), node("n2", []), node("n3", []), node("n4", [])], committed: l, confs: conf(["n1", "n2", "n3", "n4"]) });
    expect(committedEntryLost(short)).toHaveLength(2);
  });
});

describe("disjointMajorities", () => {
  const q = (p: Partial<QuorumRecord> & Pick<QuorumRecord, "term" | "by" | "members" | "voters">): QuorumRecord => ({ kind: "election", tick: 10, ...p });

  it("fires on two disjoint majorities in one term, each of the configuration its decider had in force", () => {
    // Two changes applied differently: n1 thinks {n1,n2,n3}, n4 thinks {n3,n4,n5} — both majorities, no shared node.
    const out = disjointMajorities(
      view({
        nodes: [],
        quorums: [
          q({ term: 5, by: "n1", members: ["n1", "n2"], voters: ["n1", "n2", "n3"] }),
          q({ term: 5, by: "n4", members: ["n4", "n5"], voters: ["n3", "n4", "n5"] }),
        ],
      }),
    );
    expect(out).toHaveLength(1);
    expect(out[0]!.detail).toContain("term 5 has two disjoint majorities: n1's election in term 5 (tick 10) by {n1,n2}");
  });

  it("fires on a leader committing after leaving the configuration: its commit misses its election quorum", () => {
    const out = disjointMajorities(
      view({
        nodes: [],
        quorums: [
          q({ term: 3, by: "n1", members: ["n1", "n2"], voters: ["n1", "n2", "n3"] }),
          q({ term: 3, by: "n1", kind: "commit", index: 9, members: ["n3", "n4"], voters: ["n3", "n4", "n5"] }),
        ],
      }),
    );
    expect(out.map((v) => v.detail)).toEqual([expect.stringContaining("n1's commit of index 9 in term 3")]);
  });

  it("fires on a commit or an election that is not a majority of the voters in force", () => {
    const out = disjointMajorities(
      view({
        nodes: [],
        quorums: [
          q({ term: 4, by: "n2", kind: "commit", index: 7, members: ["n2", "n9"], voters: ["n1", "n2", "n3"] }), // n9 is no voter
          q({ term: 6, by: "n3", members: ["n3", "n4"], voters: ["n1", "n2", "n3", "n4"] }), // 2 of 4
        ],
      }),
    );
    expect(out.map((v) => v.detail)).toEqual([
      expect.stringContaining("n2's commit of index 7 in term 4 (tick 10) by {n2,n9} of voters {n1,n2,n3}: 1 voters are not a majority of 3"),
      expect.stringContaining("n3's election in term 6 (tick 10) by {n3,n4} of voters {n1,n2,n3,n4}: 2 voters are not a majority of 4"),
    ]);
  });

  it("passes overlapping majorities across a one-at-a-time change, and different terms", () => {
    const v = view({
      nodes: [],
      quorums: [
        q({ term: 2, by: "n1", members: ["n1", "n2"], voters: ["n1", "n2", "n3"] }),
        q({ term: 2, by: "n1", kind: "commit", index: 4, members: ["n1", "n3", "n4"], voters: ["n1", "n2", "n3", "n4"] }),
        q({ term: 3, by: "n4", members: ["n3", "n4"], voters: ["n2", "n3", "n4"] }),
        q({ term: 3, by: "n4", kind: "commit", index: 6, members: ["n4", "n2"], voters: ["n2", "n3", "n4"] }),
      ],
    });
    expect(disjointMajorities(v)).toEqual([]);
  });
});

describe("removedNodeLeads", () => {
  const removal: Entry = { ...e(8, 2, '{"op":"remove","id":"n3"}'), kind: "config" };
  const withRemoval = [...log("1:", "1:a", "2:", "2:b", "2:c", "2:d", "2:e"), removal];

  it("fires when a node leads after it applied its own removal", () => {
    const out = removedNodeLeads(
      view({
        nodes: [],
        leaders: [{ term: 4, id: "n3", tick: 90, log: withRemoval }],
        removals: [{ id: "n3", index: 8, tick: 50, entry: removal, knownTick: 60 }],
      }),
    );
    expect(out).toHaveLength(1);
    expect(out[0]!.detail).toContain("n3 became leader of term 4 at tick 90, after it applied its own removal");
  });

  it("fires when a removed node that never heard of its removal leads after it committed", () => {
    const out = removedNodeLeads(
      view({
        nodes: [],
        leaders: [{ term: 3, id: "n3", tick: 90, log: withRemoval.slice(0, 7) }],
        removals: [{ id: "n3", index: 8, tick: 50, entry: removal }],
      }),
    );
    expect(out[0]!.detail).toContain("n3 became leader of term 3 at tick 90 although its removal");
  });

  it("passes a node that led before its removal, and one holding the removal that had not learned it committed", () => {
    const v = view({
      nodes: [],
      leaders: [
        { term: 2, id: "n3", tick: 20, log: withRemoval.slice(0, 3) },
        { term: 3, id: "n3", tick: 55, log: withRemoval },
        { term: 3, id: "n1", tick: 90 },
      ],
      removals: [{ id: "n3", index: 8, tick: 50, entry: removal, knownTick: 70 }],
    });
    expect(removedNodeLeads(v)).toEqual([]);
  });
});

describe("removedNodeLeads and an id added back", () => {
  const removal: Entry = { ...e(8, 2, '{"op":"remove","id":"n3"}'), kind: "config" };
  it("passes the same id leading after its re-addition committed, and still fires before it", () => {
    const confs: ConfRecord[] = [
      { index: 0, tick: 0, conf: { voters: ["n1", "n2", "n3"], learners: [] } },
      { index: 8, tick: 50, conf: { voters: ["n1", "n2"], learners: [] } },
      { index: 12, tick: 80, conf: { voters: ["n1", "n2"], learners: ["n3"] } },
    ];
    const removals: RemovalRecord[] = [{ id: "n3", index: 8, tick: 50, entry: removal, knownTick: 60 }];
    expect(removedNodeLeads(view({ nodes: [], confs, removals, leaders: [{ term: 5, id: "n3", tick: 120 }] }))).toEqual([]);
    expect(removedNodeLeads(view({ nodes: [], confs, removals, leaders: [{ term: 4, id: "n3", tick: 70 }] }))).toHaveLength(1);
  });
});

describe("memberStopped", () => {
  const confs: ConfRecord[] = [
    { index: 0, tick: 0, conf: { voters: ["n1", "n2", "n3"], learners: [] } },
    { index: 8, tick: 50, conf: { voters: ["n1", "n2"], learners: [] } },
  ];
  it("fires when a member of the latest committed configuration has stopped for good", () => {
    const readded: ConfRecord = { index: 14, tick: 90, conf: { voters: ["n1", "n2", "n3"], learners: [] } };
    const out = memberStopped(view({ nodes: [{ ...node("n3", []), alive: false, stoppedForGood: true }], confs: [...confs, readded] }));
    expect(out).toHaveLength(1);
    expect(out[0]!.detail).toContain("n3 has stopped for good but is a voter of the configuration committed at index 14");
  });

  it("passes a stopped node that is not a member any more, and a member that is merely down", () => {
    expect(memberStopped(view({ nodes: [{ ...node("n3", []), alive: false, stoppedForGood: true }], confs }))).toEqual([]);
    expect(memberStopped(view({ nodes: [{ ...node("n1", []), alive: false }], confs }))).toEqual([]);
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
