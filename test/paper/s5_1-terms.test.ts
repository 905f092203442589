// §5.1 (and Figure 2, "Rules for Servers — All Servers"): terms act as a logical clock. A server that sees a larger
// term adopts it and reverts to follower; a request with a stale term is rejected.
import { describe, expect, it } from "vitest";
import type { Message, NodeId } from "../../src/raft/types.js";
import { bytes, makeLeader, PaperCluster, PaperNode, storageWith, storedTerms } from "./harness.js";

const VOTERS = ["n1", "n2", "n3"];

type RoleSetup = "follower" | "candidate" | "leader";

/** n1 in the given role at term 1, pre-vote and check-quorum off so higher-term votes are not leased away. */
function nodeIn(role: RoleSetup): PaperNode {
  const n = new PaperNode("n1", storageWith(VOTERS), { preVote: false, checkQuorum: false });
  if (role === "candidate") {
    n.raft.campaign();
    n.drain();
  } else if (role === "leader") {
    makeLeader(n, VOTERS);
  } else {
    n.raft.step({ type: "heartbeat", from: "n2", to: "n1", term: 1, commit: 0 });
    n.drain();
  }
  expect(n.raft.status()).toMatchObject({ role, term: 1 });
  return n;
}

function higherTermMessages(from: NodeId): Message[] {
  return [
    { type: "append", from, to: "n1", term: 5, prevLogIndex: 0, prevLogTerm: 0, entries: [], commit: 0 },
    { type: "heartbeat", from, to: "n1", term: 5, commit: 0 },
    { type: "vote", from, to: "n1", term: 5, lastLogIndex: 9, lastLogTerm: 4 },
    { type: "voteResp", from, to: "n1", term: 5, reject: true },
    { type: "appendResp", from, to: "n1", term: 5, index: 0, reject: false },
  ];
}

describe("§5.1 terms", () => {
  for (const role of ["follower", "candidate", "leader"] as const) {
    for (const m of higherTermMessages("n3")) {
      it(`§5.1: a ${role} that receives ${m.type} with a higher term adopts the term and becomes follower`, () => {
        const n = nodeIn(role);
        n.raft.step(m);
        n.drain();
        const st = n.raft.status();
        expect(st.role).toBe("follower");
        expect(st.term).toBe(5);
        // The adopted term is persisted (Figure 2: currentTerm is persistent state).
        expect(n.storage.initialState().hardState.term).toBe(5);
        // Only a message from a leader of the term tells who leads; anything else leaves the leader unknown.
        expect(st.leaderId).toBe(m.type === "append" || m.type === "heartbeat" ? "n3" : null);
        // A vote request in a new term finds an unused vote (the term changed): granted, its log is up to date.
        expect(st.vote).toBe(m.type === "vote" ? "n3" : null);
      });
    }
  }

  it("§5.1: a follower rejects AppendEntries with a stale term, keeps its log and tells the sender its term", () => {
    const n = new PaperNode("n1", storageWith(VOTERS, [1, 2], 2));
    n.raft.step({ type: "append", from: "n2", to: "n1", term: 1, prevLogIndex: 1, prevLogTerm: 1, entries: [{ term: 1, index: 2, kind: "normal", data: bytes("stale") }], commit: 2 });
    const out = n.drain();
    expect(storedTerms(n.storage)).toEqual([1, 2]);
    expect(n.raft.status()).toMatchObject({ term: 2, commit: 0, leaderId: null });
    // Whatever answers leaves carries the higher term, so the stale leader steps down.
    expect(out.length).toBeGreaterThan(0);
    for (const m of out) expect(m.term).toBe(2);
  });

  it("§5.1: a stale-term RequestVote is not granted and changes nothing", () => {
    const n = new PaperNode("n1", storageWith(VOTERS, [1], 3), { preVote: false });
    n.raft.step({ type: "vote", from: "n2", to: "n1", term: 2, lastLogIndex: 5, lastLogTerm: 2 });
    const out = n.drain();
    expect(out.filter((m) => m.type === "voteResp" && !m.reject)).toEqual([]);
    expect(n.raft.status()).toMatchObject({ term: 3, vote: null, role: "follower" });
  });

  it("§5.1: a stale leader's heartbeats do not reset a follower's election timer", () => {
    const n = new PaperNode("n1", storageWith(VOTERS, [], 3), { preVote: false });
    for (let t = 0; t < 25; t++) {
      n.raft.step({ type: "heartbeat", from: "n2", to: "n1", term: 2, commit: 0 });
      n.raft.tick();
      n.drain();
    }
    // ELECTION_TICKS_MAX is 20: the follower campaigned despite the stale heartbeats.
    expect(n.raft.status().term).toBeGreaterThan(3);
  });

  it("§5.1: a deposed leader learns the new term from the cluster, steps down, and its uncommitted entry is replaced", () => {
    const c = new PaperCluster(VOTERS, { preVote: false, checkQuorum: false });
    c.campaign("n1");
    expect(c.leaders()).toEqual(["n1"]);
    c.isolate("n1");
    c.node("n1").raft.propose(bytes("lost"));
    c.settle();
    c.campaign("n2");
    expect(c.node("n2").raft.status()).toMatchObject({ role: "leader", term: 2 });
    c.node("n2").raft.propose(bytes("kept"));
    c.settle();
    c.heal();
    c.tick(["n2"], 2); // n2's heartbeat reaches n1
    expect(c.node("n1").raft.status()).toMatchObject({ role: "follower", term: 2, leaderId: "n2" });
    c.tick(["n2"], 2);
    for (const id of VOTERS) {
      expect(c.node(id).appliedData()).toEqual(["kept"]);
      expect(storedTerms(c.node(id).storage)).toEqual([1, 2, 2]);
    }
  });

  it("§5.1: a leader that hears a higher term in an AppendEntries answer steps down", () => {
    const n = new PaperNode("n1", storageWith(VOTERS), { preVote: false });
    makeLeader(n, VOTERS);
    // The stale-term answer a follower gives (s5.1 above): accepted-looking, but at a higher term.
    n.raft.step({ type: "appendResp", from: "n2", to: "n1", term: 7, index: 0, reject: false });
    n.drain();
    expect(n.raft.status()).toMatchObject({ role: "follower", term: 7, leaderId: null });
  });
});
