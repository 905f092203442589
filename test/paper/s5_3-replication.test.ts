// §5.3 Log replication: the leader appends commands to its log and replicates them with AppendEntries; an entry is
// committed once a majority stores it; followers check prevLogIndex/prevLogTerm, replace conflicting suffixes and
// learn the commit index from the leader; the leader backs up nextIndex until logs match and never rewrites its own.
import { describe, expect, it } from "vitest";
import { makePrng } from "../../src/raft/prng.js";
import type { AppendRequest, Message, NodeId } from "../../src/raft/types.js";
import {
  bytes,
  entriesWithTerms,
  HEARTBEAT_TICKS,
  makeLeader,
  PaperCluster,
  PaperNode,
  storageWith,
  storedTerms,
  text,
} from "./harness.js";

const VOTERS = ["n1", "n2", "n3"];
const FIVE = ["n1", "n2", "n3", "n4", "n5"];

function ack(n: PaperNode, from: NodeId, index: number): void {
  n.raft.step({ type: "appendResp", from, to: n.id, term: n.raft.status().term, index, reject: false });
}

/** A lone leader of `voters` whose followers all acknowledged its no-op (so they are in replicate state). */
function settledLeader(voters: readonly NodeId[]): PaperNode {
  const n = new PaperNode("n1", storageWith(voters), { preVote: false });
  makeLeader(n, voters);
  for (const v of voters) if (v !== "n1") ack(n, v, 1);
  n.drain();
  expect(n.raft.status().commit).toBe(1);
  return n;
}

function appendTo(to: NodeId, term: number, prevLogIndex: number, prevLogTerm: number, entryTerms: number[], commit = 0): AppendRequest {
  return { type: "append", from: "n2", to, term, prevLogIndex, prevLogTerm, entries: entriesWithTerms(entryTerms, prevLogIndex + 1), commit };
}

describe("§5.3 log replication", () => {
  it("§5.3: the leader appends a command to its own log (persisted) and sends it to every follower with prevLogIndex/prevLogTerm", () => {
    const n = settledLeader(VOTERS);
    const p = n.raft.propose(bytes("cmd"));
    expect(p).toEqual({ index: 2, term: 1 });
    const rd = n.raft.ready();
    expect(rd.entries).toMatchObject([{ index: 2, term: 1, kind: "normal" }]);
    expect(text(rd.entries[0]!)).toBe("cmd");
    expect(rd.mustSync).toBe(true);
    const appends = rd.messages.filter((m): m is AppendRequest => m.type === "append");
    expect(appends.map((m) => m.to).sort()).toEqual(["n2", "n3"]);
    for (const m of appends) {
      expect(m).toMatchObject({ term: 1, prevLogIndex: 1, prevLogTerm: 1, commit: 1 });
      expect(m.entries.map((e) => e.index)).toEqual([2]);
    }
    expect(rd.committedEntries).toEqual([]); // not committed before a majority stores it
    n.storage.append(rd.entries);
    n.raft.advance(rd);
  });

  it("§5.3: an entry commits once a majority of the cluster stores it, not before", () => {
    const n = settledLeader(FIVE);
    n.raft.propose(bytes("x"));
    n.drain();
    ack(n, "n2", 2);
    n.drain();
    expect(n.raft.status().commit).toBe(1); // leader + n2 = 2 of 5
    ack(n, "n3", 2);
    const out = n.drain();
    expect(n.raft.status().commit).toBe(2); // 3 of 5
    expect(n.appliedData()).toEqual(["x"]);
    // The new commit index goes out to the followers with the next AppendEntries.
    const appends = out.filter((m): m is AppendRequest => m.type === "append");
    expect(appends.length).toBeGreaterThan(0);
    for (const m of appends) expect(m.commit).toBe(2);
  });

  it("§5.3: committing an entry commits all preceding entries, including earlier leaders', and applies them in log order", () => {
    const n = new PaperNode("n1", storageWith(VOTERS, [1, 1, 2], 2), { preVote: false });
    makeLeader(n, VOTERS); // term 3, no-op at index 4
    ack(n, "n2", 4);
    n.drain();
    expect(n.raft.status().commit).toBe(4);
    expect(n.applied.map((e) => [e.index, e.term])).toEqual([[1, 1], [2, 1], [3, 2], [4, 3]]);
  });

  describe("§5.3: a follower's consistency check on prevLogIndex/prevLogTerm", () => {
    // Follower log: index 1 term 1, index 2 term 2.
    const cases = [
      { prev: [0, 0], ok: true },
      { prev: [1, 1], ok: true },
      { prev: [2, 2], ok: true },
      { prev: [2, 1], ok: false }, // an entry at prevLogIndex, of another term
      { prev: [1, 2], ok: false },
      { prev: [3, 2], ok: false }, // no entry at prevLogIndex at all
      { prev: [5, 3], ok: false },
    ] as const;
    for (const c of cases) {
      it(`prevLogIndex ${c.prev[0]}, prevLogTerm ${c.prev[1]}: ${c.ok ? "accepted" : "rejected, log untouched"}`, () => {
        const n = new PaperNode("n1", storageWith(VOTERS, [1, 2], 2));
        n.raft.step(appendTo("n1", 3, c.prev[0], c.prev[1], [3]));
        const resp = n.drain().filter((m) => m.type === "appendResp");
        expect(resp).toHaveLength(1);
        expect(resp[0]).toMatchObject({ to: "n2", term: 3, reject: !c.ok, index: c.ok ? c.prev[0] + 1 : c.prev[0] });
        expect(storedTerms(n.storage)).toEqual(c.ok ? [...[1, 2].slice(0, c.prev[0]), 3] : [1, 2]);
      });
    }
  });

  describe("§5.3: a follower deletes a conflicting entry and all that follow it, appends new ones, and keeps matching ones", () => {
    const cases: { name: string; prev: [number, number]; entries: number[]; want: number[] }[] = [
      { name: "new entries after a match", prev: [2, 2], entries: [3, 4], want: [1, 2, 3, 4] },
      { name: "conflict at index 2", prev: [1, 1], entries: [3, 4], want: [1, 3, 4] },
      { name: "conflict at index 1", prev: [0, 0], entries: [3], want: [3] },
      { name: "entries already held (a retransmission) truncate nothing", prev: [0, 0], entries: [1], want: [1, 2, 2] },
      { name: "a shorter matching prefix truncates nothing", prev: [1, 1], entries: [2], want: [1, 2, 2] },
    ];
    for (const c of cases) {
      it(c.name, () => {
        const n = new PaperNode("n1", storageWith(VOTERS, [1, 2, 2], 2));
        n.raft.step(appendTo("n1", 4, c.prev[0], c.prev[1], c.entries));
        expect(n.drain().filter((m) => m.type === "appendResp")).toMatchObject([{ reject: false, index: c.prev[0] + c.entries.length }]);
        expect(storedTerms(n.storage)).toEqual(c.want);
      });
    }
  });

  it("§5.3: a follower commits min(leaderCommit, index of its last new entry) and applies in order", () => {
    const n = new PaperNode("n1", storageWith(VOTERS));
    n.raft.step(appendTo("n1", 1, 0, 0, [1, 1, 1], 2));
    n.drain();
    expect(n.raft.status().commit).toBe(2);
    expect(n.applied.map((e) => e.index)).toEqual([1, 2]);
    // A leader commit past what this message carries commits only what the follower knows matches.
    n.raft.step(appendTo("n1", 1, 3, 1, [1], 9));
    n.drain();
    expect(n.raft.status().commit).toBe(4);
    expect(n.applied.map((e) => e.index)).toEqual([1, 2, 3, 4]);
  });

  it("§5.3: the commit index reaches followers through heartbeats, clamped to what each follower holds", () => {
    const n = settledLeader(VOTERS);
    n.raft.propose(bytes("x"));
    n.drain();
    ack(n, "n3", 2); // n2 stays at match 1
    n.drain();
    expect(n.raft.status().commit).toBe(2);
    const beats: Message[] = [];
    for (let t = 0; t < HEARTBEAT_TICKS; t++) {
      n.raft.tick();
      beats.push(...n.drain().filter((m) => m.type === "heartbeat"));
    }
    expect(beats).toMatchObject(
      expect.arrayContaining([expect.objectContaining({ to: "n3", commit: 2 }), expect.objectContaining({ to: "n2", commit: 1 })]),
    );
    // And a follower commits what a heartbeat says.
    const f = new PaperNode("n2", storageWith(VOTERS, [1, 1], 1));
    f.raft.step({ type: "heartbeat", from: "n1", to: "n2", term: 1, commit: 2 });
    f.drain();
    expect(f.raft.status().commit).toBe(2);
    expect(f.applied.map((e) => e.index)).toEqual([1, 2]);
  });

  it("§5.3: in a cluster every command is applied on every server, once, in the same order, despite message loss", () => {
    const c = new PaperCluster(VOTERS);
    c.campaign("n1");
    const random = makePrng(42);
    c.filter = () => random() > 0.3; // drop 30%: the leader retries AppendEntries indefinitely
    const want: string[] = [];
    for (let k = 0; k < 20; k++) {
      const leader = c.leaders()[0];
      if (leader !== undefined) {
        c.node(leader).raft.propose(bytes(`c${k}`));
        want.push(`c${k}`);
      }
      c.tick("all", 3);
    }
    c.filter = () => true;
    c.tick("all", 40);
    const logs = VOTERS.map((id) => c.node(id).appliedData());
    // Commands proposed to a leader that lost its term may be lost, never reordered or duplicated.
    for (const log of logs) {
      expect(log).toEqual(logs[0]);
      expect(new Set(log).size).toBe(log.length);
      const positions = log.map((d) => want.indexOf(d));
      expect(positions).toEqual([...positions].sort((a, b) => a - b));
    }
    expect(logs[0]!.length).toBeGreaterThan(0);
  });

  describe("§5.3 Figure 7: the leader backs up nextIndex until the follower's log matches, then overwrites the rest", () => {
    const leaderLog = [1, 1, 1, 4, 4, 5, 5, 6, 6, 6];
    const followers: Record<string, number[]> = {
      a: [1, 1, 1, 4, 4, 5, 5, 6, 6],
      b: [1, 1, 1, 4],
      c: [1, 1, 1, 4, 4, 5, 5, 6, 6, 6, 6],
      d: [1, 1, 1, 4, 4, 5, 5, 6, 6, 6, 7, 7],
      e: [1, 1, 1, 4, 4, 4, 4],
      f: [1, 1, 1, 2, 2, 2, 3, 3, 3, 3, 3],
    };
    for (const [name, followerLog] of Object.entries(followers)) {
      it(`(${name}) follower ${followerLog.join(",")}`, () => {
        // The leader is elected in term 8 with n3's vote (n3 holds the leader's log); n2 holds case (name).
        const c = new PaperCluster(VOTERS, {}, {
          n1: storageWith(VOTERS, leaderLog, 7),
          n2: storageWith(VOTERS, followerLog, 7),
          n3: storageWith(VOTERS, leaderLog, 7),
        });
        const before = c.node("n1").storage.entries(1, leaderLog.length + 1);
        c.campaign("n1");
        expect(c.node("n1").raft.status()).toMatchObject({ role: "leader", term: 8 });
        c.tick(["n1"], HEARTBEAT_TICKS * 3);
        const want = [...leaderLog, 8];
        expect(storedTerms(c.node("n2").storage)).toEqual(want);
        expect(storedTerms(c.node("n1").storage)).toEqual(want);
        // Leader append-only (Figure 3): the leader's own entries were never rewritten.
        expect(c.node("n1").storage.entries(1, leaderLog.length + 1)).toEqual(before);
        expect(c.node("n2").raft.status().commit).toBe(11);
        const rejects = c.sent.filter((m) => m.type === "appendResp" && m.from === "n2" && m.reject).length;
        // (c) and (d): prevLogIndex 10 matches at once and entry 11 conflicts; the others need backing up.
        if (name === "c" || name === "d") expect(rejects).toBe(0);
        else expect(rejects).toBeGreaterThan(0);
      });
    }
  });

  it("§5.3 (Figure 3, Leader Append-Only): a leader ignores an AppendEntries of its own term and never rewrites its log", () => {
    const n = new PaperNode("n1", storageWith(VOTERS, [1, 1], 1), { preVote: false });
    makeLeader(n, VOTERS); // term 2, no-op at 3
    const before = storedTerms(n.storage);
    n.raft.step(appendTo("n1", 2, 0, 0, [2, 2, 2, 2], 4));
    n.drain();
    expect(storedTerms(n.storage)).toEqual(before);
    expect(n.raft.status()).toMatchObject({ role: "leader", term: 2, commit: 0 });
  });
});
