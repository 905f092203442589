// A handler's progress (`task.progress(value)`), sent to the leader as `progress` frames (README, "External
// workers"). The leader keeps the latest value per running attempt in memory only, so progress is a hint for
// people, not state: what matters is the latest value, never a queue of old ones. So per attempt at most one frame
// goes out every PROGRESS_MIN_INTERVAL_MS; calls in between replace the value waiting to go. A value lost with a
// connection is not sent again (the next call sends a fresher one).
import { jsonProblem } from "../scheduler/json-value.js";
import { MAX_PROGRESS_BYTES } from "../node/task-progress.js";
import { WorkerError } from "./worker-error.js";

export { MAX_PROGRESS_BYTES };
/** A handler reporting in a tight loop costs the leader at most this many frames per attempt and second: 5. */
export const PROGRESS_MIN_INTERVAL_MS = 200;

type Frame = Record<string, unknown> & { type: string };

interface AttemptProgress {
  readonly attempt: number;
  lastSentMs: number;
  /** The value waiting for the interval to pass (with its timer), if any. */
  waiting: { value: unknown; timer: NodeJS.Timeout } | null;
}

export class ProgressFrames {
  /** taskId → its running attempt's progress state; one entry per running attempt (bounded by capacity). */
  private readonly byTask = new Map<string, AttemptProgress>();

  constructor(
    private readonly send: (frame: Frame) => boolean,
    private readonly nowMs: () => number = Date.now,
  ) {}

  /** Sends now, or once the interval has passed (the latest value wins). Throws on a value the leader would refuse. */
  report(taskId: string, attempt: number, value: unknown): void {
    const problem = jsonProblem(value, "progress");
    if (problem !== null) throw new WorkerError("BAD_PROGRESS", problem);
    const bytes = Buffer.byteLength(JSON.stringify(value));
    if (bytes > MAX_PROGRESS_BYTES) throw new WorkerError("BAD_PROGRESS", `progress is ${bytes} bytes as JSON, over ${MAX_PROGRESS_BYTES}`);
    let p = this.byTask.get(taskId);
    if (p === undefined || p.attempt !== attempt) {
      if (p !== undefined) this.forget(taskId, p.attempt);
      p = { attempt, lastSentMs: -Infinity, waiting: null };
      this.byTask.set(taskId, p);
    }
    const dueInMs = p.lastSentMs + PROGRESS_MIN_INTERVAL_MS - this.nowMs();
    if (dueInMs <= 0 && p.waiting === null) return this.sendNow(taskId, p, value);
    if (p.waiting !== null) {
      p.waiting.value = value;
      return;
    }
    const entry = p;
    const timer = setTimeout(() => {
      const v = entry.waiting?.value;
      entry.waiting = null;
      if (this.byTask.get(taskId) === entry) this.sendNow(taskId, entry, v);
    }, dueInMs);
    timer.unref?.();
    p.waiting = { value, timer };
  }

  /** The attempt ended: nothing more is sent for it. */
  forget(taskId: string, attempt: number): void {
    const p = this.byTask.get(taskId);
    if (p === undefined || p.attempt !== attempt) return;
    if (p.waiting !== null) clearTimeout(p.waiting.timer);
    this.byTask.delete(taskId);
  }

  /** Attempts with progress state (for tests: it must return to 0 as attempts end). */
  get size(): number {
    return this.byTask.size;
  }

  private sendNow(taskId: string, p: AttemptProgress, value: unknown): void {
    p.lastSentMs = this.nowMs();
    this.send({ type: "progress", taskId, attempt: p.attempt, progress: value });
  }
}
