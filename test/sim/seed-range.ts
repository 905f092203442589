// Shared by the sim-*.test.ts files: run a range of seeds and fail with each failing seed's trace.
import { expect, it } from "vitest";
import { type SimResult, runSeed } from "./cluster.js";

/** One seed takes ~0.2 s on an idle core; at a load of 30-43 on 2 cores (2026-12-07) the slowest of seeds 1..600
 *  took 13.5 s. A seed runs synchronously, so a timeout cannot stop a hung one anyway: it only has to stay far above
 *  a slow-but-correct seed. Per seed, so how many seeds a file holds never meets a timeout. */
const SEED_TIMEOUT_MS = 120_000;

export function formatFailure(r: SimResult): string {
  const lines = [`seed ${r.seed} (${r.nodes} nodes, profile ${r.profile}); replay: npm run sim -- --seed ${r.seed} --trace`];
  for (const v of r.violations) lines.push(`  ${v.checker} at tick ${v.tick}: ${v.detail}`);
  for (const t of r.trace) lines.push(`    ${t}`);
  return lines.join("\n");
}

/** Registers one test per seed in [first, first + count): each checks every safety checker after every tick, then
 *  liveness after the heal. One test per seed (not one per range) so the timeout matches the work under any load. */
export function itSeedsClean(first: number, count: number): void {
  for (let seed = first; seed < first + count; seed++) {
    it(`seed ${seed}`, { timeout: SEED_TIMEOUT_MS }, () => {
      const r = runSeed({ seed });
      expect(r.violations.length === 0 ? "" : formatFailure(r)).toBe("");
    });
  }
}
