// Disks that stop answering, in the simulator (issue 14.5): the production stalled-disk rule keeps a stalled node
// from leading, the majority commits around a stalled member, and the broken-rule switch makes the check fire.
import { describe, expect, it } from "vitest";
import { runIsolatedStalledLeader, runSingleVoterDiskStall, runThreeVoterDiskStalls } from "./disk-stall-scenario.js";

const SEEDS = [1, 2, 3, 4, 5, 6, 7, 8];

describe("a stalled disk in the simulator", () => {
  it("one voter: keeps leading through the hung write (no one could take over) and commits it in the same term after", () => {
    for (const seed of SEEDS) {
      const r = runSingleVoterDiskStall(seed);
      const detail = `seed ${seed}: ${JSON.stringify(r, null, 1).slice(0, 3000)}`;
      expect(r.result.violations, detail).toEqual([]);
      expect(r.stalledLeaderTicks, detail).toEqual([]);
      expect(r.reached, detail).toEqual({ elected: true, proposed: true, leaderThroughoutStall: true, notCommittedDuringStall: true, committedAfter: true, sameTermAfter: true });
    }
  });

  it.each([true, false])("three voters (check-quorum %s): a stalled leader is replaced and the rest commit; a stalled follower holds nothing back", (checkQuorum) => {
    for (const seed of SEEDS) {
      const r = runThreeVoterDiskStalls(seed, { checkQuorum });
      const detail = `seed ${seed}: ${JSON.stringify({ ...r, result: { violations: r.result.violations, trace: r.result.trace.slice(-30) } }, null, 1)}`;
      expect(r.result.violations, detail).toEqual([]);
      expect(r.stalledLeaderTicks, detail).toEqual([]);
      expect(r.reached, detail).toEqual({
        elected: true,
        newLeaderDuringStall: true,
        committedDuringStall: true,
        followerStallDoesNotHoldCommits: true,
        leaderKept: true,
        converged: true,
      });
    }
  });

  it("three voters, check-quorum off: a stalled leader cut off from its peers steps down on the rule alone", () => {
    for (const seed of SEEDS) {
      const r = runIsolatedStalledLeader(seed);
      expect(r.stalledLeaderTicks, `seed ${seed}`).toEqual([]);
      expect(r.reached, `seed ${seed}`).toEqual({ elected: true, steppedDown: true });
    }
  });
});

describe("broken rule ignoreDiskStallRule (the behaviour before the fix)", () => {
  it("the stalled, cut-off leader keeps leading with its write hung: the check fires", () => {
    for (const seed of SEEDS) {
      const r = runIsolatedStalledLeader(seed, { ignoreDiskStallRule: true });
      expect(r.stalledLeaderTicks.length, `seed ${seed}`).toBeGreaterThan(0);
      expect(r.reached.steppedDown, `seed ${seed}`).toBe(false);
    }
  });
});
