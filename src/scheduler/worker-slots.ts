// The table's workers as placement reads them on every round and apply on every assign command (brief P: with 200
// external workers these paths were the leader's top JavaScript costs): the alive workers' slots, and the smooth
// weighted round-robin's weights advanced on the records themselves. Pure functions over the table's records.
import type { WorkerRecord } from "./records.js";

/** What a placement round needs of a live worker; fresh objects the planner may change. */
export interface WorkerSlot {
  id: string;
  active: number;
  capacity: number;
  tags: readonly string[];
}

/** The alive workers in `sortedIds` order, with their running counts. */
export function liveSlotsOf(sortedIds: readonly string[], records: ReadonlyMap<string, WorkerRecord>, activeOf: (id: string) => number): WorkerSlot[] {
  const out: WorkerSlot[] = [];
  for (const id of sortedIds) {
    const w = records.get(id)!;
    if (w.alive) out.push({ id, active: activeOf(id), capacity: w.capacity, tags: w.extras?.tags ?? [] });
  }
  return out;
}

/** The weights' participants: the alive workers with a capacity, in id order (the candidates the planner saw: it
 *  plans on the committed table, one assign command at a time). */
export function weightParticipantsOf(sortedIds: readonly string[], records: ReadonlyMap<string, WorkerRecord>): WorkerRecord[] {
  const out: WorkerRecord[] = [];
  for (const id of sortedIds) {
    const w = records.get(id)!;
    if (w.alive && w.capacity > 0) out.push(w);
  }
  return out;
}

/** smoothWeightedStepInPlace for one applied assignment, on the records themselves (no map per assignment; the
 *  same integers: each weight depends only on its own value, its capacity, the total and whether it was picked). */
export function advanceWeightsOf(participants: readonly WorkerRecord[], picked: string): void {
  let total = 0;
  for (const w of participants) total += w.capacity;
  for (const w of participants) {
    const next = w.currentWeight + w.capacity - (w.id === picked ? total : 0);
    w.currentWeight = Math.max(-total, Math.min(total, next));
  }
}
