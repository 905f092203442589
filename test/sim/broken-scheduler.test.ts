// The scheduler checkers fire on a real run: with a deliberately wrong replica (node.ts BrokenScheduler), the
// simulator reports the matching violation within a few seeds. The same seeds with correct replicas are clean
// (they are among the 600 seeds of sim-1..4).
import { describe, expect, it } from "vitest";
import { runSeed } from "./cluster.js";
import type { BrokenScheduler } from "./node.js";
import type { CheckerName } from "./view.js";

const SEED_BUDGET = 40;

function firstSeedReporting(brokenScheduler: BrokenScheduler, checker: CheckerName): { seed: number; detail: string } | null {
  for (let seed = 1; seed <= SEED_BUDGET; seed++) {
    const v = runSeed({ seed, brokenScheduler, continueAfterViolation: true }).violations.find((x) => x.checker === checker);
    if (v) return { seed, detail: v.detail };
  }
  return null;
}

describe(`a broken scheduler replica is caught within ${SEED_BUDGET} random seeds`, () => {
  it("reports of superseded attempts accepted (no fencing token) -> attemptFencing", () => {
    const hit = firstSeedReporting({ acceptStaleReports: true }, "attemptFencing");
    expect(hit, "no seed accepted a stale report").not.toBeNull();
    expect(hit!.detail).toMatch(/accepted a (complete|fail) report of attempt \d+ of t\d+/);
  });

  it("snapshots that carry an older table -> taskLost, replicaDivergence and taskDuplicated", () => {
    const lost = firstSeedReporting({ staleSnapshotTable: true }, "taskLost");
    expect(lost, "no seed lost an acknowledged task").not.toBeNull();
    expect(lost!.detail).toMatch(/acknowledged by n\d+ at index \d+ .* has no such task|shows it/);
    expect(firstSeedReporting({ staleSnapshotTable: true }, "replicaDivergence")).not.toBeNull();
    // A node restored without a task creates it again when a client's retried submit arrives.
    expect(firstSeedReporting({ staleSnapshotTable: true }, "taskDuplicated")?.detail).toMatch(/created twice/);
  });

  it("an apply() that depends on the replica -> replicaDivergence", () => {
    const hit = firstSeedReporting({ replicaSpecificApply: true }, "replicaDivergence");
    expect(hit, "no seed showed two different tables at one applied index").not.toBeNull();
    expect(hit!.detail).toMatch(/at applied index \d+ n\d's table .* and n\d's .* differ/);
  });

  it("executors that start from their local table at once (before catching up) -> staleAttemptStart", () => {
    const hit = firstSeedReporting({ startFromLocalTable: true }, "staleAttemptStart");
    expect(hit, "no restarted node started a superseded attempt").not.toBeNull();
    expect(hit!.detail).toMatch(/n\d+ started attempt \d+ of t\d+ at tick \d+ \(running since tick \d+\), but attempt \d+ (was assigned|finished|was released)/);
  });

  it("executors that free a slot when the abort is sent, not when the handler returns -> executorCapacity", () => {
    const hit = firstSeedReporting({ freeSlotOnAbort: true }, "executorCapacity");
    expect(hit, "no node ran more handlers than its capacity").not.toBeNull();
    expect(hit!.detail).toMatch(/n\d+ runs (\d+ handlers at tick \d+, capacity \d+|two attempts of t\d+ side by side)/);
  });

  it("a leader that counts only the table's assignments, not the aborted handlers workers report -> placementCapacity", () => {
    const hit = firstSeedReporting({ ignoreLingering: true }, "placementCapacity");
    expect(hit, "no leader placed work on slots held by handlers still returning").not.toBeNull();
    expect(hit!.detail).toMatch(/leader n\d+ placed work on n\d+ at tick \d+ beyond its capacity \d+: \d+ assigned \+ [1-9]\d* aborted handlers still running/);
  });
});

describe(`task fields: a leader breaking a placement rule is caught within ${SEED_BUDGET} random seeds`, () => {
  it("a task placed on a worker lacking a tag it requires -> taskFieldPlacement", () => {
    const hit = firstSeedReporting({ ignoreRequires: true }, "taskFieldPlacement");
    expect(hit, "no seed placed a tagged task on a worker without the tags").not.toBeNull();
    expect(hit!.detail).toMatch(/applied attempt \d+ of t\d+ on n\d+ at index \d+ \(tick \d+\), but it requires \[gpu(, ssd)?\] and n\d+ carries \[/);
  });

  it("a delayed task placed before its runAt -> taskFieldPlacement", () => {
    const hit = firstSeedReporting({ ignoreRunAt: true }, "taskFieldPlacement");
    expect(hit, "no seed placed a delayed task early").not.toBeNull();
    expect(hit!.detail).toMatch(/applied attempt \d+ of t\d+ on n\d+ at index \d+ \(tick \d+\), \d+ ms before its runAt \d+/);
  });
});
