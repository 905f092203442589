// The task latencies the metrics report, measured from applied entries: the time from a task's submit to its first
// assignment, and each attempt's run time (assignment to complete/fail). The task record carries log indexes, not
// times, so every replica notes when it applied each submit and each assignment (monotonic clock); all replicas
// apply the same entries within moments of each other, so whichever node leads when the assignment or the result
// is applied can report the interval, even one that took over in between. Only the leader reports (the caller's
// rule), so a sum over the cluster's nodes counts each task once.
//
// Pure apart from the clock it is given; bounded: at most maxTracked open intervals of each kind, the oldest
// forgotten first (a task pending for days is not worth unbounded memory).
import type { ApplyResult } from "../scheduler/types.js";

export const DEFAULT_MAX_TRACKED = 100_000;

export interface TaskTimingObservations {
  /** Seconds from the submit's apply to the first assignment's apply, one per task first assigned here. */
  readonly assignDelays: number[];
  /** Seconds from an assignment's apply to its attempt's complete/fail apply. */
  readonly runs: Array<{ readonly seconds: number; readonly outcome: "completed" | "failed" }>;
}

export class TaskTiming {
  /** task id → when its submit was applied (ms), until its first assignment. */
  private readonly submittedAtMs = new Map<string, number>();
  /** task id → its current attempt and when that assignment was applied (ms), until its result. */
  private readonly assignedAt = new Map<string, { readonly attempt: number; readonly ms: number }>();

  constructor(private readonly maxTracked = DEFAULT_MAX_TRACKED) {}

  /** Notes what one applied command means for the intervals, and returns the intervals it closed. */
  onApplied(result: ApplyResult, nowMs: number): TaskTimingObservations {
    const out: TaskTimingObservations = { assignDelays: [], runs: [] };
    if (!result.ok) return out;
    const task = result.task;
    if (result.created === true && task) remember(this.submittedAtMs, task.id, nowMs, this.maxTracked);
    for (const a of result.assigned ?? []) {
      const submitted = this.submittedAtMs.get(a.taskId);
      if (submitted !== undefined) {
        this.submittedAtMs.delete(a.taskId);
        out.assignDelays.push(seconds(nowMs - submitted));
      }
      remember(this.assignedAt, a.taskId, { attempt: a.attempt, ms: nowMs }, this.maxTracked);
    }
    for (const id of result.requeued ?? []) this.assignedAt.delete(id);
    if (task && result.created === undefined && result.assigned === undefined) this.onTaskChanged(task, nowMs, out);
    return out;
  }

  /** A complete, fail or cancel: the task's current attempt ended (or the task did). */
  private onTaskChanged(task: NonNullable<Extract<ApplyResult, { ok: true }>["task"]>, nowMs: number, out: TaskTimingObservations): void {
    const assigned = this.assignedAt.get(task.id);
    if (task.state === "cancelled") {
      this.submittedAtMs.delete(task.id);
      this.assignedAt.delete(task.id);
      return;
    }
    if (assigned === undefined || assigned.attempt !== task.attempt || task.state === "assigned") return;
    this.assignedAt.delete(task.id);
    out.runs.push({ seconds: seconds(nowMs - assigned.ms), outcome: task.state === "completed" ? "completed" : "failed" });
  }

  /** Open intervals held (tests, and the bound). */
  get tracked(): { readonly submitted: number; readonly assigned: number } {
    return { submitted: this.submittedAtMs.size, assigned: this.assignedAt.size };
  }
}

function remember<V>(map: Map<string, V>, key: string, value: V, max: number): void {
  map.delete(key);
  if (map.size >= max) {
    const oldest = map.keys().next();
    if (!oldest.done) map.delete(oldest.value);
  }
  map.set(key, value);
}

function seconds(ms: number): number {
  return Math.max(0, ms) / 1000;
}
