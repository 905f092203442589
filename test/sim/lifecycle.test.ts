// Issue 13 in the simulator: retention deletes tasks through the log and a recurring schedule fires under the
// seed's faults (SimOptions.lifecycle), checked by deletedTaskReturned, deletionDivergence and scheduleSlotTwice;
// each checker fires on a deliberately broken run and on a made-up broken history.
import { describe, expect, it } from "vitest";
import { runSeed } from "./cluster.js";
import { deletedTaskReturned, deletionDivergence, scheduleSlotReplayed, scheduleSlotSkipped, scheduleSlotTwice } from "./lifecycle-checkers.js";
import type { BrokenScheduler } from "./node.js";
import type { CheckerName, SchedulerView } from "./view.js";

const SEEDS = 20;
const BROKEN_BUDGET = 15;

function firstSeedReporting(brokenScheduler: BrokenScheduler, checker: CheckerName): { seed: number; detail: string } | null {
  for (let seed = 1; seed <= BROKEN_BUDGET; seed++) {
    const v = runSeed({ seed, lifecycle: true, brokenScheduler, continueAfterViolation: true }).violations.find((x) => x.checker === checker);
    if (v) return { seed, detail: v.detail };
  }
  return null;
}

describe(`retention and schedules under faults, ${SEEDS} seeds`, () => {
  // One test per seed: 20 seeds in one test took 42.5 s in CI at load 17 and 64.9 s at load 16 elsewhere, past the
  // 60 s test timeout; the work is the same, each seed now has its own timeout.
  let deleted = 0;
  it.each(Array.from({ length: SEEDS }, (_, i) => i + 1))("seed %i: no violation, tasks deleted and slots fired", (seed) => {
    const r = runSeed({ seed, lifecycle: true });
    expect(r.violations.map((v) => `${v.checker}: ${v.detail}`), `seed ${seed}`).toEqual([]);
    const l = r.stats.tasks?.lifecycle;
    expect(l?.deleted, `seed ${seed} deleted nothing`).toBeGreaterThan(0);
    expect(l?.slotsFired, `seed ${seed} fired no slot`).toBeGreaterThan(0);
    deleted += l?.deleted ?? 0;
  });
  it("the seeds together deleted more than 10 tasks each on average", () => {
    expect(deleted).toBeGreaterThan(SEEDS * 10);
  });
});

describe(`a broken lifecycle is caught within ${BROKEN_BUDGET} seeds`, () => {
  it("a replica that skips an id of a delete -> deletionDivergence", () => {
    expect(firstSeedReporting({ replicaSpecificDelete: true }, "deletionDivergence")?.detail).toMatch(/at index \d+ n\d deleted \[.*\] but n2 deleted \[.*\]/);
  });

  it("slots made idempotent by their task id only, no dedupe window -> scheduleSlotTwice", () => {
    expect(firstSeedReporting({ slotsByIdOnly: true }, "scheduleSlotTwice")?.detail).toMatch(/slot every1s:\d+ ran twice|created slot \d+ of every1s/);
  });

  it("missed slots replayed one by one instead of only the latest due -> scheduleSlotReplayed", () => {
    expect(firstSeedReporting({ replayMissedSlots: true }, "scheduleSlotReplayed")?.detail).toMatch(/applied slot \d+ of every1s at index \d+, proposed at \d+ ms: not the latest slot due then/);
  });

  it("a leader that leaves every third slot unfired -> scheduleSlotSkipped", () => {
    expect(firstSeedReporting({ skipSlots: true }, "scheduleSlotSkipped")?.detail).toMatch(/slot \d+ of every1s was neither proposed nor created, though n\d+\/\d+\/\d+ led and ran its duties every tick from \d+ to \d+ ms/);
  });

  it("the rule before: one fire in flight per schedule, a slow commit skips a slot under a leader -> scheduleSlotSkipped", () => {
    // Seed 19: a new leader's first fire took 1.24 s to commit (a crashed follower, one catching up), so the old rule
    // left the next slot unproposed for its whole window (seeds 195 and 196 too, of the first 300). The fixed rule
    // passes the same seed in the 20 seeds above.
    const v = runSeed({ seed: 19, lifecycle: true, brokenScheduler: { oneFireInFlight: true }, continueAfterViolation: true }).violations.find((x) => x.checker === "scheduleSlotSkipped");
    expect(v?.detail).toMatch(/slot 12000 of every1s was neither proposed nor created, though n5\/2\/10 led/);
  });

  it("snapshots that carry an older table -> deletedTaskReturned", () => {
    expect(firstSeedReporting({ staleSnapshotTable: true }, "deletedTaskReturned")?.detail).toMatch(/n\d deleted t\d+ at index \d+ .* has it again/);
  });
});

describe("the lifecycle checkers on made-up histories", () => {
  const base: SchedulerView = { seed: 0, tick: 9, nodes: [], acks: [], creations: [], assignments: [], finishes: [], releases: [], tableStates: [] };
  const tableWith = (ids: string[]) => ({ getTask: (id: string) => (ids.includes(id) ? { state: "completed" as const, attempt: 1 } : undefined) });
  const node = (ids: string[], applied: number) => ({ id: "n1", alive: true, role: "follower" as const, term: 1, log: [], durableLog: [], applied: new Array(applied), tasks: tableWith(ids) }) as unknown as SchedulerView["nodes"][number];

  it("deletedTaskReturned: fires for a deleted id back in the table, not after a new creation", () => {
    const deletions = [{ ids: ["a"], index: 5, node: "n1", tick: 1 }];
    expect(deletedTaskReturned({ ...base, nodes: [node(["a"], 8)], deletions })).toHaveLength(1);
    expect(deletedTaskReturned({ ...base, nodes: [node(["a"], 4)], deletions })).toHaveLength(0);
    expect(deletedTaskReturned({ ...base, nodes: [node(["a"], 8)], deletions, creations: [{ id: "a", index: 7, node: "n1", tick: 2 }] })).toHaveLength(0);
  });

  it("deletionDivergence and scheduleSlotTwice", () => {
    const d = (node: string, ids: string[]) => ({ ids, index: 5, node, tick: 1 });
    expect(deletionDivergence({ ...base, deletions: [d("n1", ["a", "b"]), d("n2", ["a", "b"])] })).toHaveLength(0);
    expect(deletionDivergence({ ...base, deletions: [d("n1", ["a", "b"]), d("n2", ["a"])] })).toHaveLength(1);
    const s = (node: string, slotMs: number, index: number) => ({ schedule: "s", slotMs, index, node, tick: 1 });
    expect(scheduleSlotTwice({ ...base, slots: [s("n1", 1000, 5), s("n2", 1000, 5), s("n1", 2000, 9)] })).toHaveLength(0);
    expect(scheduleSlotTwice({ ...base, slots: [s("n1", 1000, 5), s("n1", 1000, 9)] }).length).toBeGreaterThan(0);
    expect(scheduleSlotTwice({ ...base, slots: [s("n1", 2000, 5), s("n1", 1000, 9)] })).toHaveLength(1);
    const fired = (slotMs: number, firedAtMs: number) => ({ ...s("n1", slotMs, 5), firedAtMs, nextSlotMs: slotMs + 1000 });
    expect(scheduleSlotReplayed({ ...base, slots: [fired(1000, 1000), fired(2000, 2999), s("n1", 3000, 7)] })).toHaveLength(0);
    expect(scheduleSlotReplayed({ ...base, slots: [fired(1000, 2000)] })).toHaveLength(1);
    expect(scheduleSlotReplayed({ ...base, slots: [fired(3000, 2500)] })).toHaveLength(1);
  });

  it("scheduleSlotSkipped: fires for a slot owed by a leader that was never created, not for one created anywhere", () => {
    const due = { schedule: "s", slotMs: 2000, leader: "n1/0/3", fromMs: 900, checkedAtMs: 3500, proposed: false };
    expect(scheduleSlotSkipped({ ...base, slotsDue: [due] })).toHaveLength(1);
    expect(scheduleSlotSkipped({ ...base, slotsDue: [{ ...due, proposed: true }] })).toHaveLength(0);
    expect(scheduleSlotSkipped({ ...base, slotsDue: [due], slots: [{ schedule: "s", slotMs: 2000, index: 9, node: "n2", tick: 210 }] })).toHaveLength(0);
    expect(scheduleSlotSkipped({ ...base, slotsDue: [due], slots: [{ schedule: "s", slotMs: 3000, index: 9, node: "n1", tick: 310 }] })).toHaveLength(1);
  });
});
