// Validation of the opaque JSON values (payload, result, error) that commands carry. A decoded command must hold
// nothing JSON cannot express (no Dates, binaries, BigInts, undefined or NaN), so every replica and every HTTP
// answer sees the same value.
//
// The walk is iterative with an explicit stack and stops at MAX_JSON_DEPTH + 1, so no input can exhaust the call
// stack: JSON.parse accepts a 1 MiB body nested ~500,000 levels deep, which a recursive walk (or JSON.stringify,
// from ~5,000 levels) cannot get through.

import type { JsonValue } from "./types.js";

export const MAX_JSON_DEPTH = 64;

/** Why a value is not an acceptable JSON value, and where: `path` starts at the root's name ("$[2].a"). */
export interface JsonValueProblem {
  readonly kind: "depth" | "number" | "type";
  readonly path: string;
  /** Without the path: "nested deeper than 64 levels", "number is not finite", "object is not a JSON value". */
  readonly reason: string;
}

/** A container being walked: its children are visited in order, `next` is the next one's position. */
interface Frame {
  readonly container: readonly unknown[] | Record<string, unknown>;
  readonly keys: readonly string[] | null;
  next: number;
}

/** Longest path a problem reports; object keys can be as long as the body. */
const MAX_PATH_CHARS = 200;

/** The first problem in depth-first order (the order a recursive walk would find it), or null for a JSON value
 *  at most MAX_JSON_DEPTH levels deep. The root is at depth 0. */
export function findJsonProblem(value: unknown, rootPath = "$"): JsonValueProblem | null {
  const stack: Frame[] = [];
  let current = value;
  for (;;) {
    // `current` sits at depth stack.length.
    if (stack.length > MAX_JSON_DEPTH) return problemAt(stack, rootPath, "depth", `nested deeper than ${MAX_JSON_DEPTH} levels`);
    if (typeof current === "number") {
      if (!Number.isFinite(current)) return problemAt(stack, rootPath, "number", "number is not finite");
    } else if (Array.isArray(current)) {
      stack.push({ container: current, keys: null, next: 0 });
    } else if (typeof current === "object" && current !== null && Object.getPrototypeOf(current) === Object.prototype) {
      stack.push({ container: current as Record<string, unknown>, keys: Object.keys(current), next: 0 });
    } else if (current !== null && typeof current !== "string" && typeof current !== "boolean") {
      return problemAt(stack, rootPath, "type", `${typeof current} is not a JSON value`);
    }
    // Move to the next value to check: the first unvisited child of the innermost unfinished container.
    for (;;) {
      const top = stack[stack.length - 1];
      if (top === undefined) return null;
      const length = top.keys === null ? (top.container as readonly unknown[]).length : top.keys.length;
      if (top.next < length) {
        const i = top.next++;
        current = top.keys === null ? (top.container as readonly unknown[])[i] : (top.container as Record<string, unknown>)[top.keys[i]!];
        break;
      }
      stack.pop();
    }
  }
}

/** The problem of the value the stack's frames lead to (each frame's last visited child). */
function problemAt(stack: readonly Frame[], rootPath: string, kind: JsonValueProblem["kind"], reason: string): JsonValueProblem {
  let path = rootPath;
  for (const f of stack) {
    path += f.keys === null ? `[${f.next - 1}]` : `.${f.keys[f.next - 1]!}`;
    if (path.length > MAX_PATH_CHARS) {
      path = `${path.slice(0, MAX_PATH_CHARS)}…`;
      break;
    }
  }
  return { kind, path, reason };
}

/** null when `value` is a JSON value; otherwise a short reason naming the first offending path. */
export function jsonProblem(value: unknown, path = "$"): string | null {
  const problem = findJsonProblem(value, path);
  return problem === null ? null : `${problem.path}: ${problem.reason}`;
}

export function isJsonValue(value: unknown): value is JsonValue {
  return findJsonProblem(value) === null;
}
