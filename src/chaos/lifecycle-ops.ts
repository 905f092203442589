// Which queue-lifecycle operation (issue 13) a chaos client sends for a task, from the state it last saw: a delete
// of a finished task, a retry of a dead or cancelled one, a cancel of a running one (its handler is aborted
// wherever it runs). Each is sent now and then, beside the reads and reports that keep the model busy; the answer
// may well be 409 or 404 (the task moved on, or another client deleted it), which the model judges as any other.
import type { TaskStatus } from "./task-model.js";

export type LifecycleOp = "delete" | "retry" | "cancel";

/** How often a client acts on a task in each seen state (per operation on that task). */
const DELETE_FINISHED = 0.2;
const RETRY_DEAD_OR_CANCELLED = 0.25;
const CANCEL_RUNNING = 0.15;

/** The operation to send for a task last seen in `state`, or null (do the usual read or report). */
export function pickLifecycleOp(state: TaskStatus, rng: () => number): LifecycleOp | null {
  const r = rng();
  switch (state) {
    case "completed":
      return r < DELETE_FINISHED ? "delete" : null;
    case "dead":
    case "cancelled":
      if (r < RETRY_DEAD_OR_CANCELLED) return "retry";
      return r < RETRY_DEAD_OR_CANCELLED + DELETE_FINISHED ? "delete" : null;
    case "assigned":
      return r < CANCEL_RUNNING ? "cancel" : null;
    case "pending":
      return null;
  }
}

/** The request for an operation on task `id`. */
export function lifecycleRequest(op: LifecycleOp, id: string): { method: string; path: string; body?: unknown } {
  const path = `/v1/tasks/${encodeURIComponent(id)}`;
  if (op === "delete") return { method: "DELETE", path };
  return { method: "POST", path: `${path}/${op}`, body: {} };
}
