// The commands the Raft log carries for the scheduler, and their wire form (msgpackr). The leader builds a
// command with every decision already made (worker, attempt, retry time, round-robin cursor, clock readings);
// apply() on every replica only executes it. decodeCommand never throws: bad bytes become a BAD_COMMAND
// result, which every replica applies identically as a no-op.

import { Packr } from "msgpackr";
import { jsonProblem } from "./json-value.js";
import { MAX_TIMEOUT_MS, MIN_TIMEOUT_MS, tagListProblem } from "./task-fields.js";
import type { JsonValue } from "./types.js";
import { scheduleProblem, SCHEDULE_ID_PATTERN, type ScheduleRecord } from "./schedule-record.js";

export const TASK_ID_PATTERN = /^[A-Za-z0-9._:-]{1,128}$/;
export const MAX_WORKER_ID_LENGTH = 128;
export const MIN_MAX_ATTEMPTS = 1;
export const MAX_MAX_ATTEMPTS = 100;
/** Upper bound on one assign command; the planner proposes at most this many assignments at once. */
export const MAX_ASSIGNMENTS_PER_COMMAND = 1024;
export const MAX_WORKER_CAPACITY = 100_000;
/** Upper bound on one delete command: retention spreads a burst of expiries over several commands. */
export const MAX_DELETE_IDS = 1024;
/** Upper bound on the dedupe window of deleted ids (TableExtras.deletedIds). */
export const MAX_DEDUPE_KEEP = 1_000_000;

export interface SubmitCommand {
  readonly type: "submit";
  readonly id: string;
  readonly payload: JsonValue;
  readonly priority: number;
  readonly maxAttempts: number;
  /** Leader clock at proposal, kept for the task's age; apply never reads a clock. */
  readonly nowMs: number;
  /** Tags a worker must all carry (task-fields.ts); absent: none. Absent in entries written before the field. */
  readonly requires?: readonly string[];
  /** Per-attempt deadline; absent: none. */
  readonly timeoutMs?: number;
  /** Leader-clock epoch ms before which the task is not assigned (delayMs already resolved by the leader). */
  readonly runAt?: number;
}

export interface Assignment {
  readonly taskId: string;
  readonly worker: string;
  /** Must equal the task's attempt + 1 when applied, or the entry is skipped. */
  readonly attempt: number;
}

export interface AssignCommand {
  readonly type: "assign";
  readonly assignments: readonly Assignment[];
  /** Round-robin cursor after these picks (the last worker picked), so the next leader continues from it. */
  readonly rrCursor?: string | null;
}

export interface CompleteCommand {
  readonly type: "complete";
  readonly id: string;
  readonly attempt: number;
  readonly result?: JsonValue;
  /** Leader clock at proposal: the task's finish time for retention. Absent in entries written before it. */
  readonly nowMs?: number;
}

export interface FailCommand {
  readonly type: "fail";
  readonly id: string;
  readonly attempt: number;
  readonly error?: JsonValue;
  /** When the task may be assigned again (leader clock + backoff decided by the leader). */
  readonly retryAtMs: number;
  /** Leader clock at proposal (finish time if the task dies). Absent in older entries. */
  readonly nowMs?: number;
}

export interface CancelCommand {
  readonly type: "cancel";
  readonly id: string;
  /** Leader clock at proposal (the finish time). Absent in older entries. */
  readonly nowMs?: number;
}

/** Deletes terminal tasks (DELETE /v1/tasks/:id, retention); ids not terminal when applied are skipped. */
export interface DeleteCommand {
  readonly type: "delete";
  readonly ids: readonly string[];
  /** Remember the deleted ids in the dedupe window, keeping at most this many (absent: do not remember). */
  readonly dedupeKeep?: number;
}

/** A dead or cancelled task back to pending, attempt kept. */
export interface RetryCommand {
  readonly type: "retry";
  readonly id: string;
}

export interface ScheduleAddCommand {
  readonly type: "scheduleAdd";
  readonly schedule: ScheduleRecord;
}

export interface ScheduleRemoveCommand {
  readonly type: "scheduleRemove";
  readonly id: string;
}

/** One slot of a schedule: creates task `<id>:<slotMs>` once; a slot not after the last fired is skipped. */
export interface ScheduleFireCommand {
  readonly type: "scheduleFire";
  readonly id: string;
  readonly slotMs: number;
  readonly nowMs: number;
}

export interface WorkerUpCommand {
  readonly type: "workerUp";
  readonly worker: string;
  readonly capacity: number;
  readonly nowMs: number;
  /** "external": a worker that is not a Raft member (a WebSocket worker); absent for a member. */
  readonly kind?: "external";
  /** The worker's tags (absent: none). */
  readonly tags?: readonly string[];
}

/** At most this many tags per worker, each 1-64 characters. */
export const MAX_WORKER_TAGS = 32;
export const MAX_TAG_LENGTH = 64;

export interface WorkerDeadCommand {
  readonly type: "workerDead";
  readonly worker: string;
  readonly nowMs: number;
}

export interface WorkerRemovedCommand {
  readonly type: "workerRemoved";
  readonly worker: string;
}

export type Command =
  | SubmitCommand
  | AssignCommand
  | CompleteCommand
  | FailCommand
  | CancelCommand
  | WorkerUpCommand
  | WorkerDeadCommand
  | WorkerRemovedCommand
  | DeleteCommand
  | RetryCommand
  | ScheduleAddCommand
  | ScheduleRemoveCommand
  | ScheduleFireCommand;

export type CommandType = Command["type"];

export type DecodeResult =
  | { readonly ok: true; readonly command: Command }
  | { readonly ok: false; readonly code: "BAD_COMMAND"; readonly message: string };

// Plain maps, no record structures: entries must decode the same on every node regardless of what it decoded before.
const packr = new Packr({ useRecords: false, moreTypes: false });

/** Encodes a command for proposal. Throws CommandError BAD_COMMAND when the command is invalid: the leader must
 *  never put into the log something the replicas will refuse. */
export function encodeCommand(command: Command): Uint8Array {
  const problem = commandProblem(command);
  if (problem !== null) throw new CommandError(problem);
  return packr.pack(command);
}

export function decodeCommand(bytes: Uint8Array): DecodeResult {
  let value: unknown;
  try {
    value = packr.unpack(bytes);
  } catch (err) {
    return bad(`undecodable bytes: ${(err as Error).message}`);
  }
  const problem = commandProblem(value);
  if (problem !== null) return bad(problem);
  return { ok: true, command: normalize(value as Command) };
}

export class CommandError extends Error {
  readonly code = "BAD_COMMAND";
  constructor(message: string) {
    super(message);
    this.name = "CommandError";
  }
}

/** null when `value` is a valid command, otherwise the reason. Validates field types, ranges and limits; fields
 *  it does not know are refused (a newer leader's command must not be half-applied by an older replica). */
export function commandProblem(value: unknown): string | null {
  if (typeof value !== "object" || value === null || Array.isArray(value)) return "a command must be a map";
  const c = value as Record<string, unknown>;
  switch (c.type) {
    case "submit":
      return submitProblem(c);
    case "assign": {
      const fieldProblem = onlyFields(c, ["type", "assignments", "rrCursor"]);
      if (fieldProblem !== null) return fieldProblem;
      if (c.rrCursor !== undefined && c.rrCursor !== null) {
        const cursorProblem = workerId(c.rrCursor, "rrCursor");
        if (cursorProblem !== null) return cursorProblem;
      }
      if (!Array.isArray(c.assignments)) return "assignments must be an array";
      if (c.assignments.length > MAX_ASSIGNMENTS_PER_COMMAND) {
        return `assignments: more than ${MAX_ASSIGNMENTS_PER_COMMAND}`;
      }
      for (const a of c.assignments as unknown[]) {
        if (typeof a !== "object" || a === null || Array.isArray(a)) return "an assignment must be a map";
        const e = a as Record<string, unknown>;
        const problem =
          onlyFields(e, ["taskId", "worker", "attempt"]) ??
          taskId(e.taskId) ??
          workerId(e.worker, "worker") ??
          safeInt(e.attempt, "attempt", 1);
        if (problem !== null) return problem;
      }
      return null;
    }
    case "complete":
      return (
        onlyFields(c, ["type", "id", "attempt", "result", "nowMs"]) ??
        taskId(c.id) ??
        safeInt(c.attempt, "attempt", 1) ??
        json(c.result, "result", false) ??
        optionalNat(c.nowMs, "nowMs")
      );
    case "fail":
      return (
        onlyFields(c, ["type", "id", "attempt", "error", "retryAtMs", "nowMs"]) ??
        taskId(c.id) ??
        safeInt(c.attempt, "attempt", 1) ??
        json(c.error, "error", false) ??
        safeInt(c.retryAtMs, "retryAtMs", 0) ??
        optionalNat(c.nowMs, "nowMs")
      );
    case "cancel":
      return onlyFields(c, ["type", "id", "nowMs"]) ?? taskId(c.id) ?? optionalNat(c.nowMs, "nowMs");
    case "workerUp":
      return (
        onlyFields(c, ["type", "worker", "capacity", "nowMs", "kind", "tags"]) ??
        workerId(c.worker, "worker") ??
        intIn(c.capacity, "capacity", 0, MAX_WORKER_CAPACITY) ??
        safeInt(c.nowMs, "nowMs", 0) ??
        (c.kind === undefined || c.kind === "external" ? null : 'kind must be "external" when present') ??
        tagList(c.tags)
      );
    case "workerDead":
      return onlyFields(c, ["type", "worker", "nowMs"]) ?? workerId(c.worker, "worker") ?? safeInt(c.nowMs, "nowMs", 0);
    case "workerRemoved":
      return onlyFields(c, ["type", "worker"]) ?? workerId(c.worker, "worker");
    default:
      return lifecycleProblem(c);
  }
}

function submitProblem(c: Record<string, unknown>): string | null {
  return (
    onlyFields(c, ["type", "id", "payload", "priority", "maxAttempts", "nowMs", "requires", "timeoutMs", "runAt"]) ??
    taskId(c.id) ??
    json(c.payload, "payload", true) ??
    safeInt(c.priority, "priority", Number.MIN_SAFE_INTEGER) ??
    intIn(c.maxAttempts, "maxAttempts", MIN_MAX_ATTEMPTS, MAX_MAX_ATTEMPTS) ??
    safeInt(c.nowMs, "nowMs", 0) ??
    optional(c.requires, (v) => tags(v, "requires")) ??
    optional(c.timeoutMs, (v) => intIn(v, "timeoutMs", MIN_TIMEOUT_MS, MAX_TIMEOUT_MS)) ??
    optional(c.runAt, (v) => safeInt(v, "runAt", 0))
  );
}

// msgpack writes an absent optional field as nothing but an explicit `undefined` as a value; both mean absent.
function normalize(command: Command): Command {
  if (command.type === "complete" && "result" in command && command.result === undefined) {
    const { result: _r, ...rest } = command;
    return rest;
  }
  if (command.type === "fail" && "error" in command && command.error === undefined) {
    const { error: _e, ...rest } = command;
    return rest;
  }
  return command;
}

/** The commands of task deletion, retry and schedules (issue 13), and the answer for an unknown type. */
function lifecycleProblem(c: Record<string, unknown>): string | null {
  switch (c.type) {
    case "delete":
      if (!Array.isArray(c.ids) || c.ids.length < 1 || c.ids.length > MAX_DELETE_IDS) return `ids must be an array of 1-${MAX_DELETE_IDS} task ids`;
      return onlyFields(c, ["type", "ids", "dedupeKeep"]) ?? c.ids.reduce<string | null>((p, id) => p ?? taskId(id), null) ?? (c.dedupeKeep === undefined ? null : intIn(c.dedupeKeep, "dedupeKeep", 0, MAX_DEDUPE_KEEP));
    case "retry":
      return onlyFields(c, ["type", "id"]) ?? taskId(c.id);
    case "scheduleAdd":
      return onlyFields(c, ["type", "schedule"]) ?? scheduleProblem(c.schedule);
    case "scheduleRemove":
      return onlyFields(c, ["type", "id"]) ?? scheduleId(c.id);
    case "scheduleFire":
      return onlyFields(c, ["type", "id", "slotMs", "nowMs"]) ?? scheduleId(c.id) ?? safeInt(c.slotMs, "slotMs", 0) ?? safeInt(c.nowMs, "nowMs", 0);
    default:
      return `unknown command type ${JSON.stringify(String(c.type)).slice(0, 40)}`;
  }
}

function scheduleId(v: unknown): string | null {
  return typeof v === "string" && SCHEDULE_ID_PATTERN.test(v) ? null : "schedule id must be 1-100 characters of [A-Za-z0-9._-]";
}

function optionalNat(v: unknown, name: string): string | null {
  return v === undefined ? null : safeInt(v, name, 0);
}

function bad(message: string): DecodeResult {
  return { ok: false, code: "BAD_COMMAND", message };
}

function onlyFields(c: Record<string, unknown>, allowed: readonly string[]): string | null {
  for (const key of Object.keys(c)) if (!allowed.includes(key)) return `unknown field ${JSON.stringify(key).slice(0, 40)}`;
  return null;
}

function taskId(v: unknown): string | null {
  return typeof v === "string" && TASK_ID_PATTERN.test(v) ? null : "task id must be 1-128 characters of [A-Za-z0-9._:-]";
}

function workerId(v: unknown, name: string): string | null {
  return typeof v === "string" && v.length >= 1 && v.length <= MAX_WORKER_ID_LENGTH
    ? null
    : `${name} must be a string of 1-${MAX_WORKER_ID_LENGTH} characters`;
}

/** Tags of a worker: optional; when present an array of at most MAX_WORKER_TAGS strings of 1-MAX_TAG_LENGTH. */
export function tagList(v: unknown): string | null {
  if (v === undefined) return null;
  if (!Array.isArray(v) || v.length > MAX_WORKER_TAGS) return `tags must be an array of at most ${MAX_WORKER_TAGS} strings`;
  for (const t of v) {
    if (typeof t !== "string" || t.length < 1 || t.length > MAX_TAG_LENGTH) return `a tag must be a string of 1-${MAX_TAG_LENGTH} characters`;
  }
  return null;
}

function safeInt(v: unknown, name: string, min: number): string | null {
  return Number.isSafeInteger(v) && (v as number) >= min ? null : `${name} must be an integer >= ${min}`;
}

function intIn(v: unknown, name: string, min: number, max: number): string | null {
  return Number.isSafeInteger(v) && (v as number) >= min && (v as number) <= max
    ? null
    : `${name} must be an integer in ${min}..${max}`;
}

/** Optional command fields: absent (or an explicit undefined, as msgpack may carry) is valid. */
function optional(v: unknown, check: (v: unknown) => string | null): string | null {
  return v === undefined ? null : check(v);
}

function tags(v: unknown, name: string): string | null {
  const problem = tagListProblem(v);
  return problem === null ? null : `${name}: ${problem}`;
}

function json(v: unknown, name: string, required: boolean): string | null {
  if (v === undefined) return required ? `${name} is required` : null;
  const problem = jsonProblem(v, name);
  return problem === null ? null : `${problem}`;
}
