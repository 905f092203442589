// The scheduler's public vocabulary: the task object of the HTTP API (README), worker rows, and apply results.
import type { WorkerExtras } from "./record-extras.js";

/** Any value JSON can carry. Payloads, results and errors are opaque to the scheduler. */
export type JsonValue = null | boolean | number | string | JsonValue[] | { [key: string]: JsonValue };

export type TaskState = "pending" | "assigned" | "completed" | "dead" | "cancelled";
export const TASK_STATES: readonly TaskState[] = ["pending", "assigned", "completed", "dead", "cancelled"];

/** Exactly the task object the HTTP API answers (README, "HTTP API"); `result`/`error` are present only once set. */
export interface Task {
  readonly id: string;
  readonly state: TaskState;
  /** The worker of the current (or last) attempt; null while pending. */
  readonly worker: string | null;
  /** The fencing token: 0 before the first assignment, then +1 at every assignment. */
  readonly attempt: number;
  readonly payload: JsonValue;
  readonly priority: number;
  readonly maxAttempts: number;
  readonly result?: JsonValue;
  /** Deprecated name of lastError, kept for existing clients: its `{ error: { code, message } }` shape looks like
   *  an API error reply to a client that tests `body.error`. */
  readonly error?: JsonValue;
  /** The error of the last failed attempt (a dead task's reason); the same value as `error`. */
  readonly lastError?: JsonValue;
  readonly createdIndex: number;
  readonly updatedIndex: number;
}

export interface WorkerInfo {
  readonly id: string;
  readonly alive: boolean;
  /** Tasks currently assigned to this worker. */
  readonly active: number;
  readonly capacity: number;
  /** Leader clock (ms) written into the last workerUp/workerDead command; the node runner may overlay its
   *  own lastSeenMs from heartbeats for GET /v1/workers. */
  readonly changedAtMs: number;
  /** Fields beyond format 2: `kind: "external"` and `tags` of a worker that is not a Raft member. */
  readonly extras?: WorkerExtras;
}

export type ApplyErrorCode =
  /** complete/fail carrying an attempt that is not the task's current one, or a task no longer assigned. */
  | "STALE_ATTEMPT"
  /** The task or worker does not exist. */
  | "NOT_FOUND"
  /** The entry's bytes do not decode to a valid command (applied as a no-op on every replica alike). */
  | "BAD_COMMAND";

export interface AppliedAssignment {
  readonly taskId: string;
  readonly worker: string;
  readonly attempt: number;
}

export type ApplyResult =
  | {
      readonly ok: true;
      /** The task the command addressed (submit, complete, fail, cancel). */
      readonly task?: Task;
      /** submit: true when this command created the task, false when the id already existed (HTTP 200). */
      readonly created?: boolean;
      /** assign: the entries that took effect, in command order (nodes start the ones addressed to them). */
      readonly assigned?: readonly AppliedAssignment[];
      /** workerDead/workerRemoved: ids of the tasks sent back to pending, in id order (their old attempt is
       *  superseded; the worker, if it still runs them, must abort). */
      readonly requeued?: readonly string[];
    }
  | { readonly ok: false; readonly code: ApplyErrorCode; readonly message: string; readonly task?: Task };
