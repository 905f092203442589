// A task record's values in either form (task-values.ts), and the rule that keeps the form in step with the state:
// a record is packed exactly when its task is terminal (and its values are not too many to pack in one turn). TaskIndexes.move() and the snapshot decoder build records
// through these, so no other code needs to know which form a record is in.
import type { TaskRecord } from "./records.js";
import { isPacked, packTaskValues, unpackTaskValues, type TaskValues } from "./task-values.js";
import type { TaskState } from "./types.js";

const packedStates: ReadonlySet<TaskState> = new Set(["completed", "dead", "cancelled"]);
/** Values holding more JSON values than this stay JS values when terminal: packing is one JSON.stringify in the
 *  apply's turn, on every replica (a 1 MiB payload of numbers: 20-40 ms of CPU, several times that in wall time on
 *  a loaded box — issue 14.3). A function of the values alone, so every replica keeps the same form. */
const MAX_VALUES_TO_PACK = 4096;

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
  if (packed || !fewerValuesThan([t.payload, t.result, t.error], MAX_VALUES_TO_PACK)) return t;
  return { ...t, payload: packTaskValues({ payload: t.payload, result: t.result, error: t.error }), result: undefined, error: undefined };
}

/** Whether `v` holds fewer than `limit` JSON values (a walk of at most `limit` steps). */
function fewerValuesThan(v: unknown, limit: number): boolean {
  const stack: unknown[] = [v];
  for (let seen = 0; stack.length > 0; ) {
    const x = stack.pop();
    if (++seen >= limit) return false;
    if (Array.isArray(x)) for (let i = 0; i < x.length && seen + stack.length < limit; i++) stack.push(x[i]);
    else if (typeof x === "object" && x !== null) {
      for (const k of Object.keys(x)) {
        if (seen + stack.length >= limit) return false;
        stack.push((x as Record<string, unknown>)[k]);
      }
    }
  }
  return true;
}
