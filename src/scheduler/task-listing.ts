// Pages of the task table: by id (optionally by state and/or worker), or the most recently updated.
import type { TaskRecord } from "./records.js";
import { newestByKey } from "./recent-tasks.js";
import { compareStrings, type SortedList } from "./sorted-list.js";
import { byId, type TaskIndexes } from "./task-indexes.js";
import { toTask } from "./task-object.js";
import { TASK_STATES, type Task, type TaskState } from "./types.js";

export const DEFAULT_LIST_LIMIT = 100;
export const MAX_LIST_LIMIT = 1000;

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

/** A page of tasks in id order, optionally filtered by state and/or worker. Cost: O(log n + limit). */
export function listTaskPage(indexes: TaskIndexes, options: ListOptions = {}): TaskPage {
  const limit = Math.min(MAX_LIST_LIMIT, Math.max(1, Math.floor(options.limit ?? DEFAULT_LIST_LIMIT) || 1));
  const after = options.after;
  const position = after === undefined ? undefined : (t: TaskRecord) => compareStrings(t.id, after);
  let sources: SortedList<TaskRecord>[];
  if (options.worker !== undefined) {
    const lists = indexes.ofWorker(options.worker);
    if (lists === undefined) return { tasks: [], next: null };
    sources = options.state !== undefined ? [lists[options.state]] : TASK_STATES.map((s) => lists[s]);
  } else {
    sources = [options.state !== undefined ? indexes.byState[options.state] : indexes.all];
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


/** The first `limit` tasks of the pending queue, in assignment order. */
export function pendingQueueOf(indexes: TaskIndexes, limit: number): Task[] {
  const out: Task[] = [];
  for (const t of indexes.pending.after()) {
    if (out.length >= limit) break;
    out.push(toTask(t));
  }
  return out;
}
