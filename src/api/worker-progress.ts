// An external worker's `progress` frame on the leader (README, "External workers"): the same rule as a member's
// progress (src/node/task-progress.ts) — the latest value of the running attempt kept in the leader's memory, no
// log entry, shown as the task's `progress` — fenced like a report: only the worker holding the task's current
// attempt may set it. Accepted progress gets no answer (a hint, sent often); a stale attempt is refused and
// aborted as a report would be; one for an attempt that just ended is dropped; a task the worker does not hold
// gets NOT_HELD without a taskId field, because a worker reads an error naming a task as the answer to that task's
// report, and a refused hint must not cancel a report.
import { externalReportVerdict, stillHolds } from "../node/external-report-rule.js";
import type { ProgressBoard } from "../node/task-progress.js";
import type { Task } from "../scheduler/types.js";
import type { NodeFrame, WorkerFrame } from "./worker-protocol.js";

type ProgressFrame = Extract<WorkerFrame, { type: "progress" }>;

/** Keeps the progress when `worker` runs the attempt; returns the frames to answer with (none when kept). */
export function takeWorkerProgress(task: Task | undefined, worker: string, frame: ProgressFrame, board: ProgressBoard): NodeFrame[] {
  const { taskId, attempt } = frame;
  if (stillHolds(task, worker, attempt)) {
    board.set(taskId, { attempt, progress: frame.progress });
    return [];
  }
  const verdict = externalReportVerdict(task, worker, attempt);
  // Still the task's attempt and this worker's, but no longer running: it ended (its own report, a client's
  // completion, a cancel: the last two were answered with an abort already). Nothing to say.
  if (verdict === "propose") return [];
  if (verdict === "notHeld") return [{ type: "error", code: "NOT_HELD", message: `worker ${worker} does not hold attempt ${attempt} of task ${taskId}: progress dropped` }];
  return [
    { type: "refused", taskId, attempt, code: "STALE_ATTEMPT", message: `attempt ${attempt} of task ${taskId} is no longer running: progress dropped` },
    { type: "abort", taskId, attempt, reason: "superseded" },
  ];
}
