// Issue #16 in the simulator: remove a follower, wipe it, start it with --join, add the same id back. It replays
// its own old removal while catching up (from the log, or from a snapshot older than the removal) and must stay a
// running voter; the memberStopped checker proves it, and fires with the old rule (leave on any removal applied).
import { describe, expect, it } from "vitest";
import { runRemovedIdRejoins, type RejoinOptions } from "./rejoin-scenario.js";

const SEEDS = [1, 2, 3, 4, 5];
const CASES: ReadonlyArray<readonly [string, RejoinOptions]> = [
  ["from the log, the whole log in one append", { viaSnapshot: false }],
  ["from the log, one entry per round trip (the re-addition arrives after the leave grace)", { viaSnapshot: false, maxEntriesPerMsg: 1, maxInflightMsgs: 1 }],
  ["from a snapshot older than the removal", { viaSnapshot: true }],
  ["from a snapshot older than the removal, then one entry per round trip", { viaSnapshot: true, maxEntriesPerMsg: 1, maxInflightMsgs: 1 }],
];

describe("a removed id added back with an empty disk", () => {
  for (const [name, opts] of CASES) {
    it(`catches up ${name}, replays its old removal, and stays a running voter`, () => {
      for (const seed of SEEDS) {
        const r = runRemovedIdRejoins(seed, opts);
        const detail = `seed ${seed}: ${JSON.stringify(r.result.violations, null, 1)}\n${r.result.trace.slice(-30).join("\n")}`;
        expect(r.result.violations, detail).toEqual([]);
        expect(r.replayedRemoval, detail).toBe(1);
        expect(r.caughtUpViaSnapshot, detail).toBe(opts.viaSnapshot ? 1 : 0);
        expect(r.rejoinedAsVoter, detail).toBe(1);
      }
    });
  }

  it("three rounds in a row on one cluster keep every member running and the cluster live", () => {
    for (const seed of SEEDS) {
      const r = runRemovedIdRejoins(seed, { viaSnapshot: true, maxEntriesPerMsg: 2, rounds: 3 });
      expect(r.result.violations, `seed ${seed}: ${JSON.stringify(r.result.violations, null, 1)}`).toEqual([]);
      expect(r.rejoinedAsVoter, `seed ${seed}`).toBe(3);
    }
  });
});

describe("broken rule leaveOnAnyRemoval (the behaviour before the fix)", () => {
  for (const [name, opts] of CASES) {
    it(`memberStopped fires: caught up ${name}`, () => {
      for (const seed of SEEDS) {
        const r = runRemovedIdRejoins(seed, { ...opts, brokenLeave: { leaveOnAnyRemoval: true } });
        const v = r.result.violations.find((x) => x.checker === "memberStopped");
        expect(v, `seed ${seed}: ${JSON.stringify(r.result.violations)}`).toBeDefined();
        expect(v!.detail).toMatch(/has stopped for good but is a (voter|learner) of the configuration committed at index \d+/);
      }
    });
  }
});
