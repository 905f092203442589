// Validation of the opaque JSON values (payload, result, error) that commands carry. A decoded command must hold
// nothing JSON cannot express (no Dates, binaries, BigInts, undefined or NaN), so every replica and every HTTP
// answer sees the same value.

import type { JsonValue } from "./types.js";

export const MAX_JSON_DEPTH = 64;

/** null when `value` is a JSON value; otherwise a short reason naming the first offending path. */
export function jsonProblem(value: unknown, path = "$", depth = 0): string | null {
  if (depth > MAX_JSON_DEPTH) return `${path}: nested deeper than ${MAX_JSON_DEPTH}`;
  if (value === null || typeof value === "string" || typeof value === "boolean") return null;
  if (typeof value === "number") return Number.isFinite(value) ? null : `${path}: number is not finite`;
  if (Array.isArray(value)) {
    for (let i = 0; i < value.length; i++) {
      const problem = jsonProblem(value[i], `${path}[${i}]`, depth + 1);
      if (problem !== null) return problem;
    }
    return null;
  }
  if (typeof value === "object" && Object.getPrototypeOf(value) === Object.prototype) {
    for (const key of Object.keys(value)) {
      const problem = jsonProblem((value as Record<string, unknown>)[key], `${path}.${key}`, depth + 1);
      if (problem !== null) return problem;
    }
    return null;
  }
  return `${path}: ${typeof value} is not a JSON value`;
}

export function isJsonValue(value: unknown): value is JsonValue {
  return jsonProblem(value) === null;
}
