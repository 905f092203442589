// The replicated task table: the scheduler's state machine. Every replica applies the same committed commands in
// the same order and so holds the same table; apply() reads nothing but the command and the table (no clock, no
// randomness, no iteration over hash order that could leak into a result or a snapshot).
//
// The indexes (task-indexes.ts) keep every task findable by id, state, worker and queue order; a task changes only
// through TaskIndexes.move(), which keeps every index in step.
//
// Task records are immutable: every change builds a new record and puts it in place of the old one. With the
// SortedLists' copy-on-write freeze(), beginSnapshot() captures the whole table in O(blocks) time, and the
// snapshot is serialized in slices (snapshotAsync) while apply() goes on.

import type {
  AssignCommand,
  CancelCommand,
  Command,
  CompleteCommand,
  DeleteCommand,
  FailCommand,
  SubmitCommand,
  WorkerDeadCommand,
  WorkerRemovedCommand,
  WorkerUpCommand,
} from "./commands.js";
import { decodeCommand } from "./commands.js";
import type { WorkerRecord } from "./records.js";
import type { TableExtras } from "./record-extras.js";
import { encodeInSlices, SnapshotEncoder, type SnapshotView } from "./snapshot.js";
import { TableRestorer } from "./table-restore-slices.js";
import { TableError } from "./errors.js";
import { compareStrings } from "./sorted-list.js";
import { ownedString } from "./owned-string.js";
import { DEFAULT_LIST_LIMIT, listTaskPage, pendingQueueOf, type ListOptions, type TaskPage } from "./task-listing.js";
import { TaskIndexes, type PendingEntry, type TaskCounts } from "./task-indexes.js";
import { newPendingRecord, notFound, staleAttempt, toTask } from "./task-object.js";
import { applyDelete, applyRetry, applyScheduleAdd, applyScheduleFire, applyScheduleRemove, DeletedIdWindow, finishedExtras, schedulesOf } from "./task-lifecycle.js";
import type { ScheduleRecord } from "./schedule-record.js";
import { submitExtras, waitingReason } from "./task-fields.js";
import { workerInfo, workerUpExtras } from "./worker-info.js";
import { advanceWeightsOf, liveSlotsOf, weightParticipantsOf, type WorkerSlot } from "./worker-slots.js";
import type { AppliedAssignment, ApplyResult, Task, TaskState, WorkerInfo } from "./types.js";

export { TableError } from "./errors.js";
export type { TaskRecord, WorkerRecord } from "./records.js";
export { byQueueOrder, type PendingEntry, type TaskCounts } from "./task-indexes.js";
export { DEFAULT_LIST_LIMIT, MAX_LIST_LIMIT, type ListOptions, type TaskPage } from "./task-listing.js";

export interface SnapshotAsyncOptions {
  /** Work at most about this long before yielding to the event loop (default 8 ms). */
  readonly sliceMs?: number;
}

export const DEFAULT_SNAPSHOT_SLICE_MS = 8;


export class TaskTable {
  private indexes = new TaskIndexes();
  private readonly workerRecords = new Map<string, WorkerRecord>();
  /** workerRecords' ids in id order, kept until a worker is added or removed: placement reads them on every round
   *  and apply on every assign command, and sorting 200 external workers' ids each time was a top cost. */
  private sortedIds: readonly string[] | null = null;
  private cursor: string | null = null;
  private appliedIndex = 0;
  /** Table-wide state added after snapshot format 2 (record-extras.ts). Replaced, never mutated in place: a
   *  snapshot in flight holds the object it captured. */
  private extras: TableExtras | undefined = undefined;
  /** The dedupe window of deleted ids (task-lifecycle.ts); mirrored into extras.deletedIds. */
  private deletedIds = new DeletedIdWindow();

  /** Applies one committed command. `index` is the entry's log index: strictly increasing across calls. */
  apply(index: number, command: Command): ApplyResult {
    if (!Number.isSafeInteger(index) || index <= this.appliedIndex) {
      // Applying out of order would fork this replica from the others: stop rather than corrupt.
      throw new TableError("APPLY_ORDER", `apply(${index}) after index ${this.appliedIndex}`);
    }
    this.appliedIndex = index;
    switch (command.type) {
      case "submit":
        return this.submit(index, command);
      case "assign":
        return this.assign(index, command);
      case "complete":
        return this.complete(index, command);
      case "fail":
        return this.fail(index, command);
      case "cancel":
        return this.cancel(index, command);
      case "workerUp":
        return this.workerUp(command);
      case "workerDead":
        return this.workerDead(index, command);
      case "workerRemoved":
        return this.workerRemoved(index, command);
      case "delete":
        return this.deleteTasks(command);
      case "retry":
        return applyRetry(this.indexes, index, command);
      case "scheduleAdd":
        return this.withExtras(applyScheduleAdd(this.extras, command));
      case "scheduleRemove":
        return this.withExtras(applyScheduleRemove(this.extras, command));
      case "scheduleFire":
        return this.withExtras(applyScheduleFire(this.indexes, this.extras, index, command));
    }
  }

  /** Decodes and applies an entry's data. Undecodable data is applied as a no-op returning BAD_COMMAND (the
   *  same on every replica), so a bad entry can never wedge or fork the state machine. */
  applyEntry(index: number, data: Uint8Array): ApplyResult {
    const decoded = decodeCommand(data);
    if (!decoded.ok) {
      if (!Number.isSafeInteger(index) || index <= this.appliedIndex) {
        throw new TableError("APPLY_ORDER", `apply(${index}) after index ${this.appliedIndex}`);
      }
      this.appliedIndex = index;
      return decoded;
    }
    return this.apply(index, decoded.command);
  }

  /** The log index of the last command applied (0 when none). */
  get lastAppliedIndex(): number {
    return this.appliedIndex;
  }

  /** The last worker picked by round-robin, as committed. */
  get rrCursor(): string | null {
    return this.cursor;
  }

  /** Smooth weighted round-robin's current weights by worker id, as committed (a copy). */
  currentWeights(): Map<string, number> {
    const out = new Map<string, number>();
    for (const [id, w] of this.workerRecords) out.set(id, w.currentWeight);
    return out;
  }

  /** Recurring schedules, by id. */
  schedules(): readonly ScheduleRecord[] {
    return schedulesOf(this.extras);
  }

  /** The index read by retention (task-retention.ts): terminal tasks per state, oldest finished first. */
  get taskIndexes(): Pick<TaskIndexes, "finished"> {
    return this.indexes;
  }

  getTask(id: string): Task | undefined {
    const task = this.indexes.get(id);
    return task === undefined ? undefined : this.withWaiting(toTask(task));
  }

  /** A page of tasks in id order, optionally filtered by state and/or worker. Cost: O(log n + limit). */
  listTasks(options: ListOptions = {}): TaskPage {
    const page = listTaskPage(this.indexes, options);
    return { ...page, tasks: page.tasks.map((t) => this.withWaiting(t)) };
  }

  /** A pending task no live worker can take says why (`waiting`), computed from the workers now, never stored. */
  withWaiting(task: Task): Task {
    if (task.state !== "pending" || task.requires.length === 0) return task;
    const workers = [...this.workerRecords.values()].map((w) => ({ alive: w.alive, capacity: w.capacity, tags: w.extras?.tags }));
    const waiting = waitingReason(task.requires, workers);
    return waiting === null ? task : { ...task, waiting };
  }

  /** Pending tasks in assignment order (priority desc, then FIFO), for the planner. Do not apply while iterating. */
  pendingEntries(): IterableIterator<PendingEntry> {
    return this.indexes.pending.after();
  }

  /** The first `limit` tasks of the pending queue, in assignment order. */
  pendingQueue(limit = DEFAULT_LIST_LIMIT): Task[] {
    return pendingQueueOf(this.indexes, limit);
  }

  /** Every registered worker, in id order. */
  workers(): WorkerInfo[] {
    return this.workerIdsSorted().map((id) => {
      const w = this.workerRecords.get(id)!;
      return workerInfo(w, this.activeOf(id));
    });
  }

  getWorker(id: string): WorkerInfo | undefined {
    const w = this.workerRecords.get(id);
    if (w === undefined) return undefined;
    return workerInfo(w, this.activeOf(id));
  }

  /** The planner's view of the alive workers, in id order: fresh objects it may change, and no WorkerInfo rows
   *  (a placement round runs per report: 200 external workers made building the rows a top cost). */
  liveWorkerSlots(): WorkerSlot[] {
    return liveSlotsOf(this.workerIdsSorted(), this.workerRecords, (id) => this.activeOf(id));
  }

  /** Tasks currently assigned to `worker`. */
  activeOf(worker: string): number {
    return this.indexes.ofWorker(worker)?.assigned.size ?? 0;
  }

  /** Ids of the tasks assigned to `worker`, in id order (a node resuming its work, an aborting node). */
  assignedTaskIds(worker: string): string[] {
    const list = this.indexes.ofWorker(worker)?.assigned;
    return list === undefined ? [] : list.toArray().map((t) => t.id);
  }

  /** Workers that hold at least one assigned task, in id order (the failure detector's watch list). */
  workersWithUnfinishedTasks(): string[] {
    const out: string[] = [];
    for (const [worker, lists] of this.indexes.workerEntries()) if (lists.assigned.size > 0) out.push(worker);
    return out.sort(compareStrings);
  }

  counts(): TaskCounts {
    return this.indexes.counts();
  }

  /** The whole table as bytes: identical on every replica that applied the same commands (tasks by id, workers
   *  by id, fixed field order). Blocks the caller for the whole serialization; see snapshotAsync. */
  snapshot(): Uint8Array {
    const encoder = new SnapshotEncoder(this.beginSnapshot());
    if (!encoder.step(Number.POSITIVE_INFINITY)) throw new Error("snapshot: encoder stopped before its deadline");
    return encoder.result();
  }

  /** The table as of now, frozen: O(blocks + workers), whatever apply() does afterwards. */
  beginSnapshot(): SnapshotView {
    const workers = [...this.workerRecords.keys()]
      .sort(compareStrings)
      .map((id): WorkerRecord => ({ ...this.workerRecords.get(id)! }));
    const tasks = this.indexes.freeze();
    return { appliedIndex: this.appliedIndex, rrCursor: this.cursor, workers, extras: this.extras, tasks };
  }

  /** The same bytes snapshot() returns at the moment of this call (captured synchronously, before the first
   *  await), serialized in slices of about sliceMs that yield to the event loop between them, so heartbeats and
   *  requests go on and apply() may keep changing the table meanwhile. */
  async snapshotAsync(options: SnapshotAsyncOptions = {}): Promise<Uint8Array> {
    const sliceMs = options.sliceMs ?? DEFAULT_SNAPSHOT_SLICE_MS;
    return await encodeInSlices(new SnapshotEncoder(this.beginSnapshot()), { sliceMs, restMs: 0 });
  }

  /** Rebuilds a table from snapshot() bytes. Throws TableError BAD_SNAPSHOT on anything inconsistent. The same
   *  steps as restoreTableInSlices (table-restore-async.ts), run back to back. */
  static restore(bytes: Uint8Array): TaskTable {
    const restorer = new TableRestorer(bytes);
    while (!restorer.step(Number.POSITIVE_INFINITY));
    return TaskTable.fromRestorer(restorer);
  }

  /** The table a finished restorer built (table-restore-async.ts runs one in slices). */
  static fromRestorer(restorer: TableRestorer): TaskTable {
    const { head, indexes } = restorer.result();
    const table = new TaskTable();
    table.appliedIndex = head.appliedIndex;
    table.cursor = head.rrCursor;
    table.extras = head.extras;
    table.deletedIds = new DeletedIdWindow(head.extras?.deletedIds);
    for (const w of head.workers) table.workerRecords.set(w.id, w);
    table.indexes = indexes;
    return table;
  }

  private assign(index: number, command: AssignCommand): ApplyResult {
    const assigned: AppliedAssignment[] = [];
    // Who is alive and with what capacity cannot change within one assign command: the weights' participants once.
    const participants = weightParticipantsOf(this.workerIdsSorted(), this.workerRecords);
    for (const a of command.assignments) {
      const task = this.indexes.get(a.taskId);
      const worker = this.workerRecords.get(a.worker);
      // Entries that no longer apply (task cancelled or already assigned, worker gone or full) are skipped:
      // the decision is a function of the table alone, so every replica skips the same ones.
      if (task === undefined || task.state !== "pending" || a.attempt !== task.attempt + 1) continue;
      if (worker === undefined || !worker.alive || this.activeOf(a.worker) >= worker.capacity) continue;
      advanceWeightsOf(participants, a.worker);
      // The worker record's own id, not the command's copy (a slice of the assign entry's text: owned-string.ts).
      this.indexes.move(task, "assigned", worker.id, index, { attempt: a.attempt });
      assigned.push({ taskId: a.taskId, worker: a.worker, attempt: a.attempt });
    }
    if (command.rrCursor !== undefined) this.cursor = command.rrCursor;
    return { ok: true, assigned };
  }

  private complete(index: number, command: CompleteCommand): ApplyResult {
    const task = this.indexes.get(command.id);
    if (task === undefined) return notFound(command.id);
    // A repeated completion of the attempt that completed the task is answered, not refused.
    if (task.state === "completed" && task.attempt === command.attempt) return { ok: true, task: toTask(task) };
    const stale = staleAttempt(task, command.attempt);
    if (stale !== null) return stale;
    const completed = this.indexes.move(task, "completed", task.worker, index, { result: command.result, error: undefined, extras: finishedExtras(task, command.nowMs) });
    return { ok: true, task: toTask(completed) };
  }

  private fail(index: number, command: FailCommand): ApplyResult {
    const task = this.indexes.get(command.id);
    if (task === undefined) return notFound(command.id);
    if (task.state === "dead" && task.attempt === command.attempt) return { ok: true, task: toTask(task) };
    const stale = staleAttempt(task, command.attempt);
    if (stale !== null) return stale;
    const failed =
      task.attempt >= task.maxAttempts
        ? this.indexes.move(task, "dead", task.worker, index, { error: command.error, extras: finishedExtras(task, command.nowMs) })
        : this.indexes.move(task, "pending", null, index, { error: command.error, retryAtMs: command.retryAtMs });
    return { ok: true, task: toTask(failed) };
  }

  private cancel(index: number, command: CancelCommand): ApplyResult {
    const task = this.indexes.get(command.id);
    if (task === undefined) return notFound(command.id);
    const live = task.state === "pending" || task.state === "assigned";
    const now = live ? this.indexes.move(task, "cancelled", task.worker, index, { extras: finishedExtras(task, command.nowMs) }) : task;
    return { ok: true, task: toTask(now) };
  }

  private workerUp(command: WorkerUpCommand): ApplyResult {
    const worker = this.workerRecords.get(command.worker);
    const extras = workerUpExtras(worker?.extras, command);
    if (worker === undefined) {
      this.sortedIds = null;
      this.workerRecords.set(command.worker, {
        id: command.worker,
        alive: true,
        capacity: command.capacity,
        changedAtMs: command.nowMs,
        currentWeight: 0,
        ...(extras !== undefined ? { extras } : {}),
      });
    } else {
      worker.alive = true;
      worker.capacity = command.capacity;
      worker.changedAtMs = command.nowMs;
      worker.extras = extras; // replaced, never mutated: a snapshot in flight may hold the old object
    }
    return { ok: true };
  }

  private workerDead(index: number, command: WorkerDeadCommand): ApplyResult {
    const worker = this.workerRecords.get(command.worker);
    if (worker === undefined) return { ok: false, code: "NOT_FOUND", message: `no worker ${command.worker}` };
    worker.alive = false;
    worker.changedAtMs = command.nowMs;
    return { ok: true, requeued: this.requeueAssigned(command.worker, index) };
  }

  private workerRemoved(index: number, command: WorkerRemovedCommand): ApplyResult {
    if (!this.workerRecords.has(command.worker)) {
      return { ok: false, code: "NOT_FOUND", message: `no worker ${command.worker}` };
    }
    const requeued = this.requeueAssigned(command.worker, index);
    this.workerRecords.delete(command.worker);
    this.sortedIds = null;
    return { ok: true, requeued };
  }

  private submit(index: number, command: SubmitCommand): ApplyResult {
    const existing = this.indexes.get(command.id);
    if (existing !== undefined) return { ok: true, task: toTask(existing), created: false };
    if (this.deletedIds.has(command.id)) return { ok: true, created: false, deleted: [command.id] };
    // The id is not a slice pinning the entry's text for the task's life.
    const task = newPendingRecord(ownedString(command.id), command, index, command.nowMs, submitExtras(command));
    this.indexes.insertNew(task);
    return { ok: true, task: this.withWaiting(toTask(task)), created: true };
  }

  private deleteTasks(command: DeleteCommand): ApplyResult {
    const result = applyDelete(this.indexes, this.deletedIds, command);
    const ids = this.deletedIds.ids;
    if (command.dedupeKeep !== undefined) this.extras = { ...this.extras, deletedIds: ids.length > 0 ? ids : undefined };
    return result;
  }

  private withExtras(changed: { result: ApplyResult; extras: TableExtras | undefined }): ApplyResult {
    this.extras = changed.extras;
    return changed.result;
  }

  private workerIdsSorted(): readonly string[] {
    this.sortedIds ??= [...this.workerRecords.keys()].sort(compareStrings);
    return this.sortedIds;
  }

  /** Sends every task assigned to `worker` back to pending, attempt unchanged (the next assignment supersedes it). */
  private requeueAssigned(worker: string, index: number): string[] {
    const tasks = this.indexes.ofWorker(worker)?.assigned.toArray() ?? [];
    for (const task of tasks) this.indexes.move(task, "pending", null, index, { retryAtMs: 0 });
    return tasks.map((t) => t.id);
  }
}
