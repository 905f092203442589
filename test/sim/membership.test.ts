// Membership changes and snapshots in the simulator: random seeds really change membership and install
// snapshots, and the two known-bug schedules (etcd-io/etcd#6420, hashicorp/raft#502) run as regression cases, each
// next to a contrast run showing the hazard the schedule guards against is real in the model.
import { describe, expect, it } from "vitest";
import { runSeed } from "./cluster.js";
import { runQuorumLossWhileAdding, runRemovedVoterRejoins } from "./scenarios.js";

describe("random seeds change membership and take snapshots", () => {
  it("most seeds have them on, and they do real work: changes commit, learners join, snapshots install", () => {
    let membershipSeeds = 0;
    let snapshotSeeds = 0;
    let confChanges = 0;
    let joined = 0;
    let installs = 0;
    const seeds = 30;
    for (let seed = 1; seed <= seeds; seed++) {
      const r = runSeed({ seed, faultTicks: 800 });
      expect(r.violations, `seed ${seed}`).toEqual([]);
      if (r.membership) membershipSeeds++;
      if (r.snapshots) snapshotSeeds++;
      confChanges += r.stats.confChanges;
      joined += r.stats.nodesCreated - r.nodes;
      installs += r.stats.snapshotsInstalled;
    }
    expect(membershipSeeds).toBeGreaterThanOrEqual(seeds * 0.4);
    expect(snapshotSeeds).toBeGreaterThanOrEqual(seeds * 0.5);
    expect(confChanges).toBeGreaterThanOrEqual(seeds);
    expect(installs).toBeGreaterThan(10);
    expect(joined).toBeGreaterThan(0);
  });

  it("--membership/--snapshots overrides are honoured", () => {
    const off = runSeed({ seed: 11, membership: false, snapshots: false, faultTicks: 300 });
    expect([off.membership, off.snapshots, off.stats.confChanges, off.stats.snapshotsTaken]).toEqual([false, false, 0, 0]);
    const on = runSeed({ seed: 11, membership: true, snapshots: true, faultTicks: 300 });
    expect([on.membership, on.snapshots]).toEqual([true, true]);
    expect(on.stats.snapshotsTaken).toBeGreaterThan(0);
  });

  it("a seed with membership changes and snapshots replays exactly", () => {
    const a = runSeed({ seed: 77, membership: true, snapshots: true, trace: true, faultTicks: 600 });
    const b = runSeed({ seed: 77, membership: true, snapshots: true, trace: true, faultTicks: 600 });
    expect(a.stats.confChanges).toBeGreaterThan(0);
    expect(b.trace).toEqual(a.trace);
  });
});

describe("etcd-io/etcd#6420: quorum loss while adding a member that is down", () => {
  for (const nodes of [1, 3] as const) {
    it(`${nodes}-node cluster${nodes === 3 ? " with one node down" : ""}: add as learner, promote once caught up — it keeps committing`, () => {
      for (const seed of [1, 2, 3]) {
        const r = runQuorumLossWhileAdding(seed, { nodes, learnerFirst: true });
        expect(r.result.violations, `seed ${seed}`).toEqual([]);
        expect(r, `seed ${seed}`).toMatchObject({ committedWhileNewMemberDown: true, promotionHeldBack: true, caughtUpViaSnapshot: true, joinedAsVoter: true });
      }
    });

    it(`${nodes}-node contrast: adding the down node straight as a voter stops commits (the bug's schedule)`, () => {
      for (const seed of [1, 2, 3]) {
        const r = runQuorumLossWhileAdding(seed, { nodes, learnerFirst: false });
        expect(r.result.violations, `seed ${seed}`).toEqual([]);
        expect(r.committedWhileNewMemberDown, `seed ${seed}`).toBe(false);
      }
    });
  }
});

describe("hashicorp/raft#502: a removed voter that never heard of its removal rejoins", () => {
  for (const nodes of [3, 5] as const) {
    it(`${nodes} nodes: no term inflation, the leader stays, commits continue, the removed node never leads`, () => {
      for (const seed of [1, 2, 3]) {
        const r = runRemovedVoterRejoins(seed, { nodes });
        expect(r.result.violations, `seed ${seed}`).toEqual([]);
        expect(r, `seed ${seed}`).toMatchObject({ leaderKept: true, removedNodeUnaware: true, removedNodeEverLed: false, committedAfterRejoin: 30 });
        expect(r.maxMemberTermAfter, `seed ${seed}`).toBe(r.leaderTerm);
      }
    });
  }

  it("contrast: without pre-vote the same schedule inflates the members' terms and deposes the leader", () => {
    const r = runRemovedVoterRejoins(1, { nodes: 3, preVote: false });
    expect(r.leaderKept).toBe(false);
    expect(r.maxMemberTermAfter).toBeGreaterThan(r.leaderTerm);
    expect(r.removedNodeEverLed).toBe(false);
  });
});
