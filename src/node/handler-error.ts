// What a failed attempt stores as its error, from whatever the handler threw. An Error gives { code, message }
// (code from err.code, TASK_FAILED when it has none), as before. Anything else used to go through String(), so
// `throw { code: "MY_CODE", detail: 7 }` was stored as "[object Object]" (issue 17 point 5): a plain object now
// keeps its JSON fields, with `code` and `message` filled in when it lacks them; a string or number becomes the
// message. Too deep or too big is still the executor's BAD_RESULT (task-executor.ts reportable()).
import { errorCode } from "../util/errors.js";
import type { JsonValue } from "../scheduler/types.js";

export const DEFAULT_FAILURE_CODE = "TASK_FAILED";

export function handlerErrorValue(thrown: unknown): JsonValue {
  if (thrown instanceof Error) return { code: errorCode(thrown) ?? DEFAULT_FAILURE_CODE, message: thrown.message };
  if (typeof thrown === "object" && thrown !== null && !Array.isArray(thrown)) {
    const fields = jsonCopy(thrown);
    if (fields !== undefined && typeof fields === "object" && fields !== null && !Array.isArray(fields)) {
      const code = typeof fields.code === "string" ? fields.code : DEFAULT_FAILURE_CODE;
      const message = typeof fields.message === "string" ? fields.message : "the handler threw an object that is not an Error";
      return { ...fields, code, message };
    }
    return { code: DEFAULT_FAILURE_CODE, message: "the handler threw an object that cannot be stored as JSON" };
  }
  if (thrown === undefined) return { code: DEFAULT_FAILURE_CODE, message: "the handler threw undefined" };
  return { code: DEFAULT_FAILURE_CODE, message: typeof thrown === "string" ? thrown : String(thrown) };
}

/** The value as JSON would carry it (undefined fields and functions dropped, toJSON honoured), or undefined when
 *  it cannot be serialized (a cycle, a BigInt). */
function jsonCopy(value: object): { [key: string]: JsonValue } | JsonValue | undefined {
  try {
    const text = JSON.stringify(value);
    return text === undefined ? undefined : (JSON.parse(text) as JsonValue);
  } catch {
    return undefined;
  }
}
