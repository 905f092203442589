import { describe, expect, it } from "vitest";
import { bytes, ELECTION_MAX, TestNet } from "./net.js";
import { RaftError } from "../../../src/raft/types.js";

const IDS = ["n1", "n2", "n3"];

describe("RaftNode in a 3-node network", () => {
  it("elects a leader through a pre-vote round, without bumping terms during it", () => {
    const net = TestNet.cluster(IDS);
    net.raft("n1").campaign();
    net.settle();
    expect(net.leaders()).toEqual(["n1"]);
    const preVotes = net.sent.filter((m) => m.type === "preVote");
    expect(preVotes.map((m) => m.to).sort()).toEqual(["n2", "n3"]);
    expect(preVotes.every((m) => m.term === 1)).toBe(true);
    const firstVote = net.sent.findIndex((m) => m.type === "vote");
    const lastPreVoteResp = net.sent.map((m) => m.type).lastIndexOf("preVoteResp");
    expect(firstVote).toBeGreaterThan(net.sent.findIndex((m) => m.type === "preVoteResp"));
    expect(lastPreVoteResp).toBeGreaterThan(-1);
    for (const id of IDS) {
      const st = net.raft(id).status();
      expect(st.term).toBe(1);
      expect(st.leaderId).toBe("n1");
    }
    expect(net.peer("n2").storage.initialState().hardState.vote).toBe("n1");
    expect(net.peer("n1").softState).toEqual({ leaderId: "n1", role: "leader" });
  });

  it("elects a leader by ticking alone", () => {
    const net = TestNet.cluster(IDS);
    const leader = net.electSomeone();
    expect(net.raft(leader).status().term).toBe(1);
  });

  it("replicates and commits proposals on every node, in order", () => {
    const net = TestNet.cluster(IDS);
    net.raft("n1").campaign();
    net.settle();
    const p = net.raft("n1").propose(bytes("a"));
    net.raft("n1").propose(bytes("b"));
    net.settle();
    expect(p).toEqual({ index: 2, term: 1 }); // index 1 is the leader's no-op
    net.tick("all", 3); // heartbeats carry the commit index to followers
    for (const id of IDS) {
      expect(net.appliedData(id)).toEqual(["a", "b"]);
      expect(net.raft(id).status().commit).toBe(3);
      expect(net.peer(id).storage.lastIndex()).toBe(3);
    }
  });

  it("refuses proposals on a follower with NOT_LEADER and the leader's id", () => {
    const net = TestNet.cluster(IDS);
    net.raft("n1").campaign();
    net.settle();
    try {
      net.raft("n2").propose(bytes("x"));
      expect.unreachable();
    } catch (e) {
      expect(e).toBeInstanceOf(RaftError);
      expect((e as RaftError).code).toBe("NOT_LEADER");
      expect((e as RaftError).leaderId).toBe("n1");
    }
  });

  it("elects a new leader after the leader crashes, and keeps committed entries", () => {
    const net = TestNet.cluster(IDS);
    net.raft("n1").campaign();
    net.settle();
    net.raft("n1").propose(bytes("before"));
    net.settle();
    net.remove("n1");
    const leader = net.electSomeone();
    expect(leader).not.toBe("n1");
    expect(net.raft(leader).status().term).toBe(2);
    net.raft(leader).propose(bytes("after"));
    net.settle();
    net.tick("all", 3);
    for (const id of ["n2", "n3"]) expect(net.appliedData(id)).toEqual(["before", "after"]);
  });

  it("a restarted node recovers term, vote and log from storage and catches up", () => {
    const net = TestNet.cluster(IDS);
    net.raft("n1").campaign();
    net.settle();
    net.raft("n1").propose(bytes("x"));
    net.settle();
    net.tick("all", 3);
    const r = net.restart("n3");
    expect(r.raft.status().term).toBe(1);
    expect(r.raft.status().vote).toBe("n1");
    expect(r.raft.status().lastIndex).toBe(2);
    net.raft("n1").propose(bytes("y"));
    net.settle();
    net.tick("all", 3);
    // After restart the node re-applies from its snapshot (index 0): the state machine is rebuilt.
    expect(net.appliedData("n3")).toEqual(["x", "y"]);
  });

  it("a partitioned node rejoining does not disrupt the leader (pre-vote keeps its term)", () => {
    const net = TestNet.cluster(IDS);
    net.raft("n1").campaign();
    net.settle();
    net.isolate("n3");
    net.tick("all", ELECTION_MAX * 5);
    expect(net.raft("n3").status().term).toBe(1); // pre-votes failed, term never moved
    expect(net.leaders()).toEqual(["n1"]);
    net.heal();
    net.tick("all", 5);
    expect(net.leaders()).toEqual(["n1"]);
    expect(net.raft("n1").status().term).toBe(1);
    expect(net.raft("n3").status().leaderId).toBe("n1");
  });

  it("without pre-vote, a rejoining node with a higher term forces a new election", () => {
    const net = TestNet.cluster(IDS, { preVote: false, checkQuorum: false });
    net.raft("n1").campaign();
    net.settle();
    net.isolate("n3");
    net.tick("all", ELECTION_MAX * 3);
    expect(net.raft("n3").status().term).toBeGreaterThan(1);
    net.heal();
    net.tick("all", ELECTION_MAX * 2);
    expect(net.raft("n1").status().term).toBeGreaterThan(1);
  });

  it("a node that heard from its leader recently ignores vote requests (leader lease)", () => {
    const net = TestNet.cluster(IDS);
    net.raft("n1").campaign();
    net.settle();
    const before = net.sent.length;
    net.raft("n2").step({ type: "vote", from: "n3", to: "n2", term: 5, lastLogIndex: 100, lastLogTerm: 5 });
    net.settle();
    expect(net.raft("n2").status().term).toBe(1);
    expect(net.sent.slice(before).filter((m) => m.type === "voteResp")).toEqual([]);
    // With transfer=true the lease does not apply.
    net.raft("n2").step({ type: "vote", from: "n3", to: "n2", term: 5, lastLogIndex: 100, lastLogTerm: 5, transfer: true });
    expect(net.raft("n2").status().term).toBe(5);
    expect(net.raft("n2").status().vote).toBe("n3");
  });

  it("check-quorum: a leader cut off from a quorum steps down", () => {
    const net = TestNet.cluster(IDS);
    net.raft("n1").campaign();
    net.settle();
    net.isolate("n1");
    net.tick(["n1"], ELECTION_MAX * 2 + 1);
    expect(net.raft("n1").status().role).toBe("follower");
    expect(net.peer("n1").softState.role).toBe("follower");
  });

  it("check-quorum off: an isolated leader stays leader", () => {
    const net = TestNet.cluster(IDS, { checkQuorum: false });
    net.raft("n1").campaign();
    net.settle();
    net.isolate("n1");
    net.tick(["n1"], ELECTION_MAX * 3);
    expect(net.raft("n1").status().role).toBe("leader");
  });
});
