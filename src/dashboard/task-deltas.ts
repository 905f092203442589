// What the dashboard's stream says about tasks: a compact row per task that changed since the last frame (no payload
// or result: those can be a megabyte each; the page asks for one task's detail when it is opened). Changes are
// coalesced per task between frames and bounded: under a burst only the newest MAX_DELTAS_PER_FRAME rows are kept,
// which is all a "recent tasks" list can show anyway.
import type { ApplyResult, Task, TaskState } from "../scheduler/types.js";

export const MAX_DELTAS_PER_FRAME = 100;

export interface TaskRow {
  readonly id: string;
  readonly state: TaskState;
  readonly worker: string | null;
  readonly attempt: number;
  readonly maxAttempts: number;
  readonly priority: number;
  readonly updatedIndex: number;
}

export function taskRow(t: Task): TaskRow {
  return { id: t.id, state: t.state, worker: t.worker, attempt: t.attempt, maxAttempts: t.maxAttempts, priority: t.priority, updatedIndex: t.updatedIndex };
}

export const TERMINAL_STATES: ReadonlySet<TaskState> = new Set(["completed", "dead", "cancelled"]);

/** The ids of the tasks an applied command may have changed: the one it addressed, the ones it assigned, the ones
 *  it sent back to pending. The caller reads each from the table (already updated when the hook runs). */
export function touchedTaskIds(result: ApplyResult): string[] {
  if (!result.ok) return [];
  const ids: string[] = [];
  if (result.task) ids.push(result.task.id);
  for (const a of result.assigned ?? []) ids.push(a.taskId);
  for (const id of result.requeued ?? []) ids.push(id);
  return ids;
}

/** The rows changed since the last `take()`, one per task (its latest state), at most MAX_DELTAS_PER_FRAME. */
export class TaskDeltas {
  private readonly rows = new Map<string, TaskRow>();
  /** The highest updatedIndex seen, and the tasks noted at it. Entries apply in log order, so a task the entry
   *  being applied changed carries that entry's index, above every earlier one (an assign of many tasks gives them
   *  all the same one); a command that changed nothing (a cancel of a finished task) leaves the task's older index,
   *  or the same task again at the same index, and is no change. */
  private highestIndex = 0;
  private readonly notedAtHighest = new Set<string>();

  /** Returns whether `t` is a change (not a no-op re-answer). */
  note(t: Task): boolean {
    if (t.updatedIndex < this.highestIndex) return false;
    if (t.updatedIndex === this.highestIndex && this.notedAtHighest.has(t.id)) return false;
    if (t.updatedIndex > this.highestIndex) {
      this.highestIndex = t.updatedIndex;
      this.notedAtHighest.clear();
    }
    this.notedAtHighest.add(t.id);
    this.rows.delete(t.id); // re-inserted last: Map order is "least recently changed first"
    this.rows.set(t.id, taskRow(t));
    if (this.rows.size > MAX_DELTAS_PER_FRAME) {
      const oldest = this.rows.keys().next().value;
      if (oldest !== undefined) this.rows.delete(oldest);
    }
    return true;
  }

  /** The pending rows, newest change first, and forget them. */
  take(): TaskRow[] {
    const out = [...this.rows.values()].reverse();
    this.rows.clear();
    return out;
  }

  get size(): number {
    return this.rows.size;
  }
}
