// The contract's task object built from the table's record, and the apply answers that carry one.
import type { TaskRecord } from "./records.js";
import { valuesOf } from "./task-record-values.js";
import type { ApplyResult, JsonValue, Task, TaskExtras } from "./types.js";

const NO_TAGS: readonly string[] = Object.freeze([]);

/** The contract's task object, fields in a fixed order; result/error only when set. */
export function toTask(t: TaskRecord): Task {
  const values = valuesOf(t); // a terminal task's are parsed from its packed JSON here, on demand
  const task = {
    id: t.id,
    state: t.state,
    worker: t.worker,
    attempt: t.attempt,
    payload: values.payload,
    priority: t.priority,
    maxAttempts: t.maxAttempts,
    requires: t.extras?.requires ?? NO_TAGS,
    timeoutMs: t.extras?.timeoutMs ?? null,
    runAt: t.extras?.runAt ?? null,
  } as { -readonly [K in keyof Task]: Task[K] };
  if (values.result !== undefined) task.result = values.result;
  if (values.error !== undefined) {
    task.error = values.error;
    task.lastError = values.error;
  }
  task.createdIndex = t.createdIndex;
  task.updatedIndex = t.updatedIndex;
  return task;
}

export function notFound(id: string): ApplyResult {
  return { ok: false, code: "NOT_FOUND", message: `no task ${id}` };
}

/** null when `attempt` is the task's running attempt; otherwise the STALE_ATTEMPT answer. */
export function staleAttempt(task: TaskRecord, attempt: number): ApplyResult | null {
  if (task.state === "assigned" && task.attempt === attempt) return null;
  return {
    ok: false,
    code: "STALE_ATTEMPT",
    message: `attempt ${attempt} of task ${task.id} is not current (state ${task.state}, attempt ${task.attempt})`,
    task: toTask(task),
  };
}

/** A new task's record: pending, no attempt yet, created and updated at `index` — the one shape a submit and a
 *  schedule's slot both build. */
export function newPendingRecord(
  id: string,
  spec: { readonly payload: JsonValue; readonly priority: number; readonly maxAttempts: number },
  index: number,
  nowMs: number,
  extras: TaskExtras | undefined,
): TaskRecord {
  return {
    id,
    state: "pending",
    worker: null,
    attempt: 0,
    payload: spec.payload,
    priority: spec.priority,
    maxAttempts: spec.maxAttempts,
    result: undefined,
    error: undefined,
    createdIndex: index,
    updatedIndex: index,
    createdAtMs: nowMs,
    retryAtMs: 0,
    extras,
  };
}
