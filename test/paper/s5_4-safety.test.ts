// §5.4 Safety: the election restriction (§5.4.1), committing entries from previous terms (§5.4.2, Figure 8), and the
// resulting Leader Completeness and State Machine Safety properties (§5.4.3, Figure 3).
import { describe, expect, it } from "vitest";
import { makePrng } from "../../src/raft/prng.js";
import type { BrokenRules } from "../../src/raft/api.js";
import type { NodeId } from "../../src/raft/types.js";
import { bytes, makeLeader, PaperCluster, PaperNode, storageWith, storedTerms } from "./harness.js";

const VOTERS = ["n1", "n2", "n3"];
const FIVE = ["n1", "n2", "n3", "n4", "n5"];

describe("§5.4.1 election restriction", () => {
  // The voter's log: index 1 term 1, index 2 term 1, index 3 term 2 (last term 2, last index 3).
  const cases = [
    { last: [5, 1], grant: false, why: "older last term, even though longer" },
    { last: [2, 2], grant: false, why: "same last term, shorter" },
    { last: [3, 2], grant: true, why: "same last term, same length" },
    { last: [4, 2], grant: true, why: "same last term, longer" },
    { last: [1, 3], grant: true, why: "newer last term, even though shorter" },
  ] as const;
  for (const type of ["vote", "preVote"] as const) {
    for (const c of cases) {
      it(`§5.4.1: a voter ${c.grant ? "grants" : "refuses"} a ${type} from a candidate whose log is ${c.why}`, () => {
        const n = new PaperNode("n1", storageWith(VOTERS, [1, 1, 2], 2));
        n.raft.step({ type, from: "n2", to: "n1", term: 3, lastLogIndex: c.last[0], lastLogTerm: c.last[1] });
        const resp = n.drain().filter((m) => m.type === (type === "vote" ? "voteResp" : "preVoteResp"));
        expect(resp).toMatchObject([{ to: "n2", reject: !c.grant }]);
        if (type === "vote") expect(n.raft.status()).toMatchObject({ term: 3, vote: c.grant ? "n2" : null });
        else expect(n.raft.status()).toMatchObject({ term: 2, vote: null }); // a pre-vote changes nothing
      });
    }
  }

  it("§5.4.1: a server missing a committed entry cannot be elected; one that holds it is", () => {
    const c = new PaperCluster(VOTERS, { preVote: false, checkQuorum: false });
    c.campaign("n1");
    c.isolate("n3");
    c.node("n1").raft.propose(bytes("committed"));
    c.settle();
    expect(c.node("n1").raft.status().commit).toBe(2); // on n1 and n2 only
    c.heal();
    c.isolate("n1"); // the leader dies
    c.campaign("n3");
    expect(c.node("n3").raft.status().role).not.toBe("leader");
    expect(c.sent.filter((m) => m.type === "voteResp" && m.from === "n2" && m.to === "n3")).toMatchObject([{ reject: true }]);
    c.campaign("n2");
    expect(c.node("n2").raft.status()).toMatchObject({ role: "leader", term: 3 }); // (n1 still thinks it leads term 1)
    c.tick(["n2"], 4);
    expect(c.node("n3").appliedData()).toEqual(["committed"]);
  });
});

describe("§5.4.2 committing entries from previous terms (Figure 8)", () => {
  /** Figure 8 (c): S1 leads term 4 holding index 2 from term 2; S2 already has it. */
  function figure8Leader(broken = false): PaperNode {
    const n = new PaperNode("n1", storageWith(FIVE, [1, 2], 3), {
      preVote: false,
      ...(broken ? { brokenRules: { commitOldTermEntries: true } } : {}),
    });
    makeLeader(n, FIVE); // term 4, no-op at index 3
    expect(n.raft.status()).toMatchObject({ role: "leader", term: 4, lastIndex: 3, commit: 0 });
    return n;
  }
  const ack = (n: PaperNode, from: NodeId, index: number): void => {
    n.raft.step({ type: "appendResp", from, to: "n1", term: 4, index, reject: false });
    n.drain();
  };

  it("§5.4.2: a leader does not commit an entry of an earlier term although a majority stores it", () => {
    const n = figure8Leader();
    ack(n, "n2", 2);
    ack(n, "n3", 2); // index 2 (term 2) is on n1, n2, n3: a majority of five
    expect(n.raft.status().commit).toBe(0);
    expect(n.applied).toEqual([]);
  });

  it("§5.4.2: once an entry of the leader's own term commits, the earlier entries commit with it", () => {
    const n = figure8Leader();
    ack(n, "n2", 2);
    ack(n, "n3", 2);
    ack(n, "n2", 3);
    expect(n.raft.status().commit).toBe(0); // index 3 on n1, n2 only
    ack(n, "n3", 3);
    expect(n.raft.status().commit).toBe(3);
    expect(n.applied.map((e) => [e.index, e.term])).toEqual([[1, 1], [2, 2], [3, 4]]);
  });

  it("§5.4.2: (the check above can fail) with the Figure 8 bug switched on, the old entry is committed by counting", () => {
    const n = figure8Leader(true);
    ack(n, "n2", 2);
    ack(n, "n3", 2);
    expect(n.raft.status().commit).toBe(2);
  });

  it("§5.4.2 Figure 8 (d): the uncommitted term-2 entry may still be overwritten by a leader of term 3, and nobody applied it", () => {
    // State after Figure 8 (c): S1..S3 hold 2@2, S5 holds 2@3, S4 holds only index 1. S1 (leader of 4) crashed.
    const logs = {
      n1: storageWith(FIVE, [1, 2], 4),
      n2: storageWith(FIVE, [1, 2], 4),
      n3: storageWith(FIVE, [1, 2], 4),
      n4: storageWith(FIVE, [1], 4),
      n5: storageWith(FIVE, [1, 3], 4),
    };
    const c = new PaperCluster(FIVE, { preVote: false, checkQuorum: false }, logs);
    c.isolate("n1");
    c.campaign("n5"); // last term 3 beats last term 2: S2, S3, S4 vote for it
    expect(c.node("n5").raft.status()).toMatchObject({ role: "leader", term: 5 });
    c.tick(["n5"], 4);
    for (const id of ["n2", "n3", "n4", "n5"]) {
      expect(storedTerms(c.node(id).storage)).toEqual([1, 3, 5]);
      expect(c.node(id).applied.map((e) => e.term)).toEqual([1, 3, 5]);
    }
  });
});

class SafetyViolation extends Error {}

/**
 * A seeded run of a five-server cluster with message loss, partitions, crash-restarts and proposals. After every
 * tick it checks Election Safety, Leader Completeness and State Machine Safety (Figure 3) and throws on a violation.
 * Returns how many entries were seen committed and the cluster (healed and quiet at the end).
 */
function runSafety(seed: number, brokenRules?: BrokenRules): { committed: number; cluster: PaperCluster } {
  const random = makePrng(seed);
  const c = new PaperCluster(FIVE, { preVote: seed % 2 === 0, ...(brokenRules ? { brokenRules } : {}) });
  c.filter = () => random() > 0.2;
  /** index -> term of every entry any node ever applied (applied entries are committed), and the highest
   *  term any node had when it was first seen applied: it was committed in that term or an earlier one. */
  const committed = new Map<number, { term: number; committedBy: number }>();
  const maxTerm = (): number => Math.max(...[...c.nodes.values()].map((n) => n.raft.status().term));
  const leaderTerms = new Map<number, NodeId>();
  let proposals = 0;
  /** How many of each node's applied entries were already checked (a restart makes a new PaperNode). */
  const checkedApplied = new WeakMap<PaperNode, number>();
  for (let step = 0; step < 600; step++) {
    const r = random();
    if (r < 0.02) c.isolate(FIVE[Math.floor(random() * FIVE.length)]!);
    else if (r < 0.05) c.heal();
    else if (r < 0.06) c.restart(FIVE[Math.floor(random() * FIVE.length)]!);
    for (const leader of c.leaders()) {
      if (random() < 0.3) {
        c.node(leader).raft.propose(bytes(`p${proposals++}`));
      }
    }
    c.tick("all");
    for (const node of c.nodes.values()) {
      const from = checkedApplied.get(node) ?? 0;
      for (const e of node.applied.slice(from)) {
        const known = committed.get(e.index);
        // State Machine Safety: no two servers apply different entries at one index.
        if (known !== undefined && known.term !== e.term) {
          throw new SafetyViolation(`${node.id} applied ${e.index}@${e.term}, another server applied ${e.index}@${known.term}`);
        }
        if (known === undefined) committed.set(e.index, { term: e.term, committedBy: maxTerm() });
      }
      checkedApplied.set(node, node.applied.length);
    }
    for (const id of c.leaders()) {
      const st = c.node(id).raft.status();
      // Election Safety: at most one leader per term.
      const other = leaderTerms.get(st.term);
      if (other !== undefined && other !== id) throw new SafetyViolation(`${other} and ${id} both led term ${st.term}`);
      leaderTerms.set(st.term, id);
      // Leader Completeness: a leader of a later term than the one an entry committed in holds that entry.
      // (A deposed leader of an older term that has not heard the news yet may lack it.) The harness has
      // drained everything into storage by now.
      const s = c.node(id).storage;
      for (const [index, { term, committedBy }] of committed) {
        if (st.term <= committedBy || index < s.firstIndex()) continue;
        if (index > s.lastIndex() || s.term(index) !== term) {
          throw new SafetyViolation(`leader ${id} of term ${st.term} lacks committed entry ${index}@${term}`);
        }
      }
    }
  }
  c.heal();
  c.filter = () => true;
  c.tick("all", 60);
  return { committed: committed.size, cluster: c };
}

describe("§5.4.3 safety argument, checked on runs with crashes, partitions and message loss", () => {
  for (const seed of [1, 2, 3, 4, 5, 6]) {
    it(`§5.4.3: Election Safety, Leader Completeness and State Machine Safety hold (seed ${seed})`, () => {
      const { committed, cluster } = runSafety(seed);
      expect(cluster.leaders()).toHaveLength(1);
      expect(committed).toBeGreaterThan(10);
    });
  }

  it("§5.4.3: (the checks above can fail) with the election restriction (§5.4.1) switched off, some seed breaks safety", () => {
    for (const broken of [{ skipUpToDateCheck: true }] as BrokenRules[]) {
      let violations = 0;
      for (let seed = 1; seed <= 20 && violations === 0; seed++) {
        try {
          runSafety(seed, broken);
        } catch (e) {
          if (!(e instanceof SafetyViolation)) throw e;
          violations++;
        }
      }
      expect(violations, JSON.stringify(broken)).toBeGreaterThan(0);
    }
  });
});
