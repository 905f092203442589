import { describe, expect, it } from "vitest";
import fc from "fast-check";
import { bytes, ELECTION_MAX, storageWithLog, TestNet } from "./net.js";
import { RaftNode } from "../../../src/raft/raft.js";
import { RaftError, MESSAGE_TYPES } from "../../../src/raft/types.js";
import type { AppendResponse, Message } from "../../../src/raft/types.js";
import { MemoryStorage } from "../../../src/storage/memory.js";
import { makePrng } from "../../../src/raft/prng.js";

const IDS = ["n1", "n2", "n3"];

function started(ids = IDS, opts = {}): TestNet {
  const net = TestNet.cluster(ids, opts);
  net.raft("n1").campaign();
  net.settle();
  return net;
}

function codeOf(f: () => unknown): string | undefined {
  try {
    f();
  } catch (e) {
    return e instanceof RaftError ? e.code : String(e);
  }
  return undefined;
}

describe("ReadIndex", () => {
  it("the leader confirms leadership by a heartbeat round before releasing the read", () => {
    const net = started();
    net.raft("n1").propose(bytes("x"));
    net.settle();
    net.cutLink("n1", "n2");
    net.cutLink("n1", "n3");
    net.raft("n1").readIndex("r1");
    net.settle();
    expect(net.peer("n1").readStates).toEqual([]); // no quorum ack yet
    net.heal();
    net.tick(["n1"], 2); // next heartbeat carries the pending context
    expect(net.peer("n1").readStates).toEqual([{ index: 2, context: "r1" }]);
    const hb = net.sent.filter((m) => m.type === "heartbeat" && m.context === "r1");
    expect(hb.length).toBeGreaterThan(0);
  });

  it("a follower forwards to the leader and emits the ReadState from its answer", () => {
    const net = started();
    net.raft("n1").propose(bytes("x"));
    net.settle();
    net.raft("n3").readIndex("f1");
    net.settle();
    expect(net.peer("n3").readStates).toEqual([{ index: 2, context: "f1" }]);
    expect(net.sent.some((m) => m.type === "readIndexResp" && m.to === "n3")).toBe(true);
  });

  it("a follower with no known leader refuses with NOT_LEADER", () => {
    const net = TestNet.cluster(IDS);
    expect(codeOf(() => net.raft("n2").readIndex("x"))).toBe("NOT_LEADER");
  });

  it("a new leader holds reads until it has committed an entry of its term", () => {
    const net = TestNet.cluster(IDS);
    // Keep the leader's no-op from committing: drop every append acknowledgement.
    net.filter = (m) => m.type !== "appendResp";
    net.raft("n1").campaign();
    net.settle();
    expect(net.raft("n1").status().role).toBe("leader");
    net.raft("n1").readIndex("early");
    net.tick(["n1"], 4);
    expect(net.peer("n1").readStates).toEqual([]);
    net.filter = () => true;
    net.tick(["n1"], 4);
    expect(net.peer("n1").readStates).toEqual([{ index: 1, context: "early" }]);
  });

  it("a single-voter cluster answers at once", () => {
    const net = TestNet.cluster(["solo"]);
    net.raft("solo").campaign();
    net.settle();
    expect(net.raft("solo").status().commit).toBe(1);
    net.raft("solo").readIndex("s");
    net.settle();
    expect(net.peer("solo").readStates).toEqual([{ index: 1, context: "s" }]);
  });
});

describe("fast backtracking", () => {
  it("a divergent follower is repaired in a few round trips, not one per entry", () => {
    const conf = { voters: IDS, learners: [] };
    const good = [1, 1, 1, 1, 1, 3, 3, 3, 3, 3];
    const bad = [1, 1, 1, 1, 1, ...Array<number>(40).fill(2)];
    const net = new TestNet();
    net.add("n1", storageWithLog(conf, good, 3, 5));
    net.add("n2", storageWithLog(conf, good, 3, 5));
    net.add("n3", storageWithLog(conf, bad, 2, 5));
    net.raft("n1").campaign();
    net.settle();
    expect(net.leaders()).toEqual(["n1"]);
    net.tick("all", 4);
    const rejects = net.sent.filter((m): m is AppendResponse => m.type === "appendResp" && m.reject && m.from === "n3");
    expect(rejects.length).toBeGreaterThan(0);
    expect(rejects.length).toBeLessThanOrEqual(3);
    const s3 = net.peer("n3").storage;
    const s1 = net.peer("n1").storage;
    expect(s3.lastIndex()).toBe(s1.lastIndex());
    for (let i = 1; i <= s1.lastIndex(); i++) expect(s3.term(i)).toBe(s1.term(i));
  });
});

describe("leadership transfer", () => {
  it("brings the target up to date, sends timeoutNow, and the target wins without pre-vote", () => {
    const net = started();
    net.raft("n1").propose(bytes("x"));
    net.settle();
    net.isolate("n3");
    net.raft("n1").propose(bytes("y"));
    net.settle();
    net.heal();
    net.raft("n1").transferLeadership("n3");
    expect(codeOf(() => net.raft("n1").propose(bytes("z")))).toBe("TRANSFER_IN_PROGRESS");
    expect(net.raft("n1").status().transferee).toBe("n3");
    net.settle();
    expect(net.leaders()).toEqual(["n3"]);
    expect(net.raft("n3").status().term).toBe(2);
    const votes = net.sent.filter((m) => m.type === "vote" && m.from === "n3");
    expect(votes.length).toBe(2);
    expect(votes.every((m) => m.type === "vote" && m.transfer === true)).toBe(true);
    expect(net.sent.some((m) => m.type === "timeoutNow")).toBe(true);
  });

  it("is abandoned after an election timeout when the target does not answer", () => {
    const net = started();
    net.isolate("n3");
    net.raft("n1").transferLeadership("n3");
    net.tick(["n1", "n2"], ELECTION_MAX + 1);
    expect(net.leaders()).toEqual(["n1"]);
    expect(net.raft("n1").status().transferee).toBeNull();
    expect(() => net.raft("n1").propose(bytes("ok"))).not.toThrow();
  });
});

describe("snapshots", () => {
  it("sends a snapshot to a follower behind the compacted log; the follower restores and catches up", () => {
    const net = started();
    net.isolate("n3");
    for (let i = 0; i < 10; i++) net.raft("n1").propose(bytes(`v${i}`));
    net.settle();
    const leader = net.peer("n1");
    const st = net.raft("n1").status();
    expect(st.applied).toBe(11);
    leader.storage.createSnapshot({ meta: { index: 11, term: 1, conf: st.conf }, data: bytes("state@11") });
    leader.storage.compact(11);
    net.heal();
    net.tick("all", 4);
    const snaps = net.sent.filter((m) => m.type === "snapshot");
    expect(snaps.length).toBe(1);
    const s3 = net.peer("n3").storage;
    expect(s3.snapshot().meta.index).toBe(11);
    expect(new TextDecoder().decode(s3.snapshot().data)).toBe("state@11");
    net.raft("n1").reportSnapshot("n3", true);
    net.raft("n1").propose(bytes("after"));
    net.settle();
    net.tick("all", 4);
    expect(net.raft("n3").status().commit).toBe(12);
    expect(net.raft("n3").status().applied).toBe(12);
    expect(net.appliedData("n3")).toEqual(["after"]);
    expect(net.raft("n1").status().progress?.["n3"]?.state).toBe("replicate");
  });
});

describe("membership", () => {
  it("adds a learner (which never counts toward quorum), then promotes it to voter", () => {
    const net = started();
    expect(codeOf(() => net.raft("n1").proposeConfChange({ op: "addVoter", id: "n1" }))).toBe("INVALID_CONF_CHANGE");
    net.add("n4", new MemoryStorage({ voters: [], learners: [] }));
    net.raft("n1").proposeConfChange({ op: "addLearner", id: "n4" });
    expect(codeOf(() => net.raft("n1").proposeConfChange({ op: "addVoter", id: "n4" }))).toBe("CONF_CHANGE_IN_PROGRESS");
    net.settle();
    net.tick("all", 4);
    expect(net.raft("n1").status().conf).toEqual({ voters: IDS, learners: ["n4"] });
    expect(net.raft("n4").status().conf).toEqual({ voters: IDS, learners: ["n4"] });
    expect(net.raft("n1").status().progress?.["n4"]?.learner).toBe(true);

    // A learner's ack does not make a quorum: with n2 and n3 cut off nothing commits.
    net.isolate("n2");
    net.cutLink("n1", "n3");
    const before = net.raft("n1").status().commit;
    net.raft("n1").propose(bytes("needs-a-voter"));
    net.settle();
    expect(net.raft("n4").status().lastIndex).toBe(before + 1);
    expect(net.raft("n1").status().commit).toBe(before);
    // A learner never campaigns.
    net.tick(["n4"], ELECTION_MAX * 3);
    expect(net.sent.some((m) => m.from === "n4" && (m.type === "preVote" || m.type === "vote"))).toBe(false);
    net.heal();
    net.tick("all", 4);
    expect(net.raft("n1").status().commit).toBe(before + 1);

    net.raft("n1").proposeConfChange({ op: "addVoter", id: "n4" });
    net.settle();
    net.tick("all", 4);
    for (const id of [...IDS, "n4"]) expect(net.raft(id).status().conf).toEqual({ voters: [...IDS, "n4"], learners: [] });
    expect(net.appliedData("n4")).toEqual(["needs-a-voter"]);
  });

  it("refuses a conf change before the leader committed an entry of its term", () => {
    const net = TestNet.cluster(IDS);
    net.filter = (m) => m.type !== "appendResp";
    net.raft("n1").campaign();
    net.settle();
    expect(codeOf(() => net.raft("n1").proposeConfChange({ op: "remove", id: "n3" }))).toBe("CONF_CHANGE_IN_PROGRESS");
  });

  it("a leader that removes itself steps down once the removal is applied; a removed node stays quiet", () => {
    const net = started();
    net.raft("n1").proposeConfChange({ op: "remove", id: "n1" });
    net.settle();
    expect(net.raft("n1").status().role).toBe("follower");
    expect(net.peer("n1").softState).toEqual({ leaderId: null, role: "follower" });
    const sentBefore = net.sent.length;
    const leader = net.electSomeone();
    expect(["n2", "n3"]).toContain(leader);
    expect(net.raft(leader).status().conf.voters).toEqual(["n2", "n3"]);
    net.tick("all", ELECTION_MAX * 3);
    expect(net.sent.slice(sentBefore).some((m) => m.from === "n1" && (m.type === "preVote" || m.type === "vote"))).toBe(false);
    expect(net.leaders()).toEqual([leader]);
  });

  it("a restart replays committed config entries from the log", () => {
    const net = started();
    net.add("n4", new MemoryStorage({ voters: [], learners: [] }));
    net.raft("n1").proposeConfChange({ op: "addLearner", id: "n4" });
    net.settle();
    net.tick("all", 4);
    const r = net.restart("n2");
    expect(r.raft.status().conf).toEqual({ voters: IDS, learners: ["n4"] });
    const r4 = net.restart("n4");
    expect(r4.raft.status().conf).toEqual({ voters: IDS, learners: ["n4"] });
  });
});

describe("broken rules change behaviour", () => {
  function voterAfterVotingFor(candidate: string, broken: boolean): RaftNode {
    const storage = new MemoryStorage({ voters: IDS, learners: [] });
    const r = new RaftNode({
      id: "n3",
      storage,
      electionTicksMin: 10,
      electionTicksMax: 20,
      heartbeatTicks: 2,
      random: makePrng(1),
      checkQuorum: false,
      brokenRules: broken ? { grantTwoVotesPerTerm: true } : {},
    });
    r.step({ type: "vote", from: candidate, to: "n3", term: 1, lastLogIndex: 0, lastLogTerm: 0 });
    return r;
  }
  function lastVoteResp(r: RaftNode, from: string): boolean | undefined {
    const rd = r.ready();
    r.advance(rd);
    const resp = rd.messages.find((m) => m.type === "voteResp" && m.to === from);
    return resp && resp.type === "voteResp" ? !resp.reject : undefined;
  }

  it("grantTwoVotesPerTerm grants a second vote in the same term", () => {
    for (const broken of [false, true]) {
      const r = voterAfterVotingFor("n1", broken);
      expect(lastVoteResp(r, "n1")).toBe(true);
      r.step({ type: "vote", from: "n2", to: "n3", term: 1, lastLogIndex: 0, lastLogTerm: 0 });
      expect(lastVoteResp(r, "n2")).toBe(broken);
    }
  });

  it("skipUpToDateCheck grants a vote to a candidate with a shorter log", () => {
    for (const broken of [false, true]) {
      const storage = storageWithLog({ voters: IDS, learners: [] }, [1, 1, 2], 2, 0);
      const r = new RaftNode({
        id: "n3",
        storage,
        electionTicksMin: 10,
        electionTicksMax: 20,
        heartbeatTicks: 2,
        random: makePrng(1),
        brokenRules: { skipUpToDateCheck: broken },
      });
      r.step({ type: "vote", from: "n1", to: "n3", term: 3, lastLogIndex: 1, lastLogTerm: 1 });
      const rd = r.ready();
      const resp = rd.messages.find((m) => m.type === "voteResp");
      expect(resp?.type === "voteResp" && !resp.reject).toBe(broken);
    }
  });

  it("skipLogConsistencyCheck accepts an append whose prevLogTerm does not match", () => {
    for (const broken of [false, true]) {
      const storage = storageWithLog({ voters: IDS, learners: [] }, [1, 1, 1], 2, 0);
      const r = new RaftNode({
        id: "n3",
        storage,
        electionTicksMin: 10,
        electionTicksMax: 20,
        heartbeatTicks: 2,
        random: makePrng(1),
        brokenRules: { skipLogConsistencyCheck: broken },
      });
      r.step({
        type: "append",
        from: "n1",
        to: "n3",
        term: 2,
        prevLogIndex: 3,
        prevLogTerm: 2, // we hold term 1 at index 3
        entries: [{ term: 2, index: 4, kind: "normal", data: bytes("x") }],
        commit: 0,
      });
      const rd = r.ready();
      const resp = rd.messages.find((m) => m.type === "appendResp");
      expect(resp?.type === "appendResp" && !resp.reject).toBe(broken);
      expect(rd.entries.length).toBe(broken ? 1 : 0);
    }
  });

  it("commitOldTermEntries commits an earlier term's entry by counting replicas (Figure 8)", () => {
    for (const broken of [false, true]) {
      const conf = { voters: IDS, learners: [] };
      const net = new TestNet({ brokenRules: { commitOldTermEntries: broken } });
      // n1 and n2 hold entry 2 of term 1 uncommitted; n3 does not.
      net.add("n1", storageWithLog(conf, [1, 1], 1, 1));
      net.add("n2", storageWithLog(conf, [1, 1], 1, 1));
      net.add("n3", storageWithLog(conf, [1], 1, 1));
      // The new leader's own no-op must not reach anyone, so only replicas of entry 2 can be counted.
      net.rewrite = (m) => (m.type === "append" ? { ...m, entries: m.entries.filter((e) => e.term !== 2) } : m);
      net.raft("n1").campaign();
      net.settle();
      expect(net.leaders()).toEqual(["n1"]);
      expect(net.raft("n1").status().commit).toBe(broken ? 2 : 1);
    }
  });
});

describe("robustness", () => {
  it("step never throws on arbitrary peer messages", () => {
    const entryArb = fc.record({
      term: fc.integer({ min: -1, max: 5 }),
      index: fc.integer({ min: -1, max: 12 }),
      kind: fc.constantFrom("normal", "config", "bogus"),
      data: fc.uint8Array({ maxLength: 8 }),
    });
    const msgArb = fc.record({
      type: fc.constantFrom(...MESSAGE_TYPES),
      from: fc.constantFrom("n1", "n2", "n3", "zz"),
      to: fc.constantFrom("n1", "n1", "n2"),
      term: fc.integer({ min: -1, max: 6 }),
      lastLogIndex: fc.integer({ min: -1, max: 12 }),
      lastLogTerm: fc.integer({ min: -1, max: 6 }),
      transfer: fc.boolean(),
      reject: fc.boolean(),
      index: fc.integer({ min: -1, max: 15 }),
      rejectHint: fc.integer({ min: -1, max: 15 }),
      logTerm: fc.integer({ min: -1, max: 6 }),
      prevLogIndex: fc.integer({ min: -1, max: 12 }),
      prevLogTerm: fc.integer({ min: -1, max: 6 }),
      entries: fc.array(entryArb, { maxLength: 4 }),
      commit: fc.integer({ min: -1, max: 15 }),
      context: fc.constantFrom(undefined, "c1", "c2"),
      snapshot: fc.constant({
        meta: { index: 4, term: 2, conf: { voters: IDS, learners: [] } },
        data: new Uint8Array(0),
      }),
    });
    fc.assert(
      fc.property(fc.array(msgArb, { maxLength: 40 }), fc.boolean(), (msgs, asLeader) => {
        const net = TestNet.cluster(IDS);
        if (asLeader) {
          net.raft("n1").campaign();
          net.settle();
          net.raft("n1").propose(bytes("p"));
          net.settle();
        }
        const r = net.raft("n1");
        for (const m of msgs) {
          try {
            r.step(m as unknown as Message);
          } catch (e) {
            // Only a message that claims to overwrite committed entries may stop the node.
            if (!(e instanceof RaftError && e.code === "INVARIANT" && m.type === "append")) throw e;
            return;
          }
          while (r.hasReady()) {
            const rd = r.ready();
            if (rd.snapshot) net.peer("n1").storage.applySnapshot(rd.snapshot);
            net.peer("n1").storage.append(rd.entries);
            r.advance(rd);
          }
          if (msgs.length % 3 === 0) r.tick();
        }
      }),
      { numRuns: 300, seed: 7 },
    );
  });

  it("Ready contract: hardState and softState only when changed; mustSync only for term/vote/entries", () => {
    const net = TestNet.cluster(IDS);
    const r = net.raft("n2");
    expect(r.hasReady()).toBe(false);
    r.step({ type: "heartbeat", from: "n1", to: "n2", term: 1, commit: 0 });
    const rd = r.ready();
    expect(rd.hardState).toEqual({ term: 1, vote: null, commit: 0 });
    expect(rd.softState).toEqual({ leaderId: "n1", role: "follower" });
    expect(rd.mustSync).toBe(true);
    expect(() => r.ready()).toThrow(RaftError);
    r.advance(rd);
    r.step({ type: "heartbeat", from: "n1", to: "n2", term: 1, commit: 0 });
    const rd2 = r.ready();
    expect(rd2.hardState).toBeUndefined();
    expect(rd2.softState).toBeUndefined();
    expect(rd2.mustSync).toBe(false);
    expect(rd2.messages.map((m) => m.type)).toEqual(["heartbeatResp"]);
    r.advance(rd2);
  });

  it("batches appends by maxEntriesPerMsg and bounds in-flight messages", () => {
    const net = started(IDS, { maxEntriesPerMsg: 2, maxInflightMsgs: 2 });
    net.isolate("n3");
    for (let i = 0; i < 20; i++) net.raft("n1").propose(bytes(`v${i}`));
    net.settle();
    net.heal();
    const before = net.sent.length;
    net.tick("all", 6);
    const appends = net.sent.slice(before).filter((m) => m.type === "append" && m.to === "n3");
    for (const m of appends) if (m.type === "append") expect(m.entries.length).toBeLessThanOrEqual(2);
    expect(net.raft("n3").status().lastIndex).toBe(21);
    expect(net.appliedData("n3").length).toBe(20);
  });

  it("refuses proposals past maxUncommittedBytes with PROPOSAL_TOO_LARGE", () => {
    const net = started(IDS, { maxUncommittedBytes: 100 });
    net.isolate("n1");
    net.raft("n1").propose(new Uint8Array(80));
    expect(codeOf(() => net.raft("n1").propose(new Uint8Array(80)))).toBe("PROPOSAL_TOO_LARGE");
  });
});
