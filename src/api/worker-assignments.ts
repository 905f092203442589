// The leader's side of the attempts pushed to external workers: what each connected worker was told to run, so
// that an attempt taken away from it by anything but its own report (a cancel, a requeue when it was declared
// dead, a deadline) is aborted on the worker, and so that a reconnecting worker gets its assignments again.
import type { ApplyResult, JsonValue, Task } from "../scheduler/types.js";
import { stillHolds } from "../node/external-report-rule.js";
import type { NodeFrame } from "./worker-protocol.js";

interface Pushed {
  readonly worker: string;
  readonly attempt: number;
  /** The worker reported it: the change that follows is its own, not a reason to abort. */
  reported: boolean;
}

export interface AssignmentTableView {
  getTask(id: string): Task | undefined;
  listTasks(q: { worker: string; state: "assigned"; limit: number; after?: string }): { tasks: Task[]; next: string | null };
}

export class WorkerAssignments {
  /** taskId → the attempt pushed. At most one entry per task: the table holds one current attempt. */
  private readonly pushed = new Map<string, Pushed>();
  /** Attempts to push once leadership is confirmed (below). */
  private queued = new Map<string, { worker: string; attempt: number }>();
  private confirming = false;

  constructor(
    private readonly table: () => AssignmentTableView,
    /** Sends a frame to the worker if it is connected; false when it is not. */
    private readonly send: (worker: string, frame: NodeFrame) => boolean,
    /** Resolves once this node confirmed it still leads and applied up to the commit index it had (ReadIndex).
     *  A leader deposed without knowing it yet reads a table that lags the cluster's: pushing from it would start
     *  attempts already finished or superseded (the simulator found this, as issue #17.1 found it for members). */
    private readonly confirm: () => Promise<unknown> = async () => undefined,
  ) {}

  get size(): number {
    return this.pushed.size;
  }

  /** After an entry applied on the leader: push new assignments, abort attempts taken away. */
  onApplied(result: ApplyResult): void {
    if (!result.ok) return;
    for (const a of result.assigned ?? []) this.push(a.taskId, a.worker, a.attempt);
    if (result.task !== undefined) this.check(result.task.id);
    for (const id of result.requeued ?? []) this.check(id);
  }

  /** A worker (re)registered: every attempt the table gives it is pushed again (the worker ignores one it runs). */
  resync(worker: string): void {
    let after: string | undefined;
    for (;;) {
      const page = this.table().listTasks({ worker, state: "assigned", limit: 1000, ...(after !== undefined ? { after } : {}) });
      for (const t of page.tasks) this.push(t.id, worker, t.attempt);
      if (page.next === null) return;
      after = page.next;
    }
  }

  /** The worker's report is on its way through the log (or was refused: then `false` again). */
  markReported(taskId: string, worker: string, attempt: number, reported: boolean): void {
    const p = this.pushed.get(taskId);
    if (p !== undefined && p.worker === worker && p.attempt === attempt) p.reported = reported;
  }

  /** Checks every pushed attempt against the table (a change some other path made, e.g. a deletion). */
  sweep(): void {
    for (const id of [...this.pushed.keys()]) this.check(id);
    this.flush();
  }

  clear(): void {
    this.pushed.clear();
    this.queued.clear();
  }

  private push(taskId: string, worker: string, attempt: number): void {
    this.queued.set(taskId, { worker, attempt });
    this.flush();
  }

  /** One confirmation at a time covers every push queued before it started. */
  private flush(): void {
    if (this.confirming || this.queued.size === 0) return;
    const batch = this.queued;
    this.queued = new Map();
    this.confirming = true;
    this.confirm().then(
      () => {
        for (const [taskId, q] of batch) this.pushNow(taskId, q.worker, q.attempt);
        this.confirming = false;
        this.flush();
      },
      // Not confirmed (deposed, or slow): nothing is pushed now; the batch waits for the next sweep (a deposed
      // node's hub is cleared when it learns of the new leader, and its workers follow that one).
      () => {
        for (const [taskId, q] of batch) if (!this.queued.has(taskId)) this.queued.set(taskId, q);
        this.confirming = false;
      },
    );
  }

  private pushNow(taskId: string, worker: string, attempt: number): void {
    const task = this.table().getTask(taskId);
    if (!stillHolds(task, worker, attempt)) return;
    const before = this.pushed.get(taskId);
    if (before !== undefined && (before.worker !== worker || before.attempt !== attempt) && !before.reported) {
      this.send(before.worker, { type: "abort", taskId, attempt: before.attempt, reason: "superseded" });
    }
    const frame: NodeFrame = { type: "assign", taskId, attempt, payload: task!.payload, ...deadlineOf(task!) };
    if (this.send(worker, frame)) this.pushed.set(taskId, { worker, attempt, reported: false });
    else this.pushed.delete(taskId);
  }

  private check(taskId: string): void {
    const p = this.pushed.get(taskId);
    if (p === undefined) return;
    const task = this.table().getTask(taskId);
    if (stillHolds(task, p.worker, p.attempt)) return;
    this.pushed.delete(taskId);
    if (!p.reported) this.send(p.worker, { type: "abort", taskId, attempt: p.attempt, reason: task === undefined ? "deleted" : task.state });
  }
}

/** The task's per-attempt deadline when it has one (the `timeoutMs` task field of the contract). */
function deadlineOf(task: Task): { timeoutMs?: number } {
  const timeoutMs = (task as { timeoutMs?: JsonValue }).timeoutMs;
  return typeof timeoutMs === "number" && timeoutMs > 0 ? { timeoutMs } : {};
}
