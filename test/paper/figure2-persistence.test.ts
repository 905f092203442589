// Figure 2, "State": currentTerm, votedFor and log[] are persistent and updated on stable storage before responding
// to RPCs; commitIndex and lastApplied are volatile and only ever grow. The harness checks the ordering on every
// Ready of every test; these tests look at the batching itself and at what survives a restart.
import { describe, expect, it } from "vitest";
import type { Ready } from "../../src/raft/types.js";
import { bytes, entriesWithTerms, HEARTBEAT_TICKS, PaperCluster, PaperNode, storageWith, storedTerms } from "./harness.js";

const VOTERS = ["n1", "n2", "n3"];

/** The single Ready the node has now, persisted and advanced by the harness. */
function onlyReady(n: PaperNode): Ready {
  const before = n.readies.length;
  n.drain();
  expect(n.readies.length - before).toBe(1);
  return n.readies[n.readies.length - 1]!;
}

describe("Figure 2: persistent state reaches storage before the messages that depend on it", () => {
  it("Figure 2: a vote grant and the hard state recording it (term, votedFor) come in the same Ready, with mustSync", () => {
    const n = new PaperNode("n1", storageWith(VOTERS, [1], 1));
    n.raft.step({ type: "vote", from: "n2", to: "n1", term: 2, lastLogIndex: 1, lastLogTerm: 1 });
    const rd = onlyReady(n);
    expect(rd.messages).toMatchObject([{ type: "voteResp", to: "n2", term: 2, reject: false }]);
    expect(rd.hardState).toMatchObject({ term: 2, vote: "n2" });
    expect(rd.mustSync).toBe(true);
  });

  it("Figure 2: a candidate's new term and self-vote are in the Ready that carries its vote requests, with mustSync", () => {
    const n = new PaperNode("n1", storageWith(VOTERS, [1], 1), { preVote: false });
    n.raft.campaign();
    const rd = onlyReady(n);
    expect(rd.hardState).toMatchObject({ term: 2, vote: "n1" });
    expect(rd.messages.filter((m) => m.type === "vote")).toHaveLength(2);
    expect(rd.mustSync).toBe(true);
  });

  it("Figure 2: a follower's acknowledgement of AppendEntries comes with the entries to persist, with mustSync", () => {
    const n = new PaperNode("n1", storageWith(VOTERS, [1], 1));
    n.raft.step({ type: "append", from: "n2", to: "n1", term: 1, prevLogIndex: 1, prevLogTerm: 1, entries: entriesWithTerms([1, 1], 2), commit: 1 });
    const rd = onlyReady(n);
    expect(rd.entries.map((e) => e.index)).toEqual([2, 3]);
    expect(rd.messages).toMatchObject([{ type: "appendResp", index: 3, reject: false }]);
    expect(rd.mustSync).toBe(true);
  });

  it("Figure 2: a pre-vote grant promises nothing, so it needs no sync and changes no hard state", () => {
    const n = new PaperNode("n1", storageWith(VOTERS, [1], 1));
    n.raft.step({ type: "preVote", from: "n2", to: "n1", term: 2, lastLogIndex: 1, lastLogTerm: 1 });
    const rd = onlyReady(n);
    expect(rd.messages).toMatchObject([{ type: "preVoteResp", reject: false }]);
    expect(rd.hardState).toBeUndefined();
    expect(rd.mustSync).toBe(false);
  });

  it("Figure 2: commitIndex is volatile: a Ready that only moves it does not need a sync", () => {
    const n = new PaperNode("n1", storageWith(VOTERS, [1, 1], 1));
    n.raft.step({ type: "heartbeat", from: "n2", to: "n1", term: 1, commit: 2 });
    const rd = onlyReady(n);
    expect(rd.hardState).toEqual({ term: 1, vote: null, commit: 2 });
    expect(rd.committedEntries.map((e) => e.index)).toEqual([1, 2]);
    expect(rd.mustSync).toBe(false);
  });

  it("Figure 2: currentTerm, votedFor and the log survive a crash: a restarted voter will not vote twice in a term", () => {
    const c = new PaperCluster(VOTERS, { preVote: false });
    const n1 = c.node("n1");
    n1.raft.step({ type: "vote", from: "n2", to: "n1", term: 1, lastLogIndex: 0, lastLogTerm: 0 });
    n1.raft.step({ type: "append", from: "n2", to: "n1", term: 1, prevLogIndex: 0, prevLogTerm: 0, entries: entriesWithTerms([1, 1]), commit: 1 });
    n1.drain();
    const restarted = c.restart("n1");
    expect(restarted.raft.status()).toMatchObject({ term: 1, vote: "n2", commit: 1, lastIndex: 2, role: "follower" });
    expect(storedTerms(restarted.storage)).toEqual([1, 1]);
    restarted.raft.step({ type: "vote", from: "n3", to: "n1", term: 1, lastLogIndex: 5, lastLogTerm: 1 });
    expect(restarted.drain()).toMatchObject([{ type: "voteResp", to: "n3", reject: true }]);
    restarted.raft.step({ type: "vote", from: "n2", to: "n1", term: 1, lastLogIndex: 5, lastLogTerm: 1 });
    expect(restarted.drain()).toMatchObject([{ type: "voteResp", to: "n2", reject: false }]);
  });

  it("Figure 2: commitIndex and lastApplied never decrease, and lastApplied <= commitIndex, through elections and restarts", () => {
    const c = new PaperCluster(VOTERS);
    const seen = new Map<string, { commit: number; applied: number; node: PaperNode }>();
    for (let k = 0; k < 200; k++) {
      if (k % 50 === 25) c.restart(VOTERS[Math.floor(k / 50) % VOTERS.length]!);
      if (k % 40 === 20) {
        const leader = c.leaders()[0];
        if (leader !== undefined) c.isolate(leader);
      }
      if (k % 40 === 35) c.heal();
      for (const leader of c.leaders()) c.node(leader).raft.propose(bytes(`k${k}`));
      c.tick("all");
      for (const [id, node] of c.nodes) {
        const st = node.raft.status();
        expect(st.applied).toBeLessThanOrEqual(st.commit);
        const prev = seen.get(id);
        if (prev && prev.node === node) {
          expect(st.commit).toBeGreaterThanOrEqual(prev.commit);
          expect(st.applied).toBeGreaterThanOrEqual(prev.applied);
        } else if (prev) {
          // A restart reloads commitIndex from the persisted hard state, so it does not go back either; lastApplied
          // is volatile and the state machine is rebuilt from the start.
          expect(st.commit).toBeGreaterThanOrEqual(prev.commit);
        }
        seen.set(id, { commit: st.commit, applied: st.applied, node });
      }
    }
    c.heal();
    c.tick("all", 40);
    const commits = VOTERS.map((id) => c.node(id).raft.status().commit);
    expect(new Set(commits).size).toBe(1);
    expect(commits[0]).toBeGreaterThan(100);
  });

  it("Figure 2: only committed entries are applied: an entry on a minority is stored but never handed out", () => {
    const c = new PaperCluster(VOTERS, { checkQuorum: false });
    c.campaign("n1");
    c.isolate("n2");
    c.isolate("n3");
    c.node("n1").raft.propose(bytes("minority"));
    c.tick(["n1"], HEARTBEAT_TICKS * 5);
    expect(storedTerms(c.node("n1").storage)).toEqual([1, 1]);
    expect(c.node("n1").raft.status().commit).toBe(1);
    expect(c.node("n1").appliedData()).toEqual([]);
  });
});
