// Fields of tasks, workers and the table added after snapshot format 2. Each is optional and absent means its
// default, so a record without any (the common case) costs one `null` in a snapshot, and a format-2 snapshot
// decodes unchanged. A new field is added in three places here: its type, its check in the decoder's table below,
// and nothing else — the codec (snapshot.ts) writes each extras object with its keys sorted, so the same table
// still gives the same bytes on every replica.
import { TableError } from "./errors.js";
import type { TaskExtras, WorkerExtras } from "./types.js";
import { isScheduleRecord, type ScheduleRecord } from "./schedule-record.js";

/** Task fields beyond format 2: declared in types.ts (so task-fields.ts reads them without a cycle), checked here. */
export type { TaskExtras } from "./types.js";

/** Worker fields beyond format 2: declared in types.ts (WorkerInfo carries them), checked here. */
export type { WorkerExtras } from "./types.js";

/** Table-wide state beyond format 2; one object in the snapshot's root. */
export interface TableExtras {
  /** Ids of recently deleted tasks, oldest first, bounded by the delete command's dedupeKeep (task-lifecycle.ts):
   *  a resubmit of one answers as a duplicate instead of creating the task again. */
  readonly deletedIds?: readonly string[];
  /** Recurring schedules, sorted by id (schedules.ts). */
  readonly schedules?: readonly ScheduleRecord[];
}

type Check = (value: unknown) => boolean;

const isNat = (v: unknown): boolean => Number.isSafeInteger(v) && (v as number) >= 0;
const isStringList = (v: unknown): boolean => Array.isArray(v) && v.every((x) => typeof x === "string");

const TASK_CHECKS: Record<keyof TaskExtras, Check> = {
  requires: isStringList,
  timeoutMs: isNat,
  runAt: isNat,
  finishedAtMs: isNat,
};

const WORKER_CHECKS: Record<keyof WorkerExtras, Check> = {
  kind: (v) => v === "external",
  tags: isStringList,
};

const TABLE_CHECKS: Record<keyof TableExtras, Check> = {
  deletedIds: isStringList,
  schedules: (v) => Array.isArray(v) && v.every(isScheduleRecord),
};

/** The object to write: keys sorted, undefined values dropped; null when nothing is left. */
export function canonicalExtras(extras: object | undefined): Record<string, unknown> | null {
  if (extras === undefined) return null;
  const out: Record<string, unknown> = {};
  let any = false;
  for (const key of Object.keys(extras).sort()) {
    const value = (extras as Record<string, unknown>)[key];
    if (value === undefined) continue;
    out[key] = value;
    any = true;
  }
  return any ? out : null;
}

export function decodeTaskExtras(raw: unknown, where: string): TaskExtras | undefined {
  return decodeWith(raw, TASK_CHECKS, where) as TaskExtras | undefined;
}

export function decodeWorkerExtras(raw: unknown, where: string): WorkerExtras | undefined {
  return decodeWith(raw, WORKER_CHECKS, where) as WorkerExtras | undefined;
}

export function decodeTableExtras(raw: unknown): TableExtras | undefined {
  return decodeWith(raw, TABLE_CHECKS, "table extras") as TableExtras | undefined;
}

/** null/absent → undefined; a map whose every key is known and valid → that map; anything else refused, so a
 *  snapshot from a newer format is never half-understood. */
function decodeWith(raw: unknown, checks: Record<string, Check>, where: string): object | undefined {
  if (raw === null || raw === undefined) return undefined;
  if (typeof raw !== "object" || Array.isArray(raw)) throw bad(`${where}: extras must be a map`);
  for (const [key, value] of Object.entries(raw)) {
    const check = checks[key];
    if (check === undefined) throw bad(`${where}: unknown field ${key}`);
    if (!check(value)) throw bad(`${where}: ${key}`);
  }
  return raw;
}

function bad(message: string): TableError {
  return new TableError("BAD_SNAPSHOT", `bad snapshot: ${message}`);
}
