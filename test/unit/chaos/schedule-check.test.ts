// The chaos run's schedule check (src/chaos/schedule-check.ts, issue 13): a run where every slot ran once, on time,
// passes; broken runs — a slot created twice, a slot created before its time, a slot skipped while one leader held
// on with no fault, missed slots replayed after the planned downtime, a task for a time that is no slot — make it
// fire. A skip during a leader change, a fault on the leader or the downtime is excused.
import { describe, expect, it } from "vitest";
import { checkSchedules, scheduleViolations, type ScheduleInputs } from "../../../src/chaos/schedule-check.js";
import type { ReceivedEvent } from "../../../src/chaos/delayed-tasks.js";
import { faultsOnWallClock } from "../../../src/chaos/chaos-schedules.js";

const T0 = 1_800_000_000_000; // a multiple of 1000
const every = { id: "s", everyMs: 1000, cron: null, createdAtMs: T0 + 1, lastSlotMs: T0 + 10_000 } as const;
const slotsRun = (from: number, to: number, skip: readonly number[] = []): number[] => {
  const out: number[] = [];
  for (let k = from; k <= to; k++) if (!skip.includes(k)) out.push(T0 + k * 1000);
  return out;
};

/** A run of schedule `every` from slot 1 to 10: each slot's task created 20 ms after its time and completed. */
function run(slots: readonly number[], extra: Partial<ScheduleInputs> = {}): ScheduleInputs {
  const watched: ReceivedEvent[] = [];
  let index = 100;
  for (const slot of slots) {
    watched.push({ index: index++, id: `s:${slot}`, state: "pending", attempt: 0, receivedAtWallMs: slot + 20 });
    watched.push({ index: index++, id: `s:${slot}`, state: "completed", attempt: 1, receivedAtWallMs: slot + 60 });
  }
  return {
    schedules: [every],
    listedIds: slots.map((k) => `s:${k}`),
    watched,
    leadership: [{ atMs: T0 - 5000, node: "n1", change: "became leader" }],
    faults: [],
    downtime: null,
    ...extra,
  };
}

describe("chaos: schedule check", () => {
  it("every slot run once on time passes", () => {
    const f = checkSchedules(run(slotsRun(1, 10)));
    expect(scheduleViolations(f)).toEqual([]);
    expect(f).toMatchObject({ schedules: 1, slotsFired: 10, slotsMissedExcused: 0 });
  });

  it("a cron schedule's slots come from the production parser (every minute)", () => {
    const first = T0; // a minute boundary
    const cron = { id: "c", everyMs: null, cron: "* * * * *", createdAtMs: T0 - 1, lastSlotMs: first + 60_000 };
    const f = checkSchedules({ ...run([]), schedules: [cron], listedIds: [`c:${first}`, `c:${first + 60_000}`] });
    expect(scheduleViolations(f)).toEqual([]);
    expect(f.slotsFired).toBe(2);
  });

  it("BROKEN RUN: a slot whose task is created at two log indexes (it ran twice) fires", () => {
    const input = run(slotsRun(1, 10));
    const again: ReceivedEvent = { index: 999, id: `s:${T0 + 3000}`, state: "pending", attempt: 0, receivedAtWallMs: T0 + 9000 };
    const f = checkSchedules({ ...input, watched: [...input.watched, again] });
    expect(f.createdTwice).toEqual([`s:${T0 + 3000}`]);
    expect(scheduleViolations(f).join()).toMatch(/created twice/);
  });

  it("BROKEN RUN: a slot created before its time fires, as does a task for a time that is not a slot", () => {
    const input = run(slotsRun(1, 10));
    const early = input.watched.map((e) => (e.id === `s:${T0 + 5000}` && e.state === "pending" ? { ...e, receivedAtWallMs: T0 + 4990 } : e));
    expect(checkSchedules({ ...input, watched: early }).early).toHaveLength(1);
    const odd = checkSchedules({ ...input, listedIds: [...input.listedIds, `s:${T0 + 5500}`] });
    expect(odd.notASlot).toEqual([`s:${T0 + 5500}`]);
  });

  it("BROKEN RUN: a slot skipped while one leader held on with no fault fires", () => {
    const f = checkSchedules(run(slotsRun(1, 10, [6])));
    expect(f.skippedWithLeader).toEqual([{ schedule: "s", slotMs: T0 + 6000 }]);
    expect(scheduleViolations(f).join()).toMatch(/1 schedule slots skipped while a leader was available/);
  });

  it("a skip is excused by a leader change, a fault on the leader, a partition, or before any leader", () => {
    const skipped = slotsRun(1, 10, [6]);
    const change = [{ atMs: T0 - 5000, node: "n1", change: "became leader" as const }, { atMs: T0 + 6300, node: "n2", change: "became leader" as const }];
    expect(scheduleViolations(checkSchedules(run(skipped, { leadership: change })))).toEqual([]);
    const killLeader = [{ kind: "kill-leader", targets: ["n1"], fromMs: T0 + 5800, toMs: T0 + 7500 }];
    expect(checkSchedules(run(skipped, { faults: killLeader })).slotsMissedExcused).toBe(1);
    const partition = [{ kind: "partition", targets: ["n3"], fromMs: T0 + 4000, toMs: T0 + 5500 }];
    expect(scheduleViolations(checkSchedules(run(skipped, { faults: partition })))).toEqual([]);
    // A follower killed does not take the leader's quorum (3 nodes): no excuse.
    const killFollower = [{ kind: "kill-random", targets: ["n3"], fromMs: T0 + 5800, toMs: T0 + 7500 }];
    expect(checkSchedules(run(skipped, { faults: killFollower })).skippedWithLeader).toHaveLength(1);
    expect(scheduleViolations(checkSchedules(run(skipped, { leadership: [] })))).toEqual([]);
  });

  it("a leader killed and restarted before the window leads no more: a skip until the next election is excused", () => {
    // n1 killed at slot 3, back (a follower) at slot 4.3; n2 elected only at slot 7.6 (a slow election under load).
    const skipped = slotsRun(1, 10, [5, 6, 7]);
    const leadership = [{ atMs: T0 - 5000, node: "n1", change: "became leader" as const }, { atMs: T0 + 7600, node: "n2", change: "became leader" as const }];
    const killed = [{ kind: "kill-leader", targets: ["n1"], fromMs: T0 + 3000, toMs: T0 + 4300 }];
    expect(scheduleViolations(checkSchedules(run(skipped, { leadership, faults: killed })))).toEqual([]);
    // The same skips with n1 paused (its process lives on, and it leads again after) are excused only while paused.
    const paused = [{ kind: "pause", targets: ["n1"], fromMs: T0 + 3000, toMs: T0 + 4300 }];
    const f = checkSchedules(run(skipped, { leadership: leadership.slice(0, 1), faults: paused }));
    expect(f.skippedWithLeader.map((x) => x.slotMs)).toEqual([T0 + 6000, T0 + 7000]);
  });

  it("a fault that took the leader away lasts, on the wall clock, to the first write acknowledged after it", () => {
    const base = { kind: "kill-leader" as const, targets: ["n1"], detail: "", leaderAtStart: "n1" };
    const [f] = faultsOnWallClock([{ ...base, startMs: 1000, endMs: 2000, leaderLost: true, unavailabilityMs: 6500 }], T0);
    expect(f).toMatchObject({ fromMs: T0 + 1000, toMs: T0 + 7500 });
    const [g] = faultsOnWallClock([{ ...base, kind: "pause", startMs: 1000, endMs: 2000, leaderLost: false, unavailabilityMs: null }], T0);
    expect(g).toMatchObject({ fromMs: T0 + 1000, toMs: T0 + 2000 });
  });

  it("the planned downtime: its slots missed and the one due at its end run passes; BROKEN RUN: missed slots replayed fire", () => {
    const downtime = { fromMs: T0 + 3200, toMs: T0 + 7700 };
    // Slots 4..6 have their whole window inside (slot 7's holds the end): only from 7 on do they run again.
    const policy = checkSchedules(run(slotsRun(1, 10, [4, 5, 6]), { downtime }));
    expect(scheduleViolations(policy)).toEqual([]);
    expect(policy.downtimeSlots).toBe(3);
    expect(policy.slotsMissedExcused).toBe(3);
    const replay = checkSchedules(run(slotsRun(1, 10), { downtime }));
    expect(replay.replayed).toEqual([{ schedule: "s", slots: [T0 + 4000, T0 + 5000, T0 + 6000] }]);
    expect(scheduleViolations(replay).join()).toMatch(/replayed after it/);
  });
});
