// What the leader does with an external worker's report (complete/fail of taskId at attempt), decided from the
// table alone. Pure: the worker hub (src/api/worker-hub.ts) and the simulator call it.
//
// The table's complete/fail check the attempt, not the worker: fencing by worker is done here, before anything
// is proposed, so a worker can never finish another worker's current attempt.
//   propose  the task's current attempt is this worker's: through the log (the table still answers STALE_ATTEMPT
//            if something superseded it meanwhile);
//   stale    an attempt this task already had and that is no longer current (superseded by a reassignment, a
//            requeue when the worker was declared dead, or a cancel): refused, and the worker told to abort it;
//   notHeld  the task does not exist, the attempt was never issued, or the current attempt is another worker's.
import type { Task } from "../scheduler/types.js";

export type ReportVerdict = "propose" | "stale" | "notHeld";

export function externalReportVerdict(task: Pick<Task, "state" | "worker" | "attempt"> | undefined, worker: string, attempt: number): ReportVerdict {
  if (task === undefined || attempt < 1 || attempt > task.attempt) return "notHeld";
  if (attempt < task.attempt) return "stale";
  if (task.worker === worker) return "propose";
  // The current attempt number with no worker: requeued (its worker was declared dead), so superseded.
  return task.worker === null ? "stale" : "notHeld";
}

/** Whether `worker` still holds `attempt` of the task: the hub aborts a pushed attempt once this turns false for
 *  any reason other than the worker's own report (cancel, requeue, a deadline). */
export function stillHolds(task: Pick<Task, "state" | "worker" | "attempt"> | undefined, worker: string, attempt: number): boolean {
  return task !== undefined && task.state === "assigned" && task.worker === worker && task.attempt === attempt;
}
