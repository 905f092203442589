// The opaque JSON values of a task (payload, result, error) as the table holds them (issue 14.4).
//
// A live task (pending, assigned) keeps them as JS values: it is read to be run. Once a task is terminal its values
// are read only when someone asks for that task, yet a table may hold hundreds of thousands of them; as objects
// they fill the V8 heap, and every major GC walks them. So on its way to a terminal state a task's values are
// packed into one Buffer holding their JSON text: external memory, which the GC neither traces nor counts in the
// heap, and one small object per task instead of a graph. Reads parse it on demand.
//
// JSON text is a faithful form for these values: they hold only what JSON expresses (json-value.ts checks every
// command), and JSON.stringify writes every number in its shortest exact form, so parsing the text gives back the
// same value — the same HTTP answer and the same snapshot bytes (snapshot.ts encodes the parsed value, so the
// snapshot format is unchanged). Packing is a function of the values alone, so every replica packs alike.
//
// Layout of the text: [flags, payload, result?, error?] with flags 1 = has result, 2 = has error (a result or an
// error may be JSON null, which is not the same as absent).
import type { JsonValue } from "./types.js";

/** The packed form: a Buffer of JSON text. Never a JsonValue (a JSON value is never a Uint8Array). */
export type PackedTaskValues = Buffer & { readonly __packedTaskValues: true };

export interface TaskValues {
  readonly payload: JsonValue;
  /** undefined = absent. */
  readonly result: JsonValue | undefined;
  readonly error: JsonValue | undefined;
}

const HAS_RESULT = 1;
const HAS_ERROR = 2;

export function isPacked(v: JsonValue | PackedTaskValues): v is PackedTaskValues {
  return v instanceof Uint8Array;
}

export function packTaskValues(v: TaskValues): PackedTaskValues {
  const flags = (v.result !== undefined ? HAS_RESULT : 0) | (v.error !== undefined ? HAS_ERROR : 0);
  // The parts are written by hand so that no wrapper array of the values is built just to be stringified.
  let text = `[${flags},${JSON.stringify(v.payload)}`;
  if (v.result !== undefined) text += `,${JSON.stringify(v.result)}`;
  if (v.error !== undefined) text += `,${JSON.stringify(v.error)}`;
  return Buffer.from(`${text}]`, "utf8") as PackedTaskValues;
}

export function unpackTaskValues(packed: PackedTaskValues): TaskValues {
  const parts = JSON.parse(packed.toString("utf8")) as [number, JsonValue, ...JsonValue[]];
  const flags = parts[0];
  let at = 2;
  const result = (flags & HAS_RESULT) !== 0 ? parts[at++] : undefined;
  const error = (flags & HAS_ERROR) !== 0 ? parts[at++] : undefined;
  return { payload: parts[1], result, error };
}
