// The replicated task table: the scheduler's state machine. Every replica applies the same committed commands in
// the same order and so holds the same table; apply() reads nothing but the command and the table (no clock, no
// randomness, no iteration over hash order that could leak into a result or a snapshot).
//
// Indexes, so that no request scans a million tasks: all tasks by id, tasks by state by id, tasks by
// (worker, state) by id, and the pending queue by (priority desc, createdIndex asc). All are SortedLists of
// the same records; a record's sort keys (id, priority, createdIndex) never change, and its state and worker
// change only through move(), which keeps every index in step.
//
// Task records are immutable: every change builds a new record and puts it in place of the old one. With the
// SortedLists' copy-on-write freeze(), beginSnapshot() captures the whole table in O(blocks) time, and the
// snapshot is serialized in slices (snapshotAsync) while apply() goes on.

import type { Command, SubmitCommand } from "./commands.js";
import { decodeCommand } from "./commands.js";
import type { TaskRecord, WorkerRecord } from "./records.js";
import { decodeSnapshot, SnapshotEncoder, type SnapshotView } from "./snapshot.js";
import { TableError } from "./errors.js";
import { compareStrings, SortedList } from "./sorted-list.js";
import { smoothWeightedStepInPlace, type WeightedSlot } from "./smooth-weighted.js";
import { newestByKey } from "./recent-tasks.js";
import type {
  AppliedAssignment,
  ApplyResult,
  JsonValue,
  Task,
  TaskState,
  WorkerInfo,
} from "./types.js";
import { TASK_STATES } from "./types.js";

export { TableError } from "./errors.js";
export type { TaskRecord, WorkerRecord } from "./records.js";

export const DEFAULT_LIST_LIMIT = 100;
export const MAX_LIST_LIMIT = 1000;

/** The fields of a task that change besides state, worker and updatedIndex. */
type TaskChanges = Partial<Pick<TaskRecord, "attempt" | "result" | "error" | "retryAtMs">>;

export interface SnapshotAsyncOptions {
  /** Work at most about this long before yielding to the event loop (default 8 ms). */
  readonly sliceMs?: number;
}

export const DEFAULT_SNAPSHOT_SLICE_MS = 8;

/** What the planner needs of a pending task. */
export interface PendingEntry {
  readonly id: string;
  readonly attempt: number;
  readonly priority: number;
  readonly createdIndex: number;
  readonly retryAtMs: number;
}

export interface ListOptions {
  readonly state?: TaskState;
  readonly worker?: string;
  /** Default 100, clamped to 1..1000. */
  readonly limit?: number;
  /** Return only ids strictly greater than this one (the previous page's `next`). */
  readonly after?: string;
  /** "id" (default): pages in id order. "updated": the `limit` most recently updated, newest first, one page. */
  readonly order?: "id" | "updated";
}

export interface TaskPage {
  readonly tasks: Task[];
  /** The cursor for the next page, null on the last page. */
  readonly next: string | null;
}

export type TaskCounts = Record<TaskState, number> & { readonly total: number };


const byId = (a: TaskRecord, b: TaskRecord): number => compareStrings(a.id, b.id);
/** Higher priority first, then FIFO by the submission's log index (unique per task, so a total order). */
export const byQueueOrder = (a: PendingEntry, b: PendingEntry): number =>
  b.priority - a.priority || a.createdIndex - b.createdIndex;

type StateLists = Record<TaskState, SortedList<TaskRecord>>;

function newStateLists(): StateLists {
  return {
    pending: new SortedList(byId),
    assigned: new SortedList(byId),
    completed: new SortedList(byId),
    dead: new SortedList(byId),
    cancelled: new SortedList(byId),
  };
}

export class TaskTable {
  private readonly tasks = new Map<string, TaskRecord>();
  private allById = new SortedList<TaskRecord>(byId);
  private byState: StateLists = newStateLists();
  /** Tasks by the worker of their current/last attempt, then state; pending tasks have no worker. */
  private readonly byWorker = new Map<string, StateLists>();
  private pending = new SortedList<TaskRecord>(byQueueOrder);
  private readonly workerRecords = new Map<string, WorkerRecord>();
  private cursor: string | null = null;
  private appliedIndex = 0;

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
      case "assign": {
        const assigned: AppliedAssignment[] = [];
        const workerIds = [...this.workerRecords.keys()].sort(compareStrings);
        for (const a of command.assignments) {
          const task = this.tasks.get(a.taskId);
          const worker = this.workerRecords.get(a.worker);
          // Entries that no longer apply (task cancelled or already assigned, worker gone or full) are skipped:
          // the decision is a function of the table alone, so every replica skips the same ones.
          if (task === undefined || task.state !== "pending" || a.attempt !== task.attempt + 1) continue;
          if (worker === undefined || !worker.alive || this.activeOf(a.worker) >= worker.capacity) continue;
          this.advanceWeights(workerIds, a.worker);
          this.move(task, "assigned", a.worker, index, { attempt: a.attempt });
          assigned.push({ taskId: a.taskId, worker: a.worker, attempt: a.attempt });
        }
        if (command.rrCursor !== undefined) this.cursor = command.rrCursor;
        return { ok: true, assigned };
      }
      case "complete": {
        const task = this.tasks.get(command.id);
        if (task === undefined) return notFound(command.id);
        // A repeated completion of the attempt that completed the task is answered, not refused.
        if (task.state === "completed" && task.attempt === command.attempt) return { ok: true, task: toTask(task) };
        const stale = staleAttempt(task, command.attempt);
        if (stale !== null) return stale;
        const completed = this.move(task, "completed", task.worker, index, { result: command.result, error: undefined });
        return { ok: true, task: toTask(completed) };
      }
      case "fail": {
        const task = this.tasks.get(command.id);
        if (task === undefined) return notFound(command.id);
        if (task.state === "dead" && task.attempt === command.attempt) return { ok: true, task: toTask(task) };
        const stale = staleAttempt(task, command.attempt);
        if (stale !== null) return stale;
        const failed =
          task.attempt >= task.maxAttempts
            ? this.move(task, "dead", task.worker, index, { error: command.error })
            : this.move(task, "pending", null, index, { error: command.error, retryAtMs: command.retryAtMs });
        return { ok: true, task: toTask(failed) };
      }
      case "cancel": {
        const task = this.tasks.get(command.id);
        if (task === undefined) return notFound(command.id);
        const now = task.state === "pending" || task.state === "assigned" ? this.move(task, "cancelled", task.worker, index) : task;
        return { ok: true, task: toTask(now) };
      }
      case "workerUp": {
        const worker = this.workerRecords.get(command.worker);
        if (worker === undefined) {
          this.workerRecords.set(command.worker, {
            id: command.worker,
            alive: true,
            capacity: command.capacity,
            changedAtMs: command.nowMs,
            currentWeight: 0,
          });
        } else {
          worker.alive = true;
          worker.capacity = command.capacity;
          worker.changedAtMs = command.nowMs;
        }
        return { ok: true };
      }
      case "workerDead": {
        const worker = this.workerRecords.get(command.worker);
        if (worker === undefined) return { ok: false, code: "NOT_FOUND", message: `no worker ${command.worker}` };
        worker.alive = false;
        worker.changedAtMs = command.nowMs;
        return { ok: true, requeued: this.requeueAssigned(command.worker, index) };
      }
      case "workerRemoved": {
        if (!this.workerRecords.has(command.worker)) {
          return { ok: false, code: "NOT_FOUND", message: `no worker ${command.worker}` };
        }
        const requeued = this.requeueAssigned(command.worker, index);
        this.workerRecords.delete(command.worker);
        return { ok: true, requeued };
      }
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

  getTask(id: string): Task | undefined {
    const task = this.tasks.get(id);
    return task === undefined ? undefined : toTask(task);
  }

  /** A page of tasks in id order, optionally filtered by state and/or worker. Cost: O(log n + limit). */
  listTasks(options: ListOptions = {}): TaskPage {
    const limit = Math.min(MAX_LIST_LIMIT, Math.max(1, Math.floor(options.limit ?? DEFAULT_LIST_LIMIT) || 1));
    const after = options.after;
    const position = after === undefined ? undefined : (t: TaskRecord) => compareStrings(t.id, after);
    let sources: SortedList<TaskRecord>[];
    if (options.worker !== undefined) {
      const lists = this.byWorker.get(options.worker);
      if (lists === undefined) return { tasks: [], next: null };
      sources = options.state !== undefined ? [lists[options.state]] : TASK_STATES.map((s) => lists[s]);
    } else {
      sources = [options.state !== undefined ? this.byState[options.state] : this.allById];
    }
    if (options.order === "updated") {
      const all = function* (): Generator<TaskRecord> {
        for (const source of sources) yield* source.after();
      };
      const newest = newestByKey(all(), limit, (t) => t.updatedIndex);
      return { tasks: newest.map(toTask), next: null };
    }
    // Take limit + 1 from each source (one extra tells whether a next page exists), then merge by id.
    let picked: TaskRecord[] = [];
    for (const source of sources) {
      let taken = 0;
      for (const t of source.after(position)) {
        picked.push(t);
        if (++taken > limit) break;
      }
    }
    if (sources.length > 1) picked.sort(byId);
    picked = picked.slice(0, limit + 1);
    const hasMore = picked.length > limit;
    const page = picked.slice(0, limit);
    return { tasks: page.map(toTask), next: hasMore ? page[page.length - 1]!.id : null };
  }

  /** Pending tasks in assignment order (priority desc, then FIFO), for the planner. Do not apply while iterating. */
  pendingEntries(): IterableIterator<PendingEntry> {
    return this.pending.after();
  }

  /** The first `limit` tasks of the pending queue, in assignment order. */
  pendingQueue(limit = DEFAULT_LIST_LIMIT): Task[] {
    const out: Task[] = [];
    for (const t of this.pending.after()) {
      if (out.length >= limit) break;
      out.push(toTask(t));
    }
    return out;
  }

  /** Every registered worker, in id order. */
  workers(): WorkerInfo[] {
    return [...this.workerRecords.keys()].sort(compareStrings).map((id) => {
      const w = this.workerRecords.get(id)!;
      return { id, alive: w.alive, active: this.activeOf(id), capacity: w.capacity, changedAtMs: w.changedAtMs };
    });
  }

  getWorker(id: string): WorkerInfo | undefined {
    const w = this.workerRecords.get(id);
    if (w === undefined) return undefined;
    return { id, alive: w.alive, active: this.activeOf(id), capacity: w.capacity, changedAtMs: w.changedAtMs };
  }

  /** Tasks currently assigned to `worker`. */
  activeOf(worker: string): number {
    return this.byWorker.get(worker)?.assigned.size ?? 0;
  }

  /** Ids of the tasks assigned to `worker`, in id order (a node resuming its work, an aborting node). */
  assignedTaskIds(worker: string): string[] {
    const list = this.byWorker.get(worker)?.assigned;
    return list === undefined ? [] : list.toArray().map((t) => t.id);
  }

  /** Workers that hold at least one assigned task, in id order (the failure detector's watch list). */
  workersWithUnfinishedTasks(): string[] {
    const out: string[] = [];
    for (const [worker, lists] of this.byWorker) if (lists.assigned.size > 0) out.push(worker);
    return out.sort(compareStrings);
  }

  counts(): TaskCounts {
    return {
      pending: this.byState.pending.size,
      assigned: this.byState.assigned.size,
      completed: this.byState.completed.size,
      dead: this.byState.dead.size,
      cancelled: this.byState.cancelled.size,
      total: this.tasks.size,
    };
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
    return { appliedIndex: this.appliedIndex, rrCursor: this.cursor, workers, tasks: this.allById.freeze() };
  }

  /** The same bytes snapshot() returns at the moment of this call (captured synchronously, before the first
   *  await), serialized in slices of about sliceMs that yield to the event loop between them, so heartbeats and
   *  requests go on and apply() may keep changing the table meanwhile. */
  async snapshotAsync(options: SnapshotAsyncOptions = {}): Promise<Uint8Array> {
    const encoder = new SnapshotEncoder(this.beginSnapshot());
    const sliceMs = options.sliceMs ?? DEFAULT_SNAPSHOT_SLICE_MS;
    while (!encoder.step(performance.now() + sliceMs)) await yieldToEventLoop();
    return encoder.result();
  }

  /** Rebuilds a table from snapshot() bytes. Throws TableError BAD_SNAPSHOT on anything inconsistent. */
  static restore(bytes: Uint8Array): TaskTable {
    const decoded = decodeSnapshot(bytes);
    const table = new TaskTable();
    table.appliedIndex = decoded.appliedIndex;
    table.cursor = decoded.rrCursor;
    for (const w of decoded.workers) table.workerRecords.set(w.id, w);
    // Tasks arrive sorted by id (checked by the codec): bulk-build every index without per-element searches.
    const perState: Record<TaskState, TaskRecord[]> = { pending: [], assigned: [], completed: [], dead: [], cancelled: [] };
    const perWorker = new Map<string, Record<TaskState, TaskRecord[]>>();
    for (const t of decoded.tasks) {
      table.tasks.set(t.id, t);
      perState[t.state].push(t);
      if (t.worker !== null) {
        let lists = perWorker.get(t.worker);
        if (lists === undefined) {
          lists = { pending: [], assigned: [], completed: [], dead: [], cancelled: [] };
          perWorker.set(t.worker, lists);
        }
        lists[t.state].push(t);
      }
      if (t.state === "assigned" && !table.workerRecords.has(t.worker ?? "")) {
        throw new TableError("BAD_SNAPSHOT", `task ${t.id} is assigned to unknown worker ${String(t.worker)}`);
      }
    }
    table.allById = SortedList.fromSorted(byId, decoded.tasks);
    table.byState = fromSortedLists(perState);
    for (const [worker, lists] of perWorker) table.byWorker.set(worker, fromSortedLists(lists));
    table.pending = SortedList.fromSorted(byQueueOrder, [...perState.pending].sort(byQueueOrder));
    return table;
  }

  private submit(index: number, command: SubmitCommand): ApplyResult {
    const existing = this.tasks.get(command.id);
    if (existing !== undefined) return { ok: true, task: toTask(existing), created: false };
    const task: TaskRecord = {
      id: command.id,
      state: "pending",
      worker: null,
      attempt: 0,
      payload: command.payload,
      priority: command.priority,
      maxAttempts: command.maxAttempts,
      result: undefined,
      error: undefined,
      createdIndex: index,
      updatedIndex: index,
      createdAtMs: command.nowMs,
      retryAtMs: 0,
    };
    this.tasks.set(task.id, task);
    this.allById.insert(task);
    this.byState.pending.insert(task);
    this.pending.insert(task);
    return { ok: true, task: toTask(task), created: true };
  }

  /** The planner's smoothWeightedStep for one applied assignment, over the alive workers with a capacity, in id
   *  order: the candidates the planner saw (it plans on the committed table, one assign command at a time). */
  private advanceWeights(sortedWorkerIds: readonly string[], picked: string): void {
    const participants: WeightedSlot[] = [];
    for (const id of sortedWorkerIds) {
      const w = this.workerRecords.get(id)!;
      if (w.alive && w.capacity > 0) participants.push({ id, capacity: w.capacity });
    }
    const weights = new Map(participants.map((e) => [e.id, this.workerRecords.get(e.id)!.currentWeight]));
    smoothWeightedStepInPlace(weights, participants, picked);
    for (const [id, weight] of weights) this.workerRecords.get(id)!.currentWeight = weight;
  }

  /** Sends every task assigned to `worker` back to pending, attempt unchanged (the next assignment supersedes it). */
  private requeueAssigned(worker: string, index: number): string[] {
    const tasks = this.byWorker.get(worker)?.assigned.toArray() ?? [];
    for (const task of tasks) this.move(task, "pending", null, index, { retryAtMs: 0 });
    return tasks.map((t) => t.id);
  }

  /** The only place a task changes: builds its next record and puts it in place of the old one in every index. */
  private move(task: TaskRecord, state: TaskState, worker: string | null, index: number, changes: TaskChanges = {}): TaskRecord {
    const next: TaskRecord = { ...task, state, worker, updatedIndex: index, ...changes };
    this.byState[task.state].delete(task);
    if (task.worker !== null) this.byWorker.get(task.worker)?.[task.state].delete(task);
    if (task.state === "pending") this.pending.delete(task);
    this.tasks.set(next.id, next);
    if (!this.allById.replace(next)) throw new TableError("INVARIANT", `task ${next.id} missing from the id index`);
    this.byState[state].insert(next);
    if (worker !== null) {
      let lists = this.byWorker.get(worker);
      if (lists === undefined) {
        lists = newStateLists();
        this.byWorker.set(worker, lists);
      }
      lists[state].insert(next);
    }
    if (state === "pending") this.pending.insert(next);
    return next;
  }
}

function yieldToEventLoop(): Promise<void> {
  return new Promise((resolve) => setImmediate(resolve));
}

function fromSortedLists(arrays: Record<TaskState, TaskRecord[]>): StateLists {
  return {
    pending: SortedList.fromSorted(byId, arrays.pending),
    assigned: SortedList.fromSorted(byId, arrays.assigned),
    completed: SortedList.fromSorted(byId, arrays.completed),
    dead: SortedList.fromSorted(byId, arrays.dead),
    cancelled: SortedList.fromSorted(byId, arrays.cancelled),
  };
}

/** The contract's task object, fields in a fixed order; result/error only when set. */
function toTask(t: TaskRecord): Task {
  const task = {
    id: t.id,
    state: t.state,
    worker: t.worker,
    attempt: t.attempt,
    payload: t.payload,
    priority: t.priority,
    maxAttempts: t.maxAttempts,
  } as { -readonly [K in keyof Task]: Task[K] };
  if (t.result !== undefined) task.result = t.result;
  if (t.error !== undefined) {
    task.error = t.error;
    task.lastError = t.error;
  }
  task.createdIndex = t.createdIndex;
  task.updatedIndex = t.updatedIndex;
  return task;
}

function notFound(id: string): ApplyResult {
  return { ok: false, code: "NOT_FOUND", message: `no task ${id}` };
}

function staleAttempt(task: TaskRecord, attempt: number): ApplyResult | null {
  if (task.state === "assigned" && task.attempt === attempt) return null;
  return {
    ok: false,
    code: "STALE_ATTEMPT",
    message: `attempt ${attempt} of task ${task.id} is not current (state ${task.state}, attempt ${task.attempt})`,
    task: toTask(task),
  };
}
