// The scheduler's public vocabulary: the task object of the HTTP API (README), worker rows, and apply results.

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
  /** Tags a worker must all carry to run it (CONTRACT "Task fields added"); [] when none. */
  readonly requires: readonly string[];
  /** Per-attempt deadline in ms; null when none. */
  readonly timeoutMs: number | null;
  /** Leader-clock epoch ms before which it is not assigned; null when none. */
  readonly runAt: number | null;
  /** Why a pending task cannot be placed at all (no live worker carries its tags); read path only, never stored. */
  readonly waiting?: string;
  /** The running attempt's last reported progress, as the leader keeps it in memory (lost on a leader change). */
  readonly progress?: JsonValue;
  readonly result?: JsonValue;
  /** Deprecated name of lastError, kept for existing clients: its `{ error: { code, message } }` shape looks like
   *  an API error reply to a client that tests `body.error`. */
  readonly error?: JsonValue;
  /** The error of the last failed attempt (a dead task's reason); the same value as `error`. */
  readonly lastError?: JsonValue;
  readonly createdIndex: number;
  readonly updatedIndex: number;
}

/** Task fields beyond format 2 (CONTRACT "Task fields added"). */
export interface TaskExtras {
  /** Tags a worker must all carry to run the task. */
  readonly requires?: readonly string[];
  /** Per-attempt deadline. */
  readonly timeoutMs?: number;
  /** Leader-clock epoch ms before which the task is not assigned. */
  readonly runAt?: number;
  /** Leader clock when the task last became terminal (complete/fail/cancel commands carry it): its age for
   *  retention (task-retention.ts). Absent for tasks finished by entries written before it existed. */
  readonly finishedAtMs?: number;
}

/** Worker fields beyond snapshot format 2 (record-extras.ts checks them in a snapshot). */
export interface WorkerExtras {
  /** "external" for a worker that is not a Raft member; absent for a member. */
  readonly kind?: "external";
  readonly tags?: readonly string[];
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
  /** The worker's tags (a member's from the cluster file); [] when none. */
  readonly tags: readonly string[];
  /** Fields beyond format 2: `kind: "external"` and `tags` of a worker that is not a Raft member. */
  readonly extras?: WorkerExtras;
}

export type ApplyErrorCode =
  /** complete/fail carrying an attempt that is not the task's current one, or a task no longer assigned. */
  | "STALE_ATTEMPT"
  /** The task or worker does not exist. */
  | "NOT_FOUND"
  /** The entry's bytes do not decode to a valid command (applied as a no-op on every replica alike). */
  | "BAD_COMMAND"
  /** retry of a task that is not dead or cancelled; a schedule beyond the table's limit. */
  | "INVALID_STATE";

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
      /** delete: the ids deleted, in command order; submit: [id] when the id is in the dedupe window of deleted
       *  tasks (answered as a duplicate, nothing created). */
      readonly deleted?: readonly string[];
      /** scheduleAdd/scheduleRemove: the schedule addressed. */
      readonly schedule?: ScheduleRecord;
    }
  | { readonly ok: false; readonly code: ApplyErrorCode; readonly message: string; readonly task?: Task };

/** What each slot's task of a recurring schedule is submitted with. */
export interface ScheduleTaskTemplate {
  readonly payload: JsonValue;
  readonly priority: number;
  readonly maxAttempts: number;
  /** As on a submit (CONTRACT "Task fields added"); absent: none. Absent in records written before they existed. */
  readonly requires?: readonly string[];
  readonly timeoutMs?: number;
}

/** A recurring schedule (POST /v1/schedules) as the table keeps it and the API answers it (schedule-record.ts). */
export interface ScheduleRecord {
  readonly id: string;
  /** Exactly one of everyMs and cron is non-null. */
  readonly everyMs: number | null;
  readonly cron: string | null;
  readonly task: ScheduleTaskTemplate;
  /** Leader clock when created. */
  readonly createdAtMs: number;
  /** The last slot fired (epoch ms); createdAtMs before the first, so the first slot is after creation. */
  readonly lastSlotMs: number;
}
