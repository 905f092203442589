// The Client's typed inputs and results: the task object and the watch event as the HTTP API answers them
// (README, "HTTP API"); declared here so `raftsched/client` needs nothing from the node's code.

export type TaskState = "pending" | "assigned" | "completed" | "dead" | "cancelled";

export interface Task {
  readonly id: string;
  readonly state: TaskState;
  readonly worker: string | null;
  readonly attempt: number;
  readonly payload: unknown;
  readonly priority: number;
  readonly maxAttempts: number;
  readonly result?: unknown;
  readonly error?: unknown;
  readonly createdIndex: number;
  readonly updatedIndex: number;
  /** Fields added by newer servers (requires, timeoutMs, runAt, ...) pass through. */
  readonly [field: string]: unknown;
}

export interface SubmitInput {
  readonly id?: string;
  readonly payload: unknown;
  readonly maxAttempts?: number;
  readonly priority?: number;
  /** Further submit fields the server knows (requires, timeoutMs, runAt, delayMs, ...) go through as given. */
  readonly [field: string]: unknown;
}

export interface ListQuery {
  readonly state?: TaskState;
  readonly worker?: string;
  readonly limit?: number;
  readonly after?: string;
  readonly stale?: boolean;
}

export interface TaskPage {
  readonly tasks: Task[];
  readonly next: string | null;
}

export interface DeleteAnswer {
  readonly id: string;
  readonly deleted: true;
}

/** One event of GET /v1/watch: task `id` is in `state` right after log entry `index`. */
export interface TaskEvent {
  readonly index: number;
  readonly id: string;
  readonly state: TaskState;
  readonly attempt: number;
  readonly worker: string | null;
}

export interface ClientOptions {
  /** Every node's url (or a few): the Client finds the leader and moves on when one goes. */
  readonly urls: readonly string[];
  /** The cluster token (mutating calls need it). */
  readonly token?: string;
  /** One HTTP request's limit (default 10 s). */
  readonly requestTimeoutMs?: number;
  /** How long one call keeps trying other nodes before it gives up (default 30 s). */
  readonly retryForMs?: number;
  /** A watch stream silent this long is resumed on another node (default 45 s: three keep-alive periods). */
  readonly watchIdleMs?: number;
}

export interface WatchOptions {
  /** Events after this index; default: from now. */
  readonly since?: number;
  readonly signal?: AbortSignal;
  /** Also yield deletions (`event: deleted` on the stream: an explicit DELETE or retention), as TaskDeletedEvent. */
  readonly deletions?: boolean;
}

/** A task deleted at `index` (watch with `deletions: true`). */
export interface TaskDeletedEvent {
  readonly index: number;
  readonly id: string;
  readonly deleted: true;
}
