// When a node takes its next snapshot (issue #18 item 2). Every node applying the same log used to snapshot at the
// same index, so all of them paid the cost (serialize, write) at once: a stall on every node together is what cost
// elections. Each member now has its own phase inside the period, from its position among the members sorted by
// id: with 3 members and snapshotEveryEntries 500, the nodes snapshot at 500k, 500k+166 and 500k+333.
//
// Pure, so that the simulator decides with the same function as the node.

/** The members in a fixed order every node agrees on, and this node's place in it (0 when not a member). */
export function snapshotPosition(id: string, voters: readonly string[], learners: readonly string[]): { position: number; members: number } {
  const members = [...voters, ...learners].sort();
  return { position: Math.max(0, members.indexOf(id)), members: Math.max(1, members.length) };
}

/** The applied index at which the node takes its next snapshot, given the index of the snapshot it holds (taken
 *  or installed). The next one falls on this member's phase, at least half a period after the last one, so an
 *  installed snapshot at any index does not pull the node back into step with the others or snapshot at once. */
export function nextSnapshotIndex(lastSnapshotIndex: number, everyEntries: number, position: number, members: number): number {
  const phase = Math.floor((everyEntries * (position % members)) / members);
  const minimum = lastSnapshotIndex + Math.max(1, Math.floor(everyEntries / 2));
  const k = Math.ceil((minimum - phase) / everyEntries);
  return Math.max(0, k) * everyEntries + phase;
}

/** Whether a snapshot is due at `applied`. everyEntries <= 0 turns snapshots off. */
export function snapshotDue(applied: number, lastSnapshotIndex: number, everyEntries: number, position: number, members: number): boolean {
  if (everyEntries <= 0) return false;
  return applied >= nextSnapshotIndex(lastSnapshotIndex, everyEntries, position, members);
}

/** How many times its own duration a node rests after a snapshot before it starts the next one. A snapshot
 *  re-serializes the whole table whatever snapshotEveryEntries says: at 500 entries and a ~30 MB table that was
 *  every few seconds, a snapshot in flight 55% of the time under load, so the node (and, on a shared box, its peers)
 *  was short of CPU most of the time. With 4 a node spends at most a fifth of its time snapshotting; a bigger table
 *  or a busier machine, which make snapshots slower, space them out by themselves. */
export const SNAPSHOT_REST_FACTOR = 4;

/** The previous local snapshot's timing: when it ended and how long it took from capture to saved. */
export interface LastSnapshotTiming {
  readonly finishedAtMs: number;
  readonly durationMs: number;
}

/** Whether enough time passed since the previous snapshot to start one (a snapshot still in flight is the
 *  caller's to check: one at a time). Null: none taken yet. */
export function snapshotRestOver(nowMs: number, last: LastSnapshotTiming | null, restFactor = SNAPSHOT_REST_FACTOR): boolean {
  if (last === null) return true;
  return nowMs >= last.finishedAtMs + restFactor * Math.max(0, last.durationMs);
}
