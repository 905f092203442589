// External workers in the simulator (external-workers.ts): connect, disconnect, partition from the leader,
// reconnect elsewhere, late reports — under the four scheduler checkers plus attemptOnOneWorker, which a broken
// worker (one that also runs another worker's attempts) must trip.
import { describe, expect, it } from "vitest";
import { runSeed } from "./cluster.js";

describe("external workers in the simulator", () => {
  it("seeds 1..20 with external workers: no violation", () => {
    const failing = [];
    for (let seed = 1; seed <= 20; seed++) {
      const r = runSeed({ seed, externalWorkers: true });
      if (r.violations.length > 0) failing.push(`${seed}: ${r.violations[0]!.checker} ${r.violations[0]!.detail}`);
    }
    expect(failing).toEqual([]);
  }, 120_000);

  it("a worker that also runs another worker's attempts -> attemptOnOneWorker", () => {
    let hit: string | null = null;
    for (let seed = 1; seed <= 40 && hit === null; seed++) {
      const v = runSeed({ seed, externalWorkers: { broken: { runOthersAttempts: true } }, continueAfterViolation: true }).violations.find((x) => x.checker === "attemptOnOneWorker");
      if (v) hit = v.detail;
    }
    expect(hit, "no seed ran an attempt on two workers").not.toBeNull();
    expect(hit).toMatch(/attempt \d+ of t\d+ started on x\d and on x\d/);
  }, 120_000);
});
