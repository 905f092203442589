// The table's commands of issue 13 that are not about running work: delete (DELETE /v1/tasks/:id and retention),
// retry, and the recurring schedules. Each is a function of the command and the table alone, as apply() must be.
//
// The dedupe window: once a task is deleted its id is free, and a submit of it would create a new task. A delete
// command may ask to remember the ids it deleted (retention does, with the cluster's retention.dedupeIds): a
// submit of a remembered id then answers as a duplicate (`deleted`), never creating it again. The window keeps ids
// only, oldest first, and at most dedupeKeep of them, so it stays bounded.
import type { DeleteCommand, RetryCommand, ScheduleAddCommand, ScheduleFireCommand, ScheduleRemoveCommand } from "./commands.js";
import type { TableExtras, TaskExtras } from "./record-extras.js";
import type { TaskRecord } from "./records.js";
import { canonicalSchedule, MAX_SCHEDULES, slotTaskExtras, slotTaskId, type ScheduleRecord } from "./schedule-record.js";
import { isTerminal, type TaskIndexes } from "./task-indexes.js";
import { newPendingRecord, notFound, toTask } from "./task-object.js";
import type { ApplyResult } from "./types.js";

/** The dedupe window of deleted ids with a set for lookups; the array is replaced, never mutated (a snapshot in
 *  flight holds the one it captured). */
export class DeletedIdWindow {
  private idsOldestFirst: readonly string[];
  private readonly set: Set<string>;

  constructor(ids: readonly string[] = []) {
    this.idsOldestFirst = ids;
    this.set = new Set(ids);
  }

  has(id: string): boolean {
    return this.set.has(id);
  }

  get ids(): readonly string[] {
    return this.idsOldestFirst;
  }

  /** Adds `ids` and drops the oldest beyond `keep`. */
  remember(ids: readonly string[], keep: number): void {
    const fresh = ids.filter((id) => !this.set.has(id));
    for (const id of fresh) this.set.add(id);
    const all = [...this.idsOldestFirst, ...fresh];
    const dropped = Math.max(0, all.length - keep);
    for (let i = 0; i < dropped; i++) this.set.delete(all[i]!);
    this.idsOldestFirst = all.slice(dropped);
  }
}

/** delete: removes every listed task that is terminal when applied; the others are skipped (the same on every
 *  replica). Answers the ids deleted, in command order. */
export function applyDelete(indexes: TaskIndexes, window: DeletedIdWindow, command: DeleteCommand): ApplyResult {
  const deleted: string[] = [];
  for (const id of command.ids) {
    const task = indexes.get(id);
    if (task === undefined || !isTerminal(task.state)) continue;
    indexes.remove(task);
    deleted.push(id);
  }
  if (command.dedupeKeep !== undefined && deleted.length > 0) window.remember(deleted, command.dedupeKeep);
  return { ok: true, deleted };
}

/** retry: a dead or cancelled task goes back to pending at once, its attempt count kept (the next assignment is
 *  attempt + 1, so a late answer of an earlier attempt stays fenced). */
export function applyRetry(indexes: TaskIndexes, index: number, command: RetryCommand): ApplyResult {
  const task = indexes.get(command.id);
  if (task === undefined) return notFound(command.id);
  if (task.state !== "dead" && task.state !== "cancelled") {
    return { ok: false, code: "INVALID_STATE", message: `task ${task.id} is ${task.state}; only a dead or cancelled task can be retried`, task: toTask(task) };
  }
  const next = indexes.move(task, "pending", null, index, { retryAtMs: 0, extras: withoutFinish(task.extras) });
  return { ok: true, task: toTask(next) };
}

/** The extras of a task that just became terminal at leader time `nowMs` (absent in older entries). */
export function finishedExtras(task: TaskRecord, nowMs: number | undefined): TaskExtras | undefined {
  if (nowMs === undefined) return task.extras;
  return { ...task.extras, finishedAtMs: nowMs };
}

function withoutFinish(extras: TaskExtras | undefined): TaskExtras | undefined {
  if (extras?.finishedAtMs === undefined) return extras;
  const { finishedAtMs: _f, ...rest } = extras;
  return Object.keys(rest).length === 0 ? undefined : rest;
}

export function schedulesOf(extras: TableExtras | undefined): readonly ScheduleRecord[] {
  return extras?.schedules ?? [];
}

/** scheduleAdd: a new schedule, or the same id again (answered with the existing one, unchanged). */
export function applyScheduleAdd(extras: TableExtras | undefined, command: ScheduleAddCommand): { result: ApplyResult; extras: TableExtras | undefined } {
  const schedules = schedulesOf(extras);
  const existing = schedules.find((s) => s.id === command.schedule.id);
  if (existing !== undefined) return { result: { ok: true, schedule: existing, created: false }, extras };
  if (schedules.length >= MAX_SCHEDULES) {
    return { result: { ok: false, code: "INVALID_STATE", message: `at most ${MAX_SCHEDULES} schedules` }, extras };
  }
  const added = canonicalSchedule(command.schedule);
  const next = [...schedules, added].sort((a, b) => (a.id < b.id ? -1 : a.id > b.id ? 1 : 0));
  return { result: { ok: true, schedule: added, created: true }, extras: { ...extras, schedules: next } };
}

export function applyScheduleRemove(extras: TableExtras | undefined, command: ScheduleRemoveCommand): { result: ApplyResult; extras: TableExtras | undefined } {
  const schedules = schedulesOf(extras);
  const existing = schedules.find((s) => s.id === command.id);
  if (existing === undefined) return { result: { ok: false, code: "NOT_FOUND", message: `no schedule ${command.id}` }, extras };
  const rest = schedules.filter((s) => s.id !== command.id);
  return { result: { ok: true, schedule: existing }, extras: { ...extras, schedules: rest.length > 0 ? rest : undefined } };
}

/** scheduleFire: the slot's task, created once. A slot at or before the last fired is skipped, so a leader that
 *  proposes a slot twice (a retry across a leader change) creates one task: exactly once per slot. */
export function applyScheduleFire(
  indexes: TaskIndexes,
  extras: TableExtras | undefined,
  index: number,
  command: ScheduleFireCommand,
): { result: ApplyResult; extras: TableExtras | undefined } {
  const schedules = schedulesOf(extras);
  const at = schedules.findIndex((s) => s.id === command.id);
  if (at < 0) return { result: { ok: false, code: "NOT_FOUND", message: `no schedule ${command.id}` }, extras };
  const schedule = schedules[at]!;
  if (command.slotMs <= schedule.lastSlotMs) return { result: { ok: true, created: false }, extras };
  const id = slotTaskId(schedule.id, command.slotMs);
  let created = false;
  if (indexes.get(id) === undefined) {
    indexes.insertNew(newPendingRecord(id, schedule.task, index, command.nowMs, slotTaskExtras(schedule.task)));
    created = true;
  }
  const next = schedules.slice();
  next[at] = { ...schedule, lastSlotMs: command.slotMs };
  const task = indexes.get(id);
  return { result: { ok: true, created, ...(task ? { task: toTask(task) } : {}) }, extras: { ...extras, schedules: next } };
}
