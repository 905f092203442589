// The table's snapshot format. One msgpack array with a fixed layout, so the same table always gives the same
// bytes (tasks and workers sorted by id by the caller, every field in a fixed position, absent optionals as a
// flag rather than a missing key):
//   ["raftsched-table", 1, appliedIndex, rrCursor, workers, tasks]
//   worker: [id, alive, capacity, changedAtMs]
//   task:   [id, state, worker, attempt, priority, maxAttempts, createdIndex, updatedIndex, createdAtMs,
//            retryAtMs, flags (1 = has result, 2 = has error), payload, result | null, error | null]

import { Packr } from "msgpackr";
import type { TaskRecord, WorkerRecord } from "./table.js";
import { TableError } from "./errors.js";
import { TASK_STATES, type JsonValue, type TaskState } from "./types.js";

const MAGIC = "raftsched-table";
const VERSION = 1;
const HAS_RESULT = 1;
const HAS_ERROR = 2;

const packr = new Packr({ useRecords: false, moreTypes: false });

export interface SnapshotContents {
  readonly appliedIndex: number;
  readonly rrCursor: string | null;
  /** Sorted by id. */
  readonly workers: readonly WorkerRecord[];
  /** Sorted by id. */
  readonly tasks: Iterable<TaskRecord>;
  readonly taskCount: number;
}

export interface DecodedSnapshot {
  readonly appliedIndex: number;
  readonly rrCursor: string | null;
  readonly workers: WorkerRecord[];
  readonly tasks: TaskRecord[];
}

export function encodeSnapshot(s: SnapshotContents): Uint8Array {
  const tasks: unknown[] = new Array(s.taskCount);
  let i = 0;
  for (const t of s.tasks) {
    const flags = (t.result !== undefined ? HAS_RESULT : 0) | (t.error !== undefined ? HAS_ERROR : 0);
    tasks[i++] = [
      t.id,
      t.state,
      t.worker,
      t.attempt,
      t.priority,
      t.maxAttempts,
      t.createdIndex,
      t.updatedIndex,
      t.createdAtMs,
      t.retryAtMs,
      flags,
      t.payload,
      t.result ?? null,
      t.error ?? null,
    ];
  }
  if (i !== s.taskCount) throw new Error(`snapshot: ${i} tasks iterated, ${s.taskCount} expected`);
  const workers = s.workers.map((w) => [w.id, w.alive, w.capacity, w.changedAtMs]);
  return packr.pack([MAGIC, VERSION, s.appliedIndex, s.rrCursor, workers, tasks]);
}

export function decodeSnapshot(bytes: Uint8Array): DecodedSnapshot {
  let root: unknown;
  try {
    root = packr.unpack(bytes);
  } catch (err) {
    throw bad(`undecodable: ${(err as Error).message}`);
  }
  if (!Array.isArray(root) || root.length !== 6 || root[0] !== MAGIC) throw bad("not a task table snapshot");
  const [, version, appliedIndex, rrCursor, workers, tasks] = root as unknown[];
  if (version !== VERSION) throw bad(`unsupported version ${String(version)}`);
  if (!isNat(appliedIndex)) throw bad("appliedIndex");
  if (rrCursor !== null && typeof rrCursor !== "string") throw bad("rrCursor");
  if (!Array.isArray(workers) || !Array.isArray(tasks)) throw bad("workers/tasks must be arrays");

  const workerRecords: WorkerRecord[] = [];
  let previous: string | null = null;
  for (const w of workers as unknown[]) {
    if (!Array.isArray(w) || w.length !== 4) throw bad("worker row");
    const [id, alive, capacity, changedAtMs] = w as unknown[];
    if (typeof id !== "string" || typeof alive !== "boolean" || !isNat(capacity) || !isNat(changedAtMs)) {
      throw bad(`worker row ${String(id)}`);
    }
    if (previous !== null && !(previous < id)) throw bad("workers not sorted by id");
    previous = id;
    workerRecords.push({ id, alive, capacity, changedAtMs });
  }

  const taskRecords: TaskRecord[] = new Array(tasks.length);
  previous = null;
  for (let i = 0; i < tasks.length; i++) {
    const row = tasks[i] as unknown;
    if (!Array.isArray(row) || row.length !== 14) throw bad(`task row ${i}`);
    const [id, state, worker, attempt, priority, maxAttempts, createdIndex, updatedIndex, createdAtMs, retryAtMs, flags] =
      row as unknown[];
    if (typeof id !== "string") throw bad(`task row ${i}: id`);
    if (previous !== null && !(previous < id)) throw bad("tasks not sorted by id");
    previous = id;
    if (typeof state !== "string" || !TASK_STATES.includes(state as TaskState)) throw bad(`task ${id}: state`);
    if (worker !== null && typeof worker !== "string") throw bad(`task ${id}: worker`);
    if ((state === "pending") !== (worker === null) && state !== "cancelled") throw bad(`task ${id}: worker vs state`);
    if (
      !isNat(attempt) ||
      !Number.isSafeInteger(priority) ||
      !isNat(maxAttempts) ||
      !isNat(createdIndex) ||
      !isNat(updatedIndex) ||
      !isNat(createdAtMs) ||
      !isNat(retryAtMs) ||
      !isNat(flags)
    ) {
      throw bad(`task ${id}: numbers`);
    }
    const payload = row[11] as JsonValue;
    const result = (flags & HAS_RESULT) !== 0 ? (row[12] as JsonValue) : undefined;
    const error = (flags & HAS_ERROR) !== 0 ? (row[13] as JsonValue) : undefined;
    taskRecords[i] = {
      id,
      state: state as TaskState,
      worker: worker as string | null,
      attempt,
      payload,
      priority: priority as number,
      maxAttempts,
      result,
      error,
      createdIndex,
      updatedIndex,
      createdAtMs,
      retryAtMs,
    };
  }
  return { appliedIndex, rrCursor, workers: workerRecords, tasks: taskRecords };
}

function isNat(v: unknown): v is number {
  return Number.isSafeInteger(v) && (v as number) >= 0;
}

function bad(message: string): TableError {
  return new TableError("BAD_SNAPSHOT", `bad snapshot: ${message}`);
}
