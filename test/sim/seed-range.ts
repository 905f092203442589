// Shared by the sim-*.test.ts files: run a range of seeds and fail with each failing seed's trace.
import { expect } from "vitest";
import { type SimResult, runSeed } from "./cluster.js";

export function formatFailure(r: SimResult): string {
  const lines = [`seed ${r.seed} (${r.nodes} nodes, profile ${r.profile}); replay: npm run sim -- --seed ${r.seed} --trace`];
  for (const v of r.violations) lines.push(`  ${v.checker} at tick ${v.tick}: ${v.detail}`);
  for (const t of r.trace) lines.push(`    ${t}`);
  return lines.join("\n");
}

export function expectSeedsClean(first: number, count: number): void {
  const failures: string[] = [];
  for (let seed = first; seed < first + count; seed++) {
    const r = runSeed({ seed });
    if (r.violations.length > 0) failures.push(formatFailure(r));
  }
  expect(failures.join("\n\n"), `${failures.length} of ${count} seeds failed`).toBe("");
}
