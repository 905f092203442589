// The task events a watch stream carries (GET /v1/watch), derived from what one replica applied. A pure function
// of the entry's index, the table's answer and the table right after the entry: every replica applies the same
// entries to the same table, so every replica derives the same events for the same index, and the simulator runs
// this very function to check it (test/sim/watch-checker.ts).
import type { ApplyResult, Task, TaskState } from "./types.js";

/** One task change, as `data:` of a watch event. `state` is the task's state right after the entry at `index`. */
export interface TaskEvent {
  readonly index: number;
  readonly id: string;
  readonly state: TaskState;
  readonly attempt: number;
  readonly worker: string | null;
}

/** A task deleted by the entry at `index` (an explicit DELETE or retention): sent as `event: deleted`, since it has
 *  no state to show. A later submit of the id creates it anew (with its own event). */
export interface TaskDeletedEvent {
  readonly index: number;
  readonly id: string;
  readonly deleted: true;
}

/** What a watch stream carries: task changes and deletions, in log order. */
export type WatchEvent = TaskEvent | TaskDeletedEvent;

export function isDeletion(e: WatchEvent): e is TaskDeletedEvent {
  return (e as Partial<TaskDeletedEvent>).deleted === true;
}

export const TERMINAL_STATES: ReadonlySet<TaskState> = new Set<TaskState>(["completed", "dead", "cancelled"]);

/** The events of the entry at `index`: one per task the entry changed, in a fixed order (the addressed task,
 *  then assignments in command order, then requeued tasks in id order), each task once, then one per task it
 *  deleted, in command order. A task the entry did not change (a repeated submit or report, a skipped assignment)
 *  has no event: its updatedIndex is older. */
export function taskEventsOf(index: number, result: ApplyResult | undefined, lookup: (id: string) => Task | undefined): WatchEvent[] {
  if (!result || !result.ok) return [];
  const ids: string[] = [];
  if (result.task) ids.push(result.task.id);
  for (const a of result.assigned ?? []) ids.push(a.taskId);
  for (const id of result.requeued ?? []) ids.push(id);
  const seen = new Set<string>();
  const events: WatchEvent[] = [];
  for (const id of ids) {
    if (seen.has(id)) continue;
    seen.add(id);
    const t = lookup(id);
    if (!t || t.updatedIndex !== index) continue;
    events.push({ index, id, state: t.state, attempt: t.attempt, worker: t.worker });
  }
  // A delete command answers the ids it removed. A submit of an id in the dedupe window also answers `deleted`
  // (created: false) but deletes nothing: no event.
  if (result.created === undefined) {
    for (const id of result.deleted ?? []) if (lookup(id) === undefined) events.push({ index, id, deleted: true });
  }
  return events;
}
