// The cluster file's "retention" object (CONTRACT "A queue that runs for months"): every field optional, each
// defaulted and range-checked, an unknown field refused; errors name the field ("retention.completedMs").
import { RETENTION_DEFAULTS, RETENTION_LIMITS, type RetentionPolicy } from "../scheduler/task-retention.js";
import { RaftschedError } from "../util/errors.js";

export function parseRetention(raw: unknown, where: string): RetentionPolicy {
  if (raw === undefined) return RETENTION_DEFAULTS;
  if (typeof raw !== "object" || raw === null || Array.isArray(raw)) throw new RaftschedError("BAD_CONFIG", `${where}: "retention" must be an object`);
  const obj = raw as Record<string, unknown>;
  for (const key of Object.keys(obj)) {
    if (!(key in RETENTION_LIMITS)) throw new RaftschedError("BAD_CONFIG", `${where}: unknown field "retention.${key}"`);
  }
  const out: Record<string, number> = {};
  for (const key of Object.keys(RETENTION_LIMITS) as (keyof RetentionPolicy)[]) {
    const [min, max] = RETENTION_LIMITS[key];
    const v = obj[key];
    if (v === undefined) {
      out[key] = RETENTION_DEFAULTS[key];
      continue;
    }
    if (typeof v !== "number" || !Number.isInteger(v) || v < min || v > max) {
      throw new RaftschedError("BAD_CONFIG", `${where}: "retention.${key}" must be an integer from ${min} to ${max}, got ${JSON.stringify(v)}`);
    }
    out[key] = v;
  }
  return out as unknown as RetentionPolicy;
}
