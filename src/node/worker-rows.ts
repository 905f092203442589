// GET /v1/workers' rows, built from the table's worker records and the membership (moved out of node-api.ts,
// which is over the house's file limit). `leader`: the leader's view (silence, lingering handlers), null on a
// follower answering from its local table.

export interface WorkerRecordView {
  readonly id: string;
  readonly alive: boolean;
  readonly active: number;
  readonly capacity: number;
  /** The worker's tags (CONTRACT: GET /v1/workers lists them); absent: none. */
  readonly tags?: readonly string[];
  /** kind "external" and tags of a worker that is not a member (record-extras.ts). */
  readonly extras?: { readonly kind?: "external"; readonly tags?: readonly string[] };
}

export interface LeaderWorkerView {
  silenceMs(id: string): number | null;
  /** Aborted handlers still running there, as the worker told the leader (lingering-handlers.ts). */
  lingeringOf(id: string): number;
}

export interface WorkerRow {
  readonly id: string;
  readonly kind: "member" | "external";
  readonly alive: boolean;
  readonly active: number;
  readonly capacity: number;
  readonly tags: readonly string[];
  readonly lastSeenMs: number | null;
  readonly lingering: number | null;
}

export function workerRows(records: readonly WorkerRecordView[], members: ReadonlyMap<string, number>, leader: LeaderWorkerView | null): WorkerRow[] {
  const row = (w: WorkerRecordView): WorkerRow => ({
    id: w.id,
    kind: w.extras?.kind ?? "member",
    alive: w.alive,
    active: w.active,
    capacity: w.capacity,
    tags: w.extras?.tags ?? w.tags ?? [],
    lastSeenMs: leader ? leader.silenceMs(w.id) : null,
    lingering: leader ? leader.lingeringOf(w.id) : null,
  });
  const rows = records.map(row);
  // A member that never came up has no worker record yet; the contract lists every member, a dead one as
  // alive: false, so it is listed too.
  const listed = new Set(rows.map((r) => r.id));
  for (const [id, capacity] of members) if (!listed.has(id)) rows.push(row({ id, alive: false, active: 0, capacity }));
  return rows.sort((a, b) => (a.id < b.id ? -1 : a.id > b.id ? 1 : 0));
}
