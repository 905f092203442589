// A submit with an id that already exists answers 200 with the existing task (the contract, and what BullMQ does
// with a known jobId). When it asks for something else (another payload, priority or maxAttempts) that silently
// drops the caller's work (issue 17 point 5), so a client can ask with `onIdReuse: "reject"` to hear it instead:
// 409 ID_REUSED. The default stays 200 because the contract promises it and retrying clients rely on it. Fields are
// compared after defaults are applied (an omitted priority is 0), and payloads as JSON values, so key order does
// not matter.
import { RaftschedError } from "../util/errors.js";
import type { JsonValue, Task } from "../scheduler/types.js";

export interface SubmittedFields {
  readonly payload: JsonValue;
  readonly priority: number;
  readonly maxAttempts: number;
  readonly requires?: readonly string[];
  readonly timeoutMs?: number;
}

/** Throws 409 ID_REUSED when `existing` was submitted with other fields than `input`. */
export function refuseReusedId(existing: Task, input: SubmittedFields): void {
  const differs: string[] = [];
  if (!sameJson(existing.payload, input.payload)) differs.push("payload");
  if (existing.priority !== input.priority) differs.push("priority");
  if (existing.maxAttempts !== input.maxAttempts) differs.push("maxAttempts");
  if (existing.requires.join(",") !== (input.requires ?? []).join(",")) differs.push("requires");
  if (existing.timeoutMs !== (input.timeoutMs ?? null)) differs.push("timeoutMs");
  if (differs.length === 0) return;
  throw new RaftschedError(
    "ID_REUSED",
    `task "${existing.id}" already exists with another ${differs.join(", ")}; a retry must send the same body (or use a new id)`,
  );
}

export function sameJson(a: JsonValue, b: JsonValue): boolean {
  if (a === b) return true;
  if (typeof a !== "object" || typeof b !== "object" || a === null || b === null) return false;
  if (Array.isArray(a) || Array.isArray(b)) {
    if (!Array.isArray(a) || !Array.isArray(b) || a.length !== b.length) return false;
    return a.every((v, i) => sameJson(v, b[i]!));
  }
  const keys = Object.keys(a);
  if (keys.length !== Object.keys(b).length) return false;
  return keys.every((k) => Object.prototype.hasOwnProperty.call(b, k) && sameJson(a[k]!, b[k]!));
}
