// Task progress: a running handler may tell how far it got (`ctx.progress(value)` on a member, or
// POST /v1/tasks/:id/progress `{ attempt, progress }` from anywhere). The leader keeps the latest value of each
// running attempt in memory only — no log entry per report, so progress costs the cluster nothing durable — and
// shows it on the task (`progress`) when the task is read from the leader. It is lost on a leader change (the next
// report refills it): progress is a hint for people, not state. Bounded: a value is at most MAX_PROGRESS_BYTES as
// JSON, and the board holds at most MAX_PROGRESS_TASKS tasks (the least recently reported go first).
import { RaftschedError } from "../util/errors.js";
import { jsonProblem } from "../scheduler/json-value.js";
import type { JsonValue, Task } from "../scheduler/types.js";

export const MAX_PROGRESS_BYTES = 4096;
export const MAX_PROGRESS_TASKS = 10_000;

export interface ProgressReport {
  readonly attempt: number;
  readonly progress: JsonValue;
}

/** The body of POST /v1/tasks/:id/progress, checked: 400 BAD_FIELD naming the field otherwise. */
export function parseProgressBody(body: unknown): ProgressReport {
  if (typeof body !== "object" || body === null || Array.isArray(body)) throw new RaftschedError("BAD_REQUEST", "the body must be a JSON object");
  const o = body as Record<string, unknown>;
  for (const key of Object.keys(o)) if (key !== "attempt" && key !== "progress") throw bad(key, "unknown field (allowed: attempt, progress)");
  if (!Number.isSafeInteger(o.attempt) || (o.attempt as number) < 1) throw bad("attempt", "must be an integer >= 1");
  if (!("progress" in o)) throw bad("progress", "is required (any JSON value)");
  const problem = jsonProblem(o.progress, "progress");
  if (problem !== null) throw bad("progress", problem);
  const bytes = Buffer.byteLength(JSON.stringify(o.progress));
  if (bytes > MAX_PROGRESS_BYTES) throw bad("progress", `is ${bytes} bytes as JSON, over ${MAX_PROGRESS_BYTES}`);
  return { attempt: o.attempt as number, progress: o.progress as JsonValue };
}

function bad(name: string, message: string): RaftschedError {
  return new RaftschedError("BAD_FIELD", `${name}: ${message}`);
}

/** The leader's latest progress per task (for one attempt). */
export class ProgressBoard {
  private readonly byTask = new Map<string, ProgressReport>();

  constructor(private readonly maxTasks = MAX_PROGRESS_TASKS) {}

  set(id: string, report: ProgressReport): void {
    this.byTask.delete(id); // re-inserted last: Map order is the eviction order
    this.byTask.set(id, report);
    if (this.byTask.size > this.maxTasks) this.byTask.delete(this.byTask.keys().next().value as string);
  }

  /** The progress of `attempt` of the task, if reported to this leader. */
  get(id: string, attempt: number): JsonValue | undefined {
    const r = this.byTask.get(id);
    return r !== undefined && r.attempt === attempt ? r.progress : undefined;
  }

  get size(): number {
    return this.byTask.size;
  }

  clear(): void {
    this.byTask.clear();
  }
}

/** A member's sender of its handlers' progress: at most one report in flight per attempt, later values coalesce
 *  into the latest (a handler calling progress() in a tight loop sends what the leader can take, never a queue). */
export class ProgressSender {
  private readonly latest = new Map<string, { id: string; attempt: number; value: JsonValue }>();
  private readonly sending = new Set<string>();

  constructor(private readonly send: (id: string, attempt: number, value: JsonValue) => Promise<void>) {}

  report(id: string, attempt: number, value: JsonValue): void {
    const key = `${id}#${attempt}`;
    this.latest.set(key, { id, attempt, value });
    if (!this.sending.has(key)) void this.drain(key);
  }

  /** Drops what is still to send for an attempt that ended. */
  forget(id: string, attempt: number): void {
    this.latest.delete(`${id}#${attempt}`);
  }

  private async drain(key: string): Promise<void> {
    this.sending.add(key);
    try {
      for (let next = this.latest.get(key); next !== undefined; next = this.latest.get(key)) {
        this.latest.delete(key);
        // Best effort: a lost report is replaced by the next; a refused one (attempt over) has nothing to retry.
        await this.send(next.id, next.attempt, next.value).catch(() => undefined);
      }
    } finally {
      this.sending.delete(key);
    }
  }
}

/** The leader's answer to a progress report: kept when `attempt` is the task's running one, else 409/404. */
export function acceptProgress(task: Task | undefined, id: string, report: ProgressReport, board: ProgressBoard): unknown {
  if (task === undefined) throw new RaftschedError("NOT_FOUND", `no task "${id}"`);
  if (task.state !== "assigned" || task.attempt !== report.attempt) {
    throw new RaftschedError("STALE_ATTEMPT", `attempt ${report.attempt} of task ${id} is not running (state ${task.state}, attempt ${task.attempt})`);
  }
  board.set(id, report);
  return { id, attempt: report.attempt, progress: report.progress };
}

/** The task with the progress this leader holds for its current attempt, if any; a node that does not lead shows
 *  none (what it held when it led is stale). */
export function progressShown(task: Task | undefined, board: ProgressBoard, isLeader = true): Task | undefined {
  if (task === undefined || !isLeader) return task;
  const progress = board.get(task.id, task.attempt);
  return progress === undefined ? task : { ...task, progress };
}

/** A page of tasks, each with the progress this leader holds for it (progressShown). */
export function pageWithProgress<P extends { readonly tasks: Task[] }>(page: P, board: ProgressBoard, isLeader: boolean): P {
  return isLeader ? { ...page, tasks: page.tasks.map((t) => progressShown(t, board)!) } : page;
}
