// The external worker protocol (README, "External workers"): JSON text frames over a WebSocket at /v1/worker.
// This file is the wire vocabulary: the frames a worker may send, their validation, the frames a node sends, and
// the stable error codes. It decides nothing about tasks (worker-hub.ts does).
import { jsonProblem } from "../scheduler/json-value.js";
import { TASK_ID_PATTERN } from "../scheduler/commands.js";
import type { JsonValue } from "../scheduler/types.js";
import { MAX_BODY_BYTES } from "./http-util.js";
import { MAX_PROGRESS_BYTES } from "../node/task-progress.js";

export const WORKER_PATH = "/v1/worker";
export const WORKER_PROTOCOL_VERSION = 1;
/** A frame over this closes the connection (WebSocket close code 1009). Results are held to MAX_RESULT_BYTES. */
export const MAX_WORKER_FRAME_BYTES = 2 * MAX_BODY_BYTES;
/** A result or error as large as the HTTP API takes in a report's body. */
export const MAX_RESULT_BYTES = MAX_BODY_BYTES;
export const WORKER_ID_PATTERN = /^[A-Za-z0-9._:-]{1,128}$/;
export const TAG_PATTERN = /^[A-Za-z0-9._:-]{1,64}$/;
export const MAX_TAGS = 32;
export const MAX_EXTERNAL_CAPACITY = 1000;
/** Attempts a worker may list as running when it registers (its capacity bounds them in practice). */
export const MAX_RUNNING_LISTED = 10_000;

export type WorkerErrorCode =
  | "BAD_FRAME"
  | "UNKNOWN_TYPE"
  | "BAD_FIELD"
  | "UNSUPPORTED_VERSION"
  | "BAD_WORKER_ID"
  | "RESULT_TOO_LARGE"
  | "BAD_PROGRESS"
  | "UNAUTHORIZED"
  | "NOT_REGISTERED"
  | "ALREADY_REGISTERED"
  | "ID_IS_MEMBER"
  | "ID_IN_USE"
  | "TOO_MANY_WORKERS"
  | "NOT_HELD"
  | "REGISTER_TIMEOUT"
  | "SLOW_CONSUMER"
  | "REPLACED"
  | "SHUTTING_DOWN"
  | "REPORT_FAILED";

export interface RunningAttempt {
  readonly taskId: string;
  readonly attempt: number;
}

export type WorkerFrame =
  | { readonly type: "register"; readonly id: string; readonly capacity: number; readonly tags: readonly string[]; readonly running: readonly RunningAttempt[] }
  | { readonly type: "heartbeat" }
  | { readonly type: "complete"; readonly taskId: string; readonly attempt: number; readonly result?: JsonValue }
  | { readonly type: "fail"; readonly taskId: string; readonly attempt: number; readonly error?: JsonValue }
  | { readonly type: "progress"; readonly taskId: string; readonly attempt: number; readonly progress: JsonValue }
  | { readonly type: "drain" }
  | { readonly type: "bye" };

export interface FrameProblem {
  readonly code: WorkerErrorCode;
  readonly message: string;
  /** Close the connection after the error frame: the worker is out of step, or must not go on. */
  readonly close: boolean;
  readonly taskId?: string;
}

export type ParsedFrame = { readonly ok: true; readonly frame: WorkerFrame } | ({ readonly ok: false } & FrameProblem);

const FIELDS: Readonly<Record<WorkerFrame["type"], readonly string[]>> = {
  register: ["type", "v", "id", "capacity", "tags", "running"],
  heartbeat: ["type"],
  complete: ["type", "taskId", "attempt", "result"],
  fail: ["type", "taskId", "attempt", "error"],
  progress: ["type", "taskId", "attempt", "progress"],
  drain: ["type"],
  bye: ["type"],
};

/** Parses one text frame. Never throws. */
export function parseWorkerFrame(text: string): ParsedFrame {
  let value: unknown;
  try {
    value = JSON.parse(text);
  } catch {
    return problem("BAD_FRAME", "a frame must be one JSON object", true);
  }
  if (typeof value !== "object" || value === null || Array.isArray(value)) return problem("BAD_FRAME", "a frame must be a JSON object", true);
  const o = value as Record<string, unknown>;
  if (typeof o.type !== "string") return problem("BAD_FRAME", 'a frame needs a string "type"', true);
  const fields = FIELDS[o.type as WorkerFrame["type"]];
  if (fields === undefined || !Object.hasOwn(FIELDS, o.type)) return problem("UNKNOWN_TYPE", `unknown frame type ${JSON.stringify(o.type.slice(0, 40))}`, false);
  const taskId = typeof o.taskId === "string" && TASK_ID_PATTERN.test(o.taskId) ? o.taskId : undefined;
  for (const key of Object.keys(o)) {
    if (!fields.includes(key)) {
      const unknown = `unknown field ${JSON.stringify(key.slice(0, 40))} in a ${o.type} frame`;
      return o.type === "progress" ? problem("BAD_PROGRESS", unknown, false) : problem("BAD_FIELD", unknown, false, taskId);
    }
  }
  switch (o.type) {
    case "register":
      return parseRegister(o);
    case "complete":
    case "fail":
      return parseReport(o, o.type, taskId);
    case "progress":
      return parseProgress(o, taskId);
    default:
      return { ok: true, frame: { type: o.type as "heartbeat" | "drain" | "bye" } };
  }
}

function parseRegister(o: Record<string, unknown>): ParsedFrame {
  if (o.v !== WORKER_PROTOCOL_VERSION) return problem("UNSUPPORTED_VERSION", `this node speaks protocol version ${WORKER_PROTOCOL_VERSION} (field "v")`, true);
  if (typeof o.id !== "string" || !WORKER_ID_PATTERN.test(o.id)) return problem("BAD_WORKER_ID", "id must be 1-128 characters of [A-Za-z0-9._:-]", true);
  const capacity = o.capacity ?? 1;
  if (!Number.isSafeInteger(capacity) || (capacity as number) < 0 || (capacity as number) > MAX_EXTERNAL_CAPACITY) {
    return problem("BAD_FIELD", `capacity must be an integer in 0..${MAX_EXTERNAL_CAPACITY}`, true);
  }
  const tags = o.tags ?? [];
  if (!Array.isArray(tags) || tags.length > MAX_TAGS || !tags.every((t) => typeof t === "string" && TAG_PATTERN.test(t))) {
    return problem("BAD_FIELD", `tags must be at most ${MAX_TAGS} strings of 1-64 characters of [A-Za-z0-9._:-]`, true);
  }
  const running = o.running ?? [];
  if (!Array.isArray(running) || running.length > MAX_RUNNING_LISTED || !running.every(isRunningAttempt)) {
    return problem("BAD_FIELD", `running must be at most ${MAX_RUNNING_LISTED} { taskId, attempt } objects`, true);
  }
  // Sorted and without repeats: the same set of tags is the same registration (no log entry for a reordering).
  const sortedTags = [...new Set(tags as string[])].sort();
  return { ok: true, frame: { type: "register", id: o.id, capacity: capacity as number, tags: sortedTags, running: running as RunningAttempt[] } };
}

function isRunningAttempt(v: unknown): boolean {
  if (typeof v !== "object" || v === null || Array.isArray(v)) return false;
  const r = v as Record<string, unknown>;
  return Object.keys(r).length === 2 && typeof r.taskId === "string" && TASK_ID_PATTERN.test(r.taskId) && Number.isSafeInteger(r.attempt) && (r.attempt as number) >= 1;
}

function parseReport(o: Record<string, unknown>, type: "complete" | "fail", taskId: string | undefined): ParsedFrame {
  if (taskId === undefined) return problem("BAD_FIELD", "taskId must be 1-128 characters of [A-Za-z0-9._:-]", false);
  if (!Number.isSafeInteger(o.attempt) || (o.attempt as number) < 1) return problem("BAD_FIELD", "attempt must be an integer >= 1", false, taskId);
  const key = type === "complete" ? "result" : "error";
  const value = o[key];
  if (value !== undefined) {
    const bad = jsonProblem(value, key);
    if (bad !== null) return problem("BAD_FIELD", bad, false, taskId);
    if (Buffer.byteLength(JSON.stringify(value)) > MAX_RESULT_BYTES) {
      return problem("RESULT_TOO_LARGE", `${key} is over ${MAX_RESULT_BYTES} bytes; report a smaller one (or fail the attempt)`, false, taskId);
    }
  }
  const attempt = o.attempt as number;
  if (type === "complete") return { ok: true, frame: { type, taskId, attempt, ...(value !== undefined ? { result: value as JsonValue } : {}) } };
  return { ok: true, frame: { type, taskId, attempt, ...(value !== undefined ? { error: value as JsonValue } : {}) } };
}

/** A running attempt's progress (the same bounds as POST /v1/tasks/:id/progress): any JSON value, at most
 *  MAX_PROGRESS_BYTES. A bad one is refused with BAD_PROGRESS and the connection stays. The error names no
 *  taskId: a worker reads an error with a taskId as the answer to that task's report. */
function parseProgress(o: Record<string, unknown>, taskId: string | undefined): ParsedFrame {
  if (taskId === undefined) return problem("BAD_PROGRESS", "taskId must be 1-128 characters of [A-Za-z0-9._:-]", false);
  if (!Number.isSafeInteger(o.attempt) || (o.attempt as number) < 1) return problem("BAD_PROGRESS", "attempt must be an integer >= 1", false);
  if (!("progress" in o)) return problem("BAD_PROGRESS", "progress is required (any JSON value)", false);
  const bad = jsonProblem(o.progress, "progress");
  if (bad !== null) return problem("BAD_PROGRESS", bad, false);
  const bytes = Buffer.byteLength(JSON.stringify(o.progress));
  if (bytes > MAX_PROGRESS_BYTES) return problem("BAD_PROGRESS", `progress of task ${taskId} is ${bytes} bytes as JSON, over ${MAX_PROGRESS_BYTES}`, false);
  return { ok: true, frame: { type: "progress", taskId, attempt: o.attempt as number, progress: o.progress as JsonValue } };
}

function problem(code: WorkerErrorCode, message: string, close: boolean, taskId?: string): ParsedFrame {
  return { ok: false, code, message, close, ...(taskId !== undefined ? { taskId } : {}) };
}

/** The frames a node sends. */
export type NodeFrame =
  | { type: "registered"; v: number; id: string; leaderId: string; heartbeatMs: number; workerTimeoutMs: number }
  | { type: "notLeader"; leaderId: string | null; leaderUrl: string | null }
  | { type: "assign"; taskId: string; attempt: number; payload: JsonValue; timeoutMs?: number }
  | { type: "accepted"; taskId: string; attempt: number; state: string }
  | { type: "refused"; taskId: string; attempt: number; code: "STALE_ATTEMPT"; message: string }
  | { type: "abort"; taskId: string; attempt: number; reason: string }
  | { type: "draining"; capacity: 0 }
  | { type: "error"; code: WorkerErrorCode; message: string; taskId?: string };
