// §5.2 Leader election: followers time out into candidates, candidates win with a majority of votes, each server
// votes at most once per term (first come, first served), randomized timeouts break split votes, and a leader
// keeps its authority with heartbeats.
import { describe, expect, it } from "vitest";
import { makePrng } from "../../src/raft/prng.js";
import type { Message, NodeId } from "../../src/raft/types.js";
import {
  ELECTION_TICKS_MAX,
  ELECTION_TICKS_MIN,
  HEARTBEAT_TICKS,
  makeLeader,
  PaperCluster,
  PaperNode,
  storageWith,
} from "./harness.js";

const VOTERS = ["n1", "n2", "n3"];
const FIVE = ["n1", "n2", "n3", "n4", "n5"];

/** Ticks a lone node until it sends something; returns the tick count and what it sent. */
function ticksUntilItSpeaks(n: PaperNode, limit = 100): { ticks: number; out: Message[] } {
  for (let t = 1; t <= limit; t++) {
    n.raft.tick();
    const out = n.drain();
    if (out.length > 0) return { ticks: t, out };
  }
  throw new Error("the node never spoke");
}

describe("§5.2 leader election", () => {
  it("§5.2: servers start up as followers, with no leader known", () => {
    const n = new PaperNode("n1", storageWith(VOTERS, [1, 1], 1, "n2", 1));
    expect(n.raft.status()).toMatchObject({ role: "follower", term: 1, vote: "n2", leaderId: null });
  });

  it("§5.2: a follower that hears nothing for an election timeout becomes a candidate: new term, votes for itself, asks everyone (pre-vote off)", () => {
    const n = new PaperNode("n1", storageWith(VOTERS, [1, 1], 1, null, 2), { preVote: false });
    const { ticks, out } = ticksUntilItSpeaks(n);
    expect(ticks).toBeGreaterThanOrEqual(ELECTION_TICKS_MIN);
    expect(ticks).toBeLessThanOrEqual(ELECTION_TICKS_MAX);
    expect(n.raft.status()).toMatchObject({ role: "candidate", term: 2, vote: "n1" });
    expect(out.map((m) => m.to).sort()).toEqual(["n2", "n3"]);
    for (const m of out) expect(m).toMatchObject({ type: "vote", term: 2, lastLogIndex: 2, lastLogTerm: 1 });
  });

  it("§5.2 with pre-vote (dissertation §9.6): the follower first asks whether it could win, without touching its term or vote", () => {
    const n = new PaperNode("n1", storageWith(VOTERS, [1, 1], 1, "n2", 2));
    const { out } = ticksUntilItSpeaks(n);
    expect(n.raft.status()).toMatchObject({ role: "preCandidate", term: 1, vote: "n2" });
    expect(out.map((m) => m.to).sort()).toEqual(["n2", "n3"]);
    for (const m of out) expect(m).toMatchObject({ type: "preVote", term: 2, lastLogIndex: 2, lastLogTerm: 1 });
    expect(n.storage.initialState().hardState).toMatchObject({ term: 1, vote: "n2" });
    // Once a majority says yes, the real election starts in term 2.
    n.raft.step({ type: "preVoteResp", from: "n3", to: "n1", term: 2, reject: false });
    const votes = n.drain().filter((m) => m.type === "vote");
    expect(n.raft.status()).toMatchObject({ role: "candidate", term: 2, vote: "n1" });
    expect(votes.map((m) => m.to).sort()).toEqual(["n2", "n3"]);
  });

  describe("§5.2: a candidate wins once it has votes from a majority of the full cluster", () => {
    const cases: { voters: NodeId[]; grants: NodeId[]; rejects: NodeId[]; role: string }[] = [
      { voters: ["n1"], grants: [], rejects: [], role: "leader" },
      { voters: VOTERS, grants: ["n2"], rejects: [], role: "leader" },
      { voters: VOTERS, grants: [], rejects: ["n2"], role: "candidate" },
      { voters: VOTERS, grants: [], rejects: ["n2", "n3"], role: "follower" },
      { voters: FIVE, grants: ["n2"], rejects: [], role: "candidate" },
      { voters: FIVE, grants: ["n2", "n3"], rejects: [], role: "leader" },
      { voters: FIVE, grants: ["n2"], rejects: ["n3", "n4"], role: "candidate" },
      { voters: FIVE, grants: ["n2"], rejects: ["n3", "n4", "n5"], role: "follower" },
    ];
    for (const c of cases) {
      it(`${c.voters.length} voters, granted by [${c.grants}] and refused by [${c.rejects}]: ${c.role}`, () => {
        const n = new PaperNode("n1", storageWith(c.voters), { preVote: false });
        n.raft.campaign();
        n.drain();
        for (const from of c.grants) n.raft.step({ type: "voteResp", from, to: "n1", term: 1, reject: false });
        for (const from of c.rejects) n.raft.step({ type: "voteResp", from, to: "n1", term: 1, reject: true });
        n.drain();
        expect(n.raft.status()).toMatchObject({ role: c.role, term: 1 });
      });
    }
  });

  it("§5.2: a new leader at once sends AppendEntries to every other server to establish its authority", () => {
    const n = new PaperNode("n1", storageWith(FIVE), { preVote: false });
    const out = makeLeader(n, FIVE);
    const appends = out.filter((m) => m.type === "append");
    expect(appends.map((m) => m.to).sort()).toEqual(["n2", "n3", "n4", "n5"]);
    for (const m of appends) expect(m.term).toBe(1);
  });

  it("§5.2: a candidate that hears AppendEntries from a leader of its own term returns to follower", () => {
    for (const type of ["append", "heartbeat"] as const) {
      const n = new PaperNode("n1", storageWith(VOTERS), { preVote: false });
      n.raft.campaign();
      n.drain();
      const m: Message =
        type === "append"
          ? { type, from: "n2", to: "n1", term: 1, prevLogIndex: 0, prevLogTerm: 0, entries: [], commit: 0 }
          : { type, from: "n2", to: "n1", term: 1, commit: 0 };
      n.raft.step(m);
      n.drain();
      expect(n.raft.status()).toMatchObject({ role: "follower", term: 1, leaderId: "n2" });
    }
  });

  it("§5.2: a candidate ignores AppendEntries from a leader of an older term and stays candidate", () => {
    const n = new PaperNode("n1", storageWith(VOTERS, [], 3), { preVote: false });
    n.raft.campaign();
    n.drain();
    n.raft.step({ type: "append", from: "n2", to: "n1", term: 3, prevLogIndex: 0, prevLogTerm: 0, entries: [], commit: 0 });
    n.drain();
    expect(n.raft.status()).toMatchObject({ role: "candidate", term: 4 });
  });

  it("§5.2: after a split vote the candidate times out and starts a new election in the next term", () => {
    const four = ["n1", "n2", "n3", "n4"];
    const n = new PaperNode("n1", storageWith(four), { preVote: false });
    n.raft.campaign();
    n.drain();
    // 2 of 4 for, 1 against, 1 silent: no majority either way (the other half voted for another candidate).
    n.raft.step({ type: "voteResp", from: "n2", to: "n1", term: 1, reject: false });
    n.raft.step({ type: "voteResp", from: "n3", to: "n1", term: 1, reject: true });
    n.drain();
    expect(n.raft.status()).toMatchObject({ role: "candidate", term: 1 });
    const { ticks, out } = ticksUntilItSpeaks(n);
    expect(ticks).toBeGreaterThanOrEqual(ELECTION_TICKS_MIN);
    expect(ticks).toBeLessThanOrEqual(ELECTION_TICKS_MAX);
    expect(n.raft.status()).toMatchObject({ role: "candidate", term: 2, vote: "n1" });
    expect(out.filter((m) => m.type === "vote").map((m) => m.to).sort()).toEqual(["n2", "n3", "n4"]);
  });

  it("§5.2: election timeouts are randomized within [min, max], for followers and for candidates", () => {
    const n = new PaperNode("n1", storageWith(VOTERS), { preVote: false });
    const timeouts = new Set<number>();
    for (let round = 0; round < 60; round++) {
      const { ticks } = ticksUntilItSpeaks(n); // round 0 a follower's timeout, then candidates' (nobody answers)
      expect(ticks).toBeGreaterThanOrEqual(ELECTION_TICKS_MIN);
      expect(ticks).toBeLessThanOrEqual(ELECTION_TICKS_MAX);
      timeouts.add(ticks);
    }
    expect(n.raft.status().term).toBe(60);
    // 60 draws from 11 values: all but impossible to see fewer than 8 distinct ones unless it is not random.
    expect(timeouts.size).toBeGreaterThanOrEqual(8);
  });

  it("§5.2: randomized timeouts make two followers rarely time out together", () => {
    let together = 0;
    const trials = 200;
    for (let seed = 0; seed < trials; seed++) {
      const a = new PaperNode("n1", storageWith(VOTERS), { preVote: false, random: makePrng(2 * seed + 1) });
      const b = new PaperNode("n2", storageWith(VOTERS), { preVote: false, random: makePrng(2 * seed + 2) });
      if (ticksUntilItSpeaks(a).ticks === ticksUntilItSpeaks(b).ticks) together++;
    }
    // Uniform over 11 values gives about 9%; a constant timeout gives 100%.
    expect(together / trials).toBeLessThan(0.2);
  });

  it("§5.2: each server votes for at most one candidate per term, first come first served (and repeats that vote)", () => {
    const n = new PaperNode("n1", storageWith(VOTERS), { preVote: false });
    const ask = (from: NodeId): Message[] => {
      n.raft.step({ type: "vote", from, to: "n1", term: 1, lastLogIndex: 0, lastLogTerm: 0 });
      return n.drain().filter((m) => m.type === "voteResp");
    };
    expect(ask("n2")).toMatchObject([{ to: "n2", term: 1, reject: false }]);
    expect(ask("n3")).toMatchObject([{ to: "n3", reject: true }]);
    expect(ask("n2")).toMatchObject([{ to: "n2", term: 1, reject: false }]); // a retransmitted request
    expect(n.raft.status()).toMatchObject({ term: 1, vote: "n2" });
  });

  it("§5.2: a candidate has voted for itself, and a leader for itself, so neither votes for a rival of the same term", () => {
    const candidate = new PaperNode("n1", storageWith(VOTERS), { preVote: false });
    candidate.raft.campaign();
    candidate.drain();
    candidate.raft.step({ type: "vote", from: "n2", to: "n1", term: 1, lastLogIndex: 5, lastLogTerm: 1 });
    expect(candidate.drain()).toMatchObject([{ type: "voteResp", to: "n2", reject: true }]);
    expect(candidate.raft.status()).toMatchObject({ role: "candidate", term: 1, vote: "n1" });

    const leader = new PaperNode("n1", storageWith(VOTERS), { preVote: false, checkQuorum: false });
    makeLeader(leader, VOTERS);
    leader.raft.step({ type: "vote", from: "n2", to: "n1", term: 1, lastLogIndex: 5, lastLogTerm: 1 });
    expect(leader.drain().filter((m) => m.type === "voteResp")).toMatchObject([{ to: "n2", reject: true }]);
    expect(leader.raft.status()).toMatchObject({ role: "leader", term: 1 });
  });

  it("§5.2: a follower does not vote for another candidate in a term where it already follows a leader", () => {
    const n = new PaperNode("n1", storageWith(VOTERS), { preVote: false, checkQuorum: false });
    n.raft.step({ type: "heartbeat", from: "n2", to: "n1", term: 1, commit: 0 });
    n.raft.step({ type: "vote", from: "n3", to: "n1", term: 1, lastLogIndex: 0, lastLogTerm: 0 });
    expect(n.drain().filter((m) => m.type === "voteResp")).toMatchObject([{ to: "n3", reject: true }]);
  });

  it("§5.2: granting a vote resets the election timer", () => {
    // A fixed timeout of 10 ticks, and a vote request of the node's own term (so no term change resets the timer).
    const fixed = { preVote: false, electionTicksMin: 10, electionTicksMax: 10 };
    const n = new PaperNode("n1", storageWith(VOTERS, [], 1), fixed);
    for (let t = 0; t < 9; t++) n.raft.tick();
    n.raft.step({ type: "vote", from: "n2", to: "n1", term: 1, lastLogIndex: 0, lastLogTerm: 0 });
    expect(n.drain()).toMatchObject([{ type: "voteResp", reject: false }]);
    for (let t = 0; t < 9; t++) n.raft.tick();
    expect(n.drain()).toEqual([]);
    expect(n.raft.status()).toMatchObject({ role: "follower", term: 1 });
    n.raft.tick(); // the 10th tick since the grant
    expect(n.raft.status()).toMatchObject({ role: "candidate", term: 2 });
  });

  it("§5.2: a refused vote request does not reset the election timer", () => {
    const fixed = { preVote: false, electionTicksMin: 10, electionTicksMax: 10 };
    const n = new PaperNode("n1", storageWith(VOTERS, [], 1, "n3"), fixed);
    for (let t = 0; t < 9; t++) n.raft.tick();
    n.raft.step({ type: "vote", from: "n2", to: "n1", term: 1, lastLogIndex: 0, lastLogTerm: 0 });
    expect(n.drain()).toMatchObject([{ type: "voteResp", reject: true }]);
    n.raft.tick();
    expect(n.raft.status()).toMatchObject({ role: "candidate", term: 2 });
  });

  it("§5.2: the leader sends heartbeats to every follower each heartbeat interval, and followers hearing them never campaign", () => {
    const c = new PaperCluster(FIVE, { preVote: false, checkQuorum: false });
    c.campaign("n1");
    const before = c.sent.length;
    c.tick(["n1"], 1);
    expect(c.sent.slice(before).filter((m) => m.type === "heartbeat")).toEqual([]);
    for (let interval = 0; interval < 20; interval++) {
      const mark = c.sent.length;
      c.tick("all", HEARTBEAT_TICKS);
      const beats = c.sent.slice(mark).filter((m) => m.type === "heartbeat");
      expect(beats.map((m) => m.to).sort()).toEqual(["n2", "n3", "n4", "n5"]);
      for (const m of beats) expect(m.term).toBe(1);
    }
    // 40 ticks, twice the longest election timeout: nobody campaigned.
    expect(c.leaders()).toEqual(["n1"]);
    for (const id of FIVE) expect(c.node(id).raft.status().term).toBe(1);
    expect(c.sent.filter((m) => m.type === "vote" || m.type === "preVote").length).toBe(4); // n1's own campaign
  });

  it("§5.2: a cluster elects exactly one leader by timeouts alone, and at most one per term", () => {
    for (const preVote of [false, true]) {
      const c = new PaperCluster(FIVE, { preVote });
      const leadersByTerm = new Map<number, Set<NodeId>>();
      for (let t = 0; t < 300; t++) {
        c.tick("all");
        for (const id of c.leaders()) {
          const term = c.node(id).raft.status().term;
          const set = leadersByTerm.get(term) ?? new Set<NodeId>();
          set.add(id);
          leadersByTerm.set(term, set);
        }
      }
      expect(c.leaders().length).toBe(1);
      for (const set of leadersByTerm.values()) expect(set.size).toBe(1);
    }
  });
});
