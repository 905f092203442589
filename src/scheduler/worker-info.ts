// A worker's public row (WorkerInfo) from the table's record, and the extras a workerUp leaves on the record.
import type { WorkerUpCommand } from "./commands.js";
import type { WorkerRecord } from "./records.js";
import { withWorkerTags } from "./task-fields.js";
import type { WorkerExtras, WorkerInfo } from "./types.js";

export function workerInfo(w: WorkerRecord, active: number): WorkerInfo {
  const info = { id: w.id, alive: w.alive, active, capacity: w.capacity, changedAtMs: w.changedAtMs, tags: w.extras?.tags ?? [] };
  return w.extras === undefined ? info : { ...info, extras: w.extras };
}

/** The extras after a workerUp: the command carries the worker's whole registration (an external worker's kind,
 *  any worker's tags), so the record's tags become the command's (none when absent: a member whose tags were
 *  removed from the file loses them). A workerUp written before these fields existed carries neither and so
 *  leaves a record without extras as it was. */
export function workerUpExtras(previous: WorkerExtras | undefined, command: WorkerUpCommand): WorkerExtras | undefined {
  const withKind = command.kind !== undefined ? { ...previous, kind: command.kind } : previous;
  return withWorkerTags(withKind, command.tags);
}
