// The task model's inputs (the operations a chaos client sends), outputs (the answers it records) and states, apart
// from the model itself (task-model.ts, task-model-lifecycle.ts) so both model files read them without a cycle.

export type TaskStatus = "pending" | "assigned" | "completed" | "dead" | "cancelled";

export type TaskInput =
  /** delayMs / runAt: a delayed task (the body carried them); sentAtWallMs: Date.now() when this submit was sent. The
   *  model ignores them; the delayed-task check (delayed-task-check.ts) reads them. */
  | { readonly type: "submit"; readonly id: string; readonly payload?: unknown; readonly delayMs?: number; readonly runAt?: number; readonly sentAtWallMs?: number }
  | { readonly type: "get"; readonly id: string }
  /** supersededBy: a stale worker's report, sent after the client had seen this higher attempt (fencing must refuse it). */
  | { readonly type: "complete"; readonly id: string; readonly attempt: number; readonly supersededBy?: number }
  | { readonly type: "fail"; readonly id: string; readonly attempt: number }
  | { readonly type: "cancel"; readonly id: string }
  /** DELETE /v1/tasks/:id and POST /v1/tasks/:id/retry (task-model-lifecycle.ts). */
  | { readonly type: "delete"; readonly id: string }
  | { readonly type: "retry"; readonly id: string };

/** The part of the task object the checker looks at. */
export interface TaskView {
  readonly state: TaskStatus;
  readonly attempt: number;
  /** Omitted: not recorded, not checked. */
  readonly worker?: string | null;
  /** Omitted: not recorded, not checked. */
  readonly payload?: unknown;
  /** Recorded for checkers (log indexes order the changes of a task; maxAttempts bounds its attempts); the
   *  model does not use them yet. Omitted when the answer did not carry them. */
  readonly createdIndex?: number;
  readonly updatedIndex?: number;
  readonly maxAttempts?: number;
  /** The task's runAt (the leader's decision, epoch ms; null when none), for the delayed-task check. */
  readonly runAt?: number | null;
}

/** An HTTP answer: the status, the task when the body is one, the error code when the body is an error. */
export interface TaskOutput {
  readonly status: number;
  readonly task?: TaskView;
  readonly code?: string;
  /** The error's message (e.g. which attempt is current, for a 409), for people and checkers reading the history. */
  readonly message?: string;
  /** Date.now() when the answer arrived (the nodes run on this host's clock), for the delayed-task check. */
  readonly receivedAtWallMs?: number;
}

export interface KnownTask {
  readonly status: TaskStatus;
  readonly attempt: number;
  /** false only for a final state reached unseen (after an unknown cancel, or a 409 cancel): attempt is then
   *  a lower bound. */
  readonly attemptExact: boolean;
  /** The worker of the current (or last) attempt when known; null while pending or when unknown. */
  readonly worker: string | null;
  /** Digest of the creating submit's payload; null when it was not recorded. */
  readonly payloadKey: string | null;
}

/** null: the task does not exist. */
export type TaskModelState = KnownTask | null;
