// The task table's indexes, so that no request scans a million tasks: all tasks by id, tasks by state by id, tasks
// by (worker, state) by id, and the pending queue by (priority desc, createdIndex asc). All are SortedLists of the
// same immutable records; a record's sort keys (id, priority, createdIndex) never change, and its state and worker
// change only through move(), which keeps every index in step. The table (table.ts) decides what changes; this file
// only keeps the indexes true, so a new command never has to know how many places a task lives in.

import type { TaskRecord } from "./records.js";
import type { TaskExtras } from "./record-extras.js";
import { TableError } from "./errors.js";
import { compareStrings, SortedList, type FrozenList } from "./sorted-list.js";
import { inStateForm, unpackedRecord } from "./task-record-values.js";
import type { TaskState } from "./types.js";

/** What the planner needs of a pending task. */
export interface PendingEntry {
  readonly id: string;
  readonly attempt: number;
  readonly priority: number;
  readonly createdIndex: number;
  readonly retryAtMs: number;
  /** runAt and requires (record-extras.ts), which the planner reads. */
  readonly extras?: Pick<TaskExtras, "runAt" | "requires">;
}

/** The fields of a task that change besides state, worker and updatedIndex. */
export type TaskChanges = Partial<Omit<TaskRecord, "id" | "state" | "worker" | "updatedIndex" | "createdIndex" | "priority">>;

export type TaskCounts = Record<TaskState, number> & { readonly total: number };

export type StateLists = Record<TaskState, SortedList<TaskRecord>>;

export const byId = (a: TaskRecord, b: TaskRecord): number => compareStrings(a.id, b.id);
/** Higher priority first, then FIFO by the submission's log index (unique per task, so a total order). */
export const byQueueOrder = (a: PendingEntry, b: PendingEntry): number =>
  b.priority - a.priority || a.createdIndex - b.createdIndex;

export type TerminalState = "completed" | "dead" | "cancelled";
export const TERMINAL_STATES: readonly TerminalState[] = ["completed", "dead", "cancelled"];
export const isTerminal = (state: TaskState): state is TerminalState => state === "completed" || state === "dead" || state === "cancelled";
/** Oldest finished first: the log index at which the task became terminal (then id, for a total order). */
export const byFinishOrder = (a: TaskRecord, b: TaskRecord): number => a.updatedIndex - b.updatedIndex || compareStrings(a.id, b.id);

/** Every index, built elsewhere (TaskIndexes.fromParts). */
export interface IndexParts {
  readonly tasks: Map<string, TaskRecord>;
  readonly all: SortedList<TaskRecord>;
  readonly byState: StateLists;
  readonly byWorker: ReadonlyMap<string, StateLists>;
  readonly pending: SortedList<TaskRecord>;
  readonly finished: Record<TerminalState, SortedList<TaskRecord>>;
}

export class TaskIndexes {
  private tasks = new Map<string, TaskRecord>();
  private allList = new SortedList<TaskRecord>(byId);
  private stateLists: StateLists = newStateLists();
  /** Tasks by the worker of their current/last attempt, then state; pending tasks have no worker. */
  private readonly workerLists = new Map<string, StateLists>();
  private pendingList = new SortedList<TaskRecord>(byQueueOrder);
  /** Terminal tasks per state, oldest finished first: what retention deletes (task-retention.ts). */
  private finishedLists = newFinishedLists(newStateArrays());

  get(id: string): TaskRecord | undefined {
    return this.tasks.get(id);
  }

  get size(): number {
    return this.tasks.size;
  }

  get all(): SortedList<TaskRecord> {
    return this.allList;
  }

  get byState(): Readonly<StateLists> {
    return this.stateLists;
  }

  /** The pending queue in assignment order. */
  get pending(): SortedList<TaskRecord> {
    return this.pendingList;
  }

  /** Terminal tasks in `state`, oldest finished first. */
  finished(state: TerminalState): SortedList<TaskRecord> {
    return this.finishedLists[state];
  }

  ofWorker(worker: string): Readonly<StateLists> | undefined {
    return this.workerLists.get(worker);
  }

  workerEntries(): IterableIterator<[string, Readonly<StateLists>]> {
    return this.workerLists.entries();
  }

  counts(): TaskCounts {
    const s = this.stateLists;
    const counts = { pending: s.pending.size, assigned: s.assigned.size, completed: s.completed.size, dead: s.dead.size };
    return { ...counts, cancelled: s.cancelled.size, total: this.tasks.size };
  }

  /** A copy-on-write view of every task by id, for a snapshot: O(blocks). */
  freeze(): FrozenList<TaskRecord> {
    return this.allList.freeze();
  }

  /** Adds a task that does not exist yet (a pending one: submit). */
  insertNew(task: TaskRecord): void {
    if (this.tasks.has(task.id)) throw new TableError("INVARIANT", `task ${task.id} exists already`);
    this.tasks.set(task.id, task);
    this.allList.insert(task);
    this.place(task);
  }

  /** The only place a task changes: builds its next record and puts it in place of the old one in every index.
   *  The record comes out in its state's form (task-record-values.ts): packed values when terminal. */
  move(task: TaskRecord, state: TaskState, worker: string | null, index: number, changes: TaskChanges = {}): TaskRecord {
    const next = inStateForm({ ...unpackedRecord(task), state, worker, updatedIndex: index, ...changes });
    this.unplace(task);
    this.tasks.set(next.id, next);
    if (!this.allList.replace(next)) throw new TableError("INVARIANT", `task ${next.id} missing from the id index`);
    this.place(next);
    return next;
  }

  /** Removes a task from every index (deletion of a terminal task). */
  remove(task: TaskRecord): void {
    this.unplace(task);
    this.tasks.delete(task.id);
    if (!this.allList.delete(task)) throw new TableError("INVARIANT", `task ${task.id} missing from the id index`);
  }

  /** Assembles indexes a restore built piece by piece (table-restore-slices.ts), which keeps them in step. */
  static fromParts(parts: IndexParts): TaskIndexes {
    const indexes = new TaskIndexes();
    indexes.tasks = parts.tasks;
    indexes.allList = parts.all;
    indexes.stateLists = parts.byState;
    for (const [worker, lists] of parts.byWorker) indexes.workerLists.set(worker, lists);
    indexes.pendingList = parts.pending;
    indexes.finishedLists = parts.finished;
    return indexes;
  }

  private place(task: TaskRecord): void {
    this.stateLists[task.state].insert(task);
    if (task.worker !== null) {
      let lists = this.workerLists.get(task.worker);
      if (lists === undefined) this.workerLists.set(task.worker, (lists = newStateLists()));
      lists[task.state].insert(task);
    }
    if (task.state === "pending") this.pendingList.insert(task);
    if (isTerminal(task.state)) this.finishedLists[task.state].insert(task);
  }

  private unplace(task: TaskRecord): void {
    this.stateLists[task.state].delete(task);
    if (task.worker !== null) this.workerLists.get(task.worker)?.[task.state].delete(task);
    if (task.state === "pending") this.pendingList.delete(task);
    if (isTerminal(task.state)) this.finishedLists[task.state].delete(task);
  }
}

function newFinishedLists(arrays: Record<TaskState, TaskRecord[]>): Record<TerminalState, SortedList<TaskRecord>> {
  const build = (state: TerminalState) => SortedList.fromSorted(byFinishOrder, [...arrays[state]].sort(byFinishOrder));
  return { completed: build("completed"), dead: build("dead"), cancelled: build("cancelled") };
}

export function newStateLists(): StateLists {
  return fromSortedLists(newStateArrays());
}

function newStateArrays(): Record<TaskState, TaskRecord[]> {
  return { pending: [], assigned: [], completed: [], dead: [], cancelled: [] };
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
