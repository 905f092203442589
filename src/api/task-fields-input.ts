// The submit body's task fields (CONTRACT "Task fields added": requires, timeoutMs, runAt, and delayMs for runAt),
// checked where the request arrives, each refusal a 400 BAD_FIELD naming the field. Limits live with the fields
// (src/scheduler/task-fields.ts), so the HTTP input and the command decoder agree.
import { RaftschedError } from "../util/errors.js";
import { MAX_TIMEOUT_MS, MIN_TIMEOUT_MS, canonicalTags, runAtProblem, tagListProblem } from "../scheduler/task-fields.js";

export const TASK_FIELD_KEYS = ["requires", "timeoutMs", "runAt", "delayMs"] as const;

export interface TaskFieldsInput {
  readonly requires?: readonly string[];
  readonly timeoutMs?: number;
  readonly runAt?: number;
  readonly delayMs?: number;
}

function refuse(name: string, message: string): RaftschedError {
  return new RaftschedError("BAD_FIELD", `${name}: ${message}`);
}

/** The fields present in `o`, checked; `nowMs` is this node's clock (runAt must be within a day back, a year ahead). */
export function parseTaskFields(o: Record<string, unknown>, nowMs: number): TaskFieldsInput {
  const out: { -readonly [K in keyof TaskFieldsInput]: TaskFieldsInput[K] } = {};
  if (o.requires !== undefined) {
    const problem = tagListProblem(o.requires);
    if (problem !== null) throw refuse("requires", problem);
    out.requires = canonicalTags(o.requires as string[]);
  }
  if (o.timeoutMs !== undefined) {
    const t = o.timeoutMs;
    if (typeof t !== "number" || !Number.isSafeInteger(t) || t < MIN_TIMEOUT_MS || t > MAX_TIMEOUT_MS) {
      throw refuse("timeoutMs", `must be an integer from ${MIN_TIMEOUT_MS} to ${MAX_TIMEOUT_MS} (24 h)`);
    }
    out.timeoutMs = t;
  }
  for (const key of ["runAt", "delayMs"] as const) {
    if (o[key] !== undefined && typeof o[key] !== "number") throw refuse(key, "must be an integer number of milliseconds");
  }
  const timing = { ...(o.runAt !== undefined ? { runAt: o.runAt as number } : {}), ...(o.delayMs !== undefined ? { delayMs: o.delayMs as number } : {}) };
  const problem = runAtProblem(timing, nowMs);
  if (problem !== null) throw refuse(problem[0], problem[1]);
  return { ...out, ...timing };
}
