// A recurring schedule as the table keeps it (TableExtras.schedules, so it lives in snapshots), its checks, and
// the one pure decision the leader makes from it: which slot, if any, is due now (also run by the simulator).
//
// Slots: `everyMs` schedules fire at the epoch multiples of everyMs; cron schedules at the expression's minutes
// (UTC). A schedule's first slot is the first one after its creation. Missed slots (no leader, or the cluster was
// down) are not replayed: when several are due at once only the latest fires, once (dueSlot).
import { CronError, cronNext, cronPrev, parseCron, type CronSpec } from "./cron.js";
import { jsonProblem } from "./json-value.js";
import type { ScheduleRecord, ScheduleTaskTemplate, TaskExtras } from "./types.js";
import { canonicalTags, MAX_TIMEOUT_MS, MIN_TIMEOUT_MS, submitExtras, tagListProblem } from "./task-fields.js";

export type { ScheduleRecord, ScheduleTaskTemplate } from "./types.js";

export const SCHEDULE_ID_PATTERN = /^[A-Za-z0-9._-]{1,100}$/;
export const MIN_EVERY_MS = 1000;
export const MAX_EVERY_MS = 366 * 24 * 3600 * 1000;
/** A bound on the table's schedules: each costs a check on every leader tick. */
export const MAX_SCHEDULES = 1000;

/** The task id of one slot: idempotent, so the slot's task is created at most once. */
export function slotTaskId(scheduleId: string, slotMs: number): string {
  return `${scheduleId}:${slotMs}`;
}

/** The record with its fields in a fixed order (snapshot bytes are compared across replicas). */
export function canonicalSchedule(s: ScheduleRecord): ScheduleRecord {
  return {
    id: s.id,
    everyMs: s.everyMs,
    cron: s.cron,
    task: canonicalTemplate(s.task),
    createdAtMs: s.createdAtMs,
    lastSlotMs: s.lastSlotMs,
  };
}

/** The template with its fields in a fixed order; requires and timeoutMs only when set, so a schedule without them
 *  has the bytes it had before they existed (and an older snapshot decodes to the same record). */
function canonicalTemplate(t: ScheduleTaskTemplate): ScheduleTaskTemplate {
  const base = { payload: t.payload, priority: t.priority, maxAttempts: t.maxAttempts };
  return {
    ...base,
    ...(t.requires !== undefined && t.requires.length > 0 ? { requires: canonicalTags(t.requires) } : {}),
    ...(t.timeoutMs !== undefined ? { timeoutMs: t.timeoutMs } : {}),
  };
}

/** The extras of a slot's task: what a submit with the template's fields would give it. */
export function slotTaskExtras(t: ScheduleTaskTemplate): TaskExtras | undefined {
  return submitExtras({ ...(t.requires !== undefined ? { requires: t.requires } : {}), ...(t.timeoutMs !== undefined ? { timeoutMs: t.timeoutMs } : {}) });
}

/** The problem with a template's requires/timeoutMs as [field, reason] (field under `task.`), or null. */
export function templateFieldProblem(t: Record<string, unknown>): [string, string] | null {
  if (t.requires !== undefined) {
    const problem = tagListProblem(t.requires);
    if (problem !== null) return ["task.requires", problem];
  }
  if (t.timeoutMs !== undefined) {
    const v = t.timeoutMs;
    if (typeof v !== "number" || !Number.isSafeInteger(v) || v < MIN_TIMEOUT_MS || v > MAX_TIMEOUT_MS) return ["task.timeoutMs", `must be an integer from ${MIN_TIMEOUT_MS} to ${MAX_TIMEOUT_MS} (24 h)`];
  }
  return null;
}

/** null when `v` is a valid schedule record, else the reason naming the field. */
export function scheduleProblem(v: unknown): string | null {
  if (typeof v !== "object" || v === null || Array.isArray(v)) return "schedule must be a map";
  const s = v as Record<string, unknown>;
  for (const key of Object.keys(s)) {
    if (!["id", "everyMs", "cron", "task", "createdAtMs", "lastSlotMs"].includes(key)) return `schedule: unknown field ${key.slice(0, 40)}`;
  }
  if (typeof s.id !== "string" || !SCHEDULE_ID_PATTERN.test(s.id)) return "id must be 1-100 characters of [A-Za-z0-9._-]";
  if ((s.everyMs === null) === (s.cron === null)) return "exactly one of everyMs and cron is required";
  if (s.everyMs !== null) {
    if (!Number.isSafeInteger(s.everyMs) || (s.everyMs as number) < MIN_EVERY_MS || (s.everyMs as number) > MAX_EVERY_MS) {
      return `everyMs must be an integer in ${MIN_EVERY_MS}..${MAX_EVERY_MS}`;
    }
  } else {
    const problem = cronProblem(s.cron);
    if (problem !== null) return `cron: ${problem}`;
  }
  if (!Number.isSafeInteger(s.createdAtMs) || (s.createdAtMs as number) < 0) return "createdAtMs must be an integer >= 0";
  if (!Number.isSafeInteger(s.lastSlotMs) || (s.lastSlotMs as number) < 0) return "lastSlotMs must be an integer >= 0";
  return templateProblem(s.task);
}

export function isScheduleRecord(v: unknown): boolean {
  return scheduleProblem(v) === null;
}

function templateProblem(v: unknown): string | null {
  if (typeof v !== "object" || v === null || Array.isArray(v)) return "task must be a map";
  const t = v as Record<string, unknown>;
  for (const key of Object.keys(t)) if (!TEMPLATE_KEYS.includes(key)) return `task: unknown field ${key.slice(0, 40)}`;
  if (t.payload === undefined) return "task.payload is required";
  const payload = jsonProblem(t.payload, "task.payload");
  if (payload !== null) return payload;
  if (!Number.isSafeInteger(t.priority)) return "task.priority must be an integer";
  if (!Number.isSafeInteger(t.maxAttempts) || (t.maxAttempts as number) < 1 || (t.maxAttempts as number) > 100) return "task.maxAttempts must be an integer in 1..100";
  const fields = templateFieldProblem(t);
  return fields === null ? null : `${fields[0]} ${fields[1]}`;
}

/** The fields a schedule's task template takes: a submit's, but for the per-task id and the time fields (each
 *  slot's task is due at its slot). */
export const TEMPLATE_KEYS: readonly string[] = ["payload", "priority", "maxAttempts", "requires", "timeoutMs"];

const parsedCron = new Map<string, CronSpec>();

/** The parsed expression (cached: the leader asks every tick). Throws CronError. */
export function cronSpecOf(expression: string): CronSpec {
  let spec = parsedCron.get(expression);
  if (spec === undefined) {
    spec = parseCron(expression);
    if (parsedCron.size >= 4 * 1000) parsedCron.clear(); // bounded; entries are cheap to rebuild
    parsedCron.set(expression, spec);
  }
  return spec;
}

/** null when the expression parses and fires within the horizon (from `fromMs`), else the reason. */
export function cronProblem(expression: unknown, fromMs = Date.UTC(2026, 0, 1)): string | null {
  if (typeof expression !== "string") return "must be a string";
  try {
    if (cronNext(cronSpecOf(expression), fromMs) === null) return `"${expression}" never fires`;
    return null;
  } catch (err) {
    if (err instanceof CronError) return err.message;
    throw err;
  }
}

/** The first slot strictly after `afterMs`, or null when the schedule never fires again. */
export function nextSlot(s: Pick<ScheduleRecord, "everyMs" | "cron">, afterMs: number): number | null {
  if (s.everyMs !== null) return (Math.floor(afterMs / s.everyMs) + 1) * s.everyMs;
  return cronNext(cronSpecOf(s.cron!), afterMs);
}

/** The slot to fire now: the latest slot at or before nowMs that is after the last one fired, or null. */
export function dueSlot(s: ScheduleRecord, nowMs: number): number | null {
  const next = nextSlot(s, s.lastSlotMs);
  if (next === null || next > nowMs) return null;
  if (s.everyMs !== null) return Math.floor(nowMs / s.everyMs) * s.everyMs;
  return cronPrev(cronSpecOf(s.cron!), nowMs);
}

/** The slot a leader fires now, or null: the latest due (dueSlot), unless this leader already proposed it or a later
 *  one (`proposedUpToMs`). Fires are pipelined: a slot does not wait for the previous slot's commit, so a commit
 *  slower than one period skips no slot while a leader exists (issue 13 point 8); each slot is still proposed once
 *  per leader, and the log applies them in order (a slot at or before the last fired one creates nothing). */
export function slotToFire(s: ScheduleRecord, nowMs: number, proposedUpToMs: number | undefined): number | null {
  const slotMs = dueSlot(s, nowMs);
  if (slotMs === null || (proposedUpToMs !== undefined && slotMs <= proposedUpToMs)) return null;
  return slotMs;
}
