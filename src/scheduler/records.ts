// The table's records of tasks and workers, in a file of their own so the snapshot codec (snapshot.ts) and the
// table (table.ts) can both use them without importing each other.
import type { TaskExtras, WorkerExtras } from "./record-extras.js";
import type { PackedTaskValues } from "./task-values.js";
import type { JsonValue, TaskState } from "./types.js";

/** The table's own record of a task. Shared with the snapshot codec; never handed to callers (they get Task).
 *  Immutable: a snapshot in flight may still be reading a record that the table has since replaced. */
export interface TaskRecord {
  readonly id: string;
  readonly state: TaskState;
  readonly worker: string | null;
  readonly attempt: number;
  /** A live task's payload; a terminal task's payload, result and error packed together (task-values.ts), its
   *  result and error fields then undefined. Read them through valuesOf (task-record-values.ts). */
  readonly payload: JsonValue | PackedTaskValues;
  readonly priority: number;
  readonly maxAttempts: number;
  /** undefined = absent (JSON values never contain undefined), and always for a terminal (packed) task. */
  readonly result: JsonValue | undefined;
  readonly error: JsonValue | undefined;
  readonly createdIndex: number;
  readonly updatedIndex: number;
  /** Leader clock when submitted (from the command). */
  readonly createdAtMs: number;
  /** Not to be assigned before this leader-clock time (0: at once); set by fail's backoff. */
  readonly retryAtMs: number;
  /** Fields added after snapshot format 2 (record-extras.ts); undefined when the task has none. */
  readonly extras?: TaskExtras;
}

export interface WorkerRecord {
  readonly id: string;
  alive: boolean;
  capacity: number;
  changedAtMs: number;
  /** Smooth weighted round-robin's current weight (src/scheduler/smooth-weighted.ts), advanced by every applied
   *  assignment; 0 for a new worker and in snapshots of format 1. */
  currentWeight: number;
  /** Fields added after snapshot format 2 (record-extras.ts); undefined when the worker has none. */
  extras?: WorkerExtras;
}
