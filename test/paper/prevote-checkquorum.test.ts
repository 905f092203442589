// Beyond the paper's §5: pre-vote (dissertation §9.6), check-quorum (dissertation §6.2) and the leader-stickiness
// rule that ignores vote requests while a leader is known to be alive (dissertation §4.2.3). These keep a server
// that was cut off from disrupting a working cluster when it comes back, and a cut-off leader from lingering.
import { describe, expect, it } from "vitest";
import { bytes, ELECTION_TICKS_MAX, ELECTION_TICKS_MIN, makeLeader, PaperCluster, PaperNode, storageWith } from "./harness.js";

const VOTERS = ["n1", "n2", "n3"];

describe("pre-vote (dissertation §9.6)", () => {
  it("§9.6: a partitioned server keeps timing out but never raises its term, and rejoining does not depose the leader", () => {
    const c = new PaperCluster(VOTERS); // pre-vote and check-quorum on (the defaults)
    c.campaign("n1");
    c.isolate("n3");
    c.tick("all", ELECTION_TICKS_MAX * 5);
    expect(c.node("n3").raft.status().term).toBe(1);
    expect(c.sent.some((m) => m.from === "n3" && m.type === "preVote")).toBe(true);
    expect(c.sent.some((m) => m.from === "n3" && m.type === "vote")).toBe(false);
    c.heal();
    c.tick("all", ELECTION_TICKS_MAX * 2);
    expect(c.leaders()).toEqual(["n1"]);
    for (const id of VOTERS) expect(c.node(id).raft.status()).toMatchObject({ term: 1, leaderId: "n1" });
  });

  it("§9.6 (why): without pre-vote or check-quorum the rejoining server's higher term forces the leader out (§5.1)", () => {
    const c = new PaperCluster(VOTERS, { preVote: false, checkQuorum: false });
    c.campaign("n1");
    c.isolate("n3");
    c.tick("all", ELECTION_TICKS_MAX * 5);
    const isolatedTerm = c.node("n3").raft.status().term;
    expect(isolatedTerm).toBeGreaterThan(2);
    c.heal();
    c.tick("all", ELECTION_TICKS_MAX * 3);
    // n3's term spread: the old term-1 leadership is gone, whoever leads now leads a later term.
    for (const id of VOTERS) expect(c.node(id).raft.status().term).toBeGreaterThanOrEqual(isolatedTerm);
    expect(c.leaders()).toHaveLength(1);
  });

  it("§9.6: granting a pre-vote changes neither the voter's term nor its vote", () => {
    const n = new PaperNode("n1", storageWith(VOTERS, [1], 1, "n2"));
    n.raft.step({ type: "preVote", from: "n3", to: "n1", term: 2, lastLogIndex: 1, lastLogTerm: 1 });
    expect(n.drain()).toMatchObject([{ type: "preVoteResp", to: "n3", term: 2, reject: false }]);
    expect(n.raft.status()).toMatchObject({ term: 1, vote: "n2", role: "follower" });
  });

  it("§9.6: a pre-candidate that a majority refuses goes back to follower without having changed its term", () => {
    const n = new PaperNode("n1", storageWith(VOTERS, [1], 1));
    n.raft.campaign();
    n.drain();
    expect(n.raft.status()).toMatchObject({ role: "preCandidate", term: 1 });
    n.raft.step({ type: "preVoteResp", from: "n2", to: "n1", term: 1, reject: true });
    n.raft.step({ type: "preVoteResp", from: "n3", to: "n1", term: 1, reject: true });
    n.drain();
    expect(n.raft.status()).toMatchObject({ role: "follower", term: 1 });
    expect(n.storage.initialState().hardState.term).toBe(1);
  });
});

describe("check-quorum (dissertation §6.2) and leader stickiness (§4.2.3)", () => {
  it("§6.2: a leader that hears from no majority for an election timeout steps down", () => {
    const n = new PaperNode("n1", storageWith(VOTERS));
    makeLeader(n, VOTERS);
    let ticks = 0;
    while (n.raft.status().role === "leader" && ticks < 100) {
      n.raft.tick();
      n.drain();
      ticks++;
    }
    expect(ticks).toBeLessThanOrEqual(ELECTION_TICKS_MAX);
    expect(n.raft.status()).toMatchObject({ role: "follower", term: 1, leaderId: null });
  });

  it("§6.2: a leader that keeps hearing from a majority stays leader", () => {
    const n = new PaperNode("n1", storageWith(VOTERS));
    makeLeader(n, VOTERS);
    for (let t = 0; t < ELECTION_TICKS_MAX * 5; t++) {
      n.raft.tick();
      n.drain();
      n.raft.step({ type: "heartbeatResp", from: "n2", to: "n1", term: 1 }); // n3 is silent; n2 + self is a majority
    }
    expect(n.raft.status()).toMatchObject({ role: "leader", term: 1 });
  });

  it("§6.2: a leader cut off in a minority steps down while the majority elects a new one and keeps committing", () => {
    const c = new PaperCluster(VOTERS);
    c.campaign("n1");
    c.isolate("n1");
    c.tick("all", ELECTION_TICKS_MAX * 4);
    // No longer leader (by now it is pre-campaigning in vain, still in term 1: pre-vote keeps its term).
    expect(c.node("n1").raft.status()).toMatchObject({ term: 1 });
    expect(c.node("n1").raft.status().role).not.toBe("leader");
    const [leader, ...others] = c.leaders();
    expect(others).toEqual([]);
    expect(leader).toBeDefined();
    expect(leader).not.toBe("n1");
    c.node(leader!).raft.propose(bytes("after"));
    c.tick("all", 4);
    expect(c.node(leader!).appliedData()).toEqual(["after"]);
  });

  it("§4.2.3: a follower that heard from its leader within the minimum election timeout ignores a higher-term vote request", () => {
    const n = new PaperNode("n1", storageWith(VOTERS), { preVote: false });
    n.raft.step({ type: "heartbeat", from: "n2", to: "n1", term: 1, commit: 0 });
    n.drain();
    n.raft.step({ type: "vote", from: "n3", to: "n1", term: 2, lastLogIndex: 0, lastLogTerm: 0 });
    expect(n.drain()).toEqual([]);
    expect(n.raft.status()).toMatchObject({ term: 1, leaderId: "n2", vote: null });
    // Once the leader has been silent for the minimum election timeout the request is heard. The PRNG is pinned so
    // this node's own timeout is the longest possible (30 ticks) and it does not campaign first.
    const m = new PaperNode("n1", storageWith(VOTERS), { preVote: false, electionTicksMin: 10, electionTicksMax: 30, random: () => 0.99 });
    m.raft.step({ type: "heartbeat", from: "n2", to: "n1", term: 1, commit: 0 });
    m.drain();
    for (let t = 0; t < 9; t++) m.raft.tick();
    m.raft.step({ type: "vote", from: "n3", to: "n1", term: 2, lastLogIndex: 0, lastLogTerm: 0 });
    expect(m.drain()).toEqual([]); // 9 ticks: still within the lease
    m.raft.tick();
    m.raft.step({ type: "vote", from: "n3", to: "n1", term: 2, lastLogIndex: 0, lastLogTerm: 0 });
    expect(m.drain()).toMatchObject([{ type: "voteResp", to: "n3", term: 2, reject: false }]);
    expect(m.raft.status()).toMatchObject({ role: "follower", term: 2, vote: "n3" });
  });

  it("§3.10: a leadership transfer's vote request is heard despite the lease", () => {
    const n = new PaperNode("n1", storageWith(VOTERS), { preVote: false });
    n.raft.step({ type: "heartbeat", from: "n2", to: "n1", term: 1, commit: 0 });
    n.drain();
    n.raft.step({ type: "vote", from: "n3", to: "n1", term: 2, lastLogIndex: 0, lastLogTerm: 0, transfer: true });
    expect(n.drain()).toMatchObject([{ type: "voteResp", to: "n3", term: 2, reject: false }]);
  });
});
