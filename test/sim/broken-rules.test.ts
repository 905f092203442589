// The checkers can fail: with a deliberately broken rule switched on in the core, the simulator reports the
// matching violation within a fixed number of seeds; with the rule intact, the same schedules are clean.
import { describe, expect, it } from "vitest";
import type { BrokenRules } from "../../src/raft/api.js";
import { runSeed } from "./cluster.js";
import { runFigure8 } from "./scenarios.js";
import type { CheckerName } from "./view.js";

const SEED_BUDGET = 200;

/** The first seed in 1..SEED_BUDGET whose run reports `checker`, or null. */
function firstSeedReporting(brokenRules: BrokenRules, checker: CheckerName): { seed: number; detail: string } | null {
  for (let seed = 1; seed <= SEED_BUDGET; seed++) {
    const r = runSeed({ seed, brokenRules, continueAfterViolation: true });
    const v = r.violations.find((x) => x.checker === checker);
    if (v) return { seed, detail: v.detail };
  }
  return null;
}

describe(`a broken rule is caught within ${SEED_BUDGET} random seeds`, () => {
  it("grantTwoVotesPerTerm -> electionSafety", () => {
    const hit = firstSeedReporting({ grantTwoVotesPerTerm: true }, "electionSafety");
    expect(hit, "no seed showed two leaders in one term").not.toBeNull();
    expect(hit!.detail).toMatch(/term \d+ has two leaders/);
  });

  it("skipLogConsistencyCheck -> logMatching", () => {
    const hit = firstSeedReporting({ skipLogConsistencyCheck: true }, "logMatching");
    expect(hit, "no seed showed logs that share an entry but not its prefix").not.toBeNull();
  });

  it("skipLogConsistencyCheck -> stateMachineSafety", () => {
    const hit = firstSeedReporting({ skipLogConsistencyCheck: true }, "stateMachineSafety");
    expect(hit, "no seed showed two different entries applied at one index").not.toBeNull();
  });

  it("skipUpToDateCheck -> leaderCompleteness", () => {
    const hit = firstSeedReporting({ skipUpToDateCheck: true }, "leaderCompleteness");
    expect(hit, "no seed showed a leader missing a committed entry").not.toBeNull();
    expect(hit!.detail).toMatch(/leader of term \d+ .* lacks/);
  });
});

describe("the crash model is real", () => {
  it("a runner that sends before the fsync completes loses committed entries at crashes", () => {
    let hit: string | null = null;
    for (let seed = 1; seed <= SEED_BUDGET && !hit; seed++) {
      const v = runSeed({ seed, sendBeforeSync: true }).violations.find((x) => x.checker === "committedEntryLost");
      if (v) hit = v.detail;
    }
    expect(hit, "acknowledging unsynced entries never lost one").not.toBeNull();
    expect(hit).toMatch(/is durable on \d of \d nodes, below a majority/);
  });
});

describe("Figure 8 (§5.4.2) as a targeted schedule", () => {
  const seeds = [1, 2, 3, 4, 5];

  it("commitOldTermEntries -> leaderCompleteness, committedEntryLost and stateMachineSafety on every seed", () => {
    for (const seed of seeds) {
      const r = runFigure8(seed, { commitOldTermEntries: true }, { continueAfterViolation: true });
      const fired = new Set(r.violations.map((v) => v.checker));
      expect([...fired], `seed ${seed}`).toEqual(expect.arrayContaining(["leaderCompleteness", "committedEntryLost", "stateMachineSafety"]));
      const sms = r.violations.find((v) => v.checker === "stateMachineSafety")!;
      expect(sms.detail).toMatch(/applied .* but .* applied .*"X"/);
    }
  });

  it("the correct rule passes the same schedule, liveness included", () => {
    for (const seed of seeds) {
      const r = runFigure8(seed);
      expect(r.violations, `seed ${seed}`).toEqual([]);
      expect(r.stats.committed).toBeGreaterThanOrEqual(3);
    }
  });
});
