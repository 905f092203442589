// Issue 13: delete, retry, the dedupe window, retention's choice and schedules, on the table alone.
import { describe, expect, it } from "vitest";
import { decodeCommand, encodeCommand } from "../../../src/scheduler/commands.js";
import { TaskTable } from "../../../src/scheduler/table.js";
import { planRetention, RETENTION_DEFAULTS } from "../../../src/scheduler/task-retention.js";
import type { ScheduleRecord } from "../../../src/scheduler/types.js";
import { Log } from "./helpers.js";

/** a: completed at nowMs, b: dead, c: cancelled, d: pending, e: assigned. */
function mixed(nowMs = 5000): Log {
  const log = new Log();
  log.up("w1");
  for (const id of ["a", "b", "c", "d", "e"]) log.submit(id, { maxAttempts: 1 });
  log.assign("a", "w1", 1);
  log.run({ type: "complete", id: "a", attempt: 1, result: 1, nowMs });
  log.assign("b", "w1", 1);
  log.run({ type: "fail", id: "b", attempt: 1, retryAtMs: 0, nowMs });
  log.run({ type: "cancel", id: "c", nowMs });
  log.assign("e", "w1", 1);
  return log;
}

const schedule = (over: Partial<ScheduleRecord> = {}): ScheduleRecord => ({
  id: "s1",
  everyMs: 60_000,
  cron: null,
  task: { payload: { job: 1 }, priority: 0, maxAttempts: 3 },
  createdAtMs: 1_000_000,
  lastSlotMs: 1_000_000,
  ...over,
});

describe("delete", () => {
  it("removes terminal tasks and skips live and unknown ones, the same on a restored replica", () => {
    const log = mixed();
    const r = log.run({ type: "delete", ids: ["a", "b", "c", "d", "e", "zz"] });
    expect(r).toEqual({ ok: true, deleted: ["a", "b", "c"] });
    expect(log.table.getTask("a")).toBeUndefined();
    expect(log.table.counts()).toMatchObject({ completed: 0, dead: 0, cancelled: 0, pending: 1, assigned: 1, total: 2 });
    const copy = TaskTable.restore(log.table.snapshot());
    expect(copy.snapshot()).toEqual(log.table.snapshot());
    expect(copy.listTasks({}).tasks.map((t) => t.id)).toEqual(["d", "e"]);
  });

  it("without dedupeKeep a deleted id can be submitted again as a new task", () => {
    const log = mixed();
    log.run({ type: "delete", ids: ["a"] });
    expect(log.submit("a")).toMatchObject({ ok: true, created: true, task: { state: "pending", attempt: 0 } });
  });

  it("with dedupeKeep a resubmit of a remembered id answers as a duplicate and creates nothing, also after a restore", () => {
    const log = mixed();
    log.run({ type: "delete", ids: ["a", "b"], dedupeKeep: 10 });
    expect(log.submit("a")).toEqual({ ok: true, created: false, deleted: ["a"] });
    expect(log.table.getTask("a")).toBeUndefined();
    const copy = new Log(TaskTable.restore(log.table.snapshot()));
    copy.index = log.index;
    expect(copy.submit("b")).toEqual({ ok: true, created: false, deleted: ["b"] });
  });

  it("the window keeps only the newest dedupeKeep ids", () => {
    const log = mixed();
    log.run({ type: "delete", ids: ["a", "b"], dedupeKeep: 2 });
    log.run({ type: "delete", ids: ["c"], dedupeKeep: 2 });
    expect(log.submit("a")).toMatchObject({ created: true }); // dropped from the window
    expect(log.submit("b")).toMatchObject({ created: false, deleted: ["b"] });
    expect(log.submit("c")).toMatchObject({ created: false, deleted: ["c"] });
  });

  it("decodes an old cancel entry (no nowMs) and applies it the same: no finish time", () => {
    const old = decodeCommand(encodeCommand({ type: "cancel", id: "d" }));
    expect(old).toEqual({ ok: true, command: { type: "cancel", id: "d" } });
    expect(() => encodeCommand({ type: "delete", ids: [] })).toThrow(/ids must be/);
  });
});

describe("retry", () => {
  it("sends a dead or cancelled task back to pending with its attempt kept", () => {
    const log = mixed();
    expect(log.run({ type: "retry", id: "b" })).toMatchObject({ ok: true, task: { id: "b", state: "pending", attempt: 1, worker: null } });
    expect(log.run({ type: "retry", id: "c" })).toMatchObject({ ok: true, task: { state: "pending", attempt: 0 } });
    // The next assignment is attempt + 1: the earlier attempt stays fenced.
    expect(log.assign("b", "w1", 2)).toMatchObject({ ok: true, assigned: [{ taskId: "b", attempt: 2 }] });
  });

  it("refuses a pending, assigned or completed task with its state, and an unknown one", () => {
    const log = mixed();
    for (const id of ["a", "d", "e"]) expect(log.run({ type: "retry", id })).toMatchObject({ ok: false, code: "INVALID_STATE" });
    expect(log.run({ type: "retry", id: "nope" })).toMatchObject({ ok: false, code: "NOT_FOUND" });
  });
});

describe("retention's choice (planRetention)", () => {
  const policy = { ...RETENTION_DEFAULTS, completedMs: 1000, deadMs: 5000, cancelledMs: 3000, maxTerminal: 100 };

  it("picks each state by its own age, counted from the finish time", () => {
    const log = mixed(5000);
    expect(planRetention(log.table.taskIndexes, policy, 5999)).toEqual([]);
    expect(planRetention(log.table.taskIndexes, policy, 6000)).toEqual(["a"]);
    expect(planRetention(log.table.taskIndexes, policy, 8000)).toEqual(["a", "c"]);
    expect(planRetention(log.table.taskIndexes, policy, 10_000).sort()).toEqual(["a", "b", "c"]);
  });

  it("beyond maxTerminal takes the oldest finished first, whatever their age, and at most maxIds", () => {
    const log = mixed(5000);
    expect(planRetention(log.table.taskIndexes, { ...policy, maxTerminal: 1 }, 0)).toEqual(["a", "b"]);
    expect(planRetention(log.table.taskIndexes, { ...policy, maxTerminal: 0 }, 0, 2)).toEqual(["a", "b"]);
  });

  it("a retried task leaves the terminal index; a restored table has the same one", () => {
    const log = mixed(5000);
    log.run({ type: "retry", id: "b" });
    expect(planRetention(log.table.taskIndexes, policy, 1e9).sort()).toEqual(["a", "c"]);
    const copy = TaskTable.restore(log.table.snapshot());
    expect(planRetention(copy.taskIndexes, { ...policy, maxTerminal: 1 }, 0)).toEqual(["a"]);
  });
});

describe("schedules", () => {
  it("add, fire each slot once (a repeat or older slot is skipped), remove; all in snapshots", () => {
    const log = new Log();
    expect(log.run({ type: "scheduleAdd", schedule: schedule() })).toMatchObject({ ok: true, created: true });
    expect(log.run({ type: "scheduleAdd", schedule: schedule({ everyMs: 5000 }) })).toMatchObject({ ok: true, created: false, schedule: { everyMs: 60_000 } });
    expect(log.run({ type: "scheduleFire", id: "s1", slotMs: 1_020_000, nowMs: 1_020_001 })).toMatchObject({ ok: true, created: true, task: { id: "s1:1020000", payload: { job: 1 } } });
    expect(log.run({ type: "scheduleFire", id: "s1", slotMs: 1_020_000, nowMs: 1_020_050 })).toEqual({ ok: true, created: false });
    expect(log.run({ type: "scheduleFire", id: "s1", slotMs: 960_000, nowMs: 1_020_050 })).toEqual({ ok: true, created: false });
    // The slot's task deleted by retention does not come back when the slot is proposed again.
    log.run({ type: "cancel", id: "s1:1020000" });
    log.run({ type: "delete", ids: ["s1:1020000"] });
    expect(log.run({ type: "scheduleFire", id: "s1", slotMs: 1_020_000, nowMs: 1_030_000 })).toEqual({ ok: true, created: false });
    expect(log.table.getTask("s1:1020000")).toBeUndefined();
    const copy = TaskTable.restore(log.table.snapshot());
    expect(copy.schedules()).toEqual([schedule({ lastSlotMs: 1_020_000 })]);
    expect(copy.snapshot()).toEqual(log.table.snapshot());
    expect(log.run({ type: "scheduleRemove", id: "s1" })).toMatchObject({ ok: true });
    expect(log.table.schedules()).toEqual([]);
    expect(log.run({ type: "scheduleFire", id: "s1", slotMs: 1_080_000, nowMs: 1 })).toMatchObject({ ok: false, code: "NOT_FOUND" });
  });

  it("refuses an invalid schedule in the command codec (never fires, both kinds, bad everyMs)", () => {
    expect(() => encodeCommand({ type: "scheduleAdd", schedule: schedule({ everyMs: null, cron: "0 0 30 2 *" }) })).toThrow(/never fires/);
    expect(() => encodeCommand({ type: "scheduleAdd", schedule: schedule({ cron: "* * * * *" }) })).toThrow(/exactly one/);
    expect(() => encodeCommand({ type: "scheduleAdd", schedule: schedule({ everyMs: 10 }) })).toThrow(/everyMs/);
  });

  it("a slot's task takes the template's requires, timeoutMs, priority and maxAttempts, as a submit would give them", () => {
    const log = new Log();
    const task = { payload: { job: 2 }, priority: 4, maxAttempts: 9, requires: ["gpu"], timeoutMs: 1500 };
    expect(log.run({ type: "scheduleAdd", schedule: schedule({ task }) })).toMatchObject({ ok: true, created: true, schedule: { task } });
    const fired = log.run({ type: "scheduleFire", id: "s1", slotMs: 1_020_000, nowMs: 1_020_001 });
    expect(fired).toMatchObject({ ok: true, created: true, task: { id: "s1:1020000", priority: 4, maxAttempts: 9, requires: ["gpu"], timeoutMs: 1500, runAt: null } });
    log.run({ type: "submit", id: "same", payload: { job: 2 }, priority: 4, maxAttempts: 9, requires: ["gpu"], timeoutMs: 1500, nowMs: 1 });
    const { id: _a, createdIndex: _b, updatedIndex: _c, ...fromSubmit } = log.table.getTask("same")!;
    const { id: _d, createdIndex: _e, updatedIndex: _f, ...fromSlot } = log.table.getTask("s1:1020000")!;
    expect(fromSlot).toEqual(fromSubmit);
    // Table and snapshot carry the template and the slot's task fields; the command codec keeps them.
    const copy = TaskTable.restore(log.table.snapshot());
    expect(copy.schedules()[0]!.task).toEqual(task);
    expect(copy.getTask("s1:1020000")).toMatchObject({ requires: ["gpu"], timeoutMs: 1500 });
    expect(copy.snapshot()).toEqual(log.table.snapshot());
    const decoded = decodeCommand(encodeCommand({ type: "scheduleAdd", schedule: schedule({ task }) }));
    expect(decoded.ok && decoded.command.type === "scheduleAdd" && decoded.command.schedule.task).toEqual(task);
  });

  it("a schedule written before the template fields existed keeps its bytes and decodes unchanged; bad fields are refused", () => {
    const old = new Log();
    old.run({ type: "scheduleAdd", schedule: schedule() });
    const bytes = old.table.snapshot();
    const copy = TaskTable.restore(bytes);
    expect(copy.schedules()[0]!.task).toEqual({ payload: { job: 1 }, priority: 0, maxAttempts: 3 });
    expect("requires" in copy.schedules()[0]!.task).toBe(false);
    expect(Buffer.from(copy.snapshot())).toEqual(Buffer.from(bytes));
    expect(() => encodeCommand({ type: "scheduleAdd", schedule: schedule({ task: { payload: 1, priority: 0, maxAttempts: 3, timeoutMs: 0 } }) })).toThrow(/task\.timeoutMs/);
    expect(() => encodeCommand({ type: "scheduleAdd", schedule: schedule({ task: { payload: 1, priority: 0, maxAttempts: 3, requires: ["a b"] } }) })).toThrow(/task\.requires/);
  });
});
