// A task record's values in either form (task-values.ts), and the rule that keeps the form in step with the state:
// a record is packed exactly when its task is terminal. TaskIndexes.move() and the snapshot decoder build records
// through these, so no other code needs to know which form a record is in.
import type { TaskRecord } from "./records.js";
import { isPacked, packTaskValues, unpackTaskValues, type TaskValues } from "./task-values.js";
import type { TaskState } from "./types.js";

const packedStates: ReadonlySet<TaskState> = new Set(["completed", "dead", "cancelled"]);

/** payload, result and error of a task, whichever form the record holds them in. */
export function valuesOf(t: TaskRecord): TaskValues {
  return isPacked(t.payload) ? unpackTaskValues(t.payload) : { payload: t.payload, result: t.result, error: t.error };
}

/** The record with its values as JS values (a copy when it was packed). */
export function unpackedRecord(t: TaskRecord): TaskRecord {
  return isPacked(t.payload) ? { ...t, ...unpackTaskValues(t.payload) } : t;
}

/** The record with its values in the form its state asks for: packed when terminal, JS values otherwise. */
export function inStateForm(t: TaskRecord): TaskRecord {
  const packed = isPacked(t.payload);
  if (!packedStates.has(t.state)) return packed ? unpackedRecord(t) : t;
  if (packed) return t;
  return { ...t, payload: packTaskValues({ payload: t.payload, result: t.result, error: t.error }), result: undefined, error: undefined };
}
