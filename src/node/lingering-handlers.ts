// Slots held by aborted handlers that have not returned yet ("lingering" handlers), as the leader learns of them.
//
// The executor keeps an aborted handler's slot until the handler returns (attempt-start-gate.ts freeSlots), but the
// table only knows assignments: after a cancel or a reassignment the table shows the slot free while the handler
// still runs, and the leader would place new work there, which then waits on the node. So each worker tells the
// leader how many of its handlers linger, and the planner counts them as occupied slots.
//
// Why a non-replicated report and not a replicated command: only the leader places work, so only it needs the
// count; a log entry per change would be replicated and snapshotted on every node for a value that is stale the
// moment the handler returns (and a crashed worker's count would stay in the table until someone cleared it). The
// report rides the HTTP API every follower already uses to reach the leader (its complete/fail reports). It is
// sent only when the count changes (or a fresh process or a new leader must hear a non-zero count): only aborts
// cause traffic, never an idle worker. A new leader starts from zero lingering handlers, which is today's
// behaviour and safe: the executor still refuses to run more than its capacity (the work waits on the node, as it
// did before), and a worker with lingering handlers tells a new leader its count as soon as it knows of it. The
// report can lag by one round trip: in that window the leader may still place work that waits; nothing runs over
// capacity either way.

import { RaftschedError } from "../util/errors.js";

/** A report's body `{ count }`: a whole number of handlers, 0 to MAX_LINGERING_REPORTED; anything else is refused. */
export function parseLingeringCount(body: unknown): number {
  const count = body !== null && typeof body === "object" && !Array.isArray(body) ? (body as Record<string, unknown>).count : undefined;
  const extra = body !== null && typeof body === "object" ? Object.keys(body).filter((k) => k !== "count") : [];
  if (!Number.isInteger(count) || (count as number) < 0 || (count as number) > MAX_LINGERING_REPORTED || extra.length > 0) {
    throw new RaftschedError("BAD_FIELD", `a lingering report is { "count": n } with n a whole number from 0 to ${MAX_LINGERING_REPORTED}`, { field: "count" });
  }
  return count as number;
}

/** What a worker last told, and to which leadership. null: nothing since this process started. */
export interface LingeringTold {
  /** The leadership told: the leader's id and its term (`leadershipKey`). A node elected again in a later term
   *  starts from zero again, so it must hear the count again although its id is the same. */
  readonly leader: string;
  readonly count: number;
}

/** The key of one leadership: the leader's id in one term. */
export function leadershipKey(leaderId: string | null, term: number): string | null {
  return leaderId === null ? null : `${leaderId}@${term}`;
}

/** Whether a worker must tell `leader` (a leadershipKey) its lingering count now. A fresh process tells even 0 once, so a count a
 *  leader kept from before a crash is cleared; a new leader starts from zero, so it needs to hear only a non-zero
 *  count. Pure: the executor's reporter and the simulator's worker model both call it. */
export function lingeringReportDue(told: LingeringTold | null, leader: string | null, count: number): boolean {
  if (leader === null) return false;
  if (told === null) return true;
  if (told.leader !== leader) return count > 0;
  return told.count !== count;
}

/** The largest count a report may carry: more slots than any node has (bad input is refused, not clamped). */
export const MAX_LINGERING_REPORTED = 1_000_000;
/** Workers the leader keeps a count for: members are far fewer; a bound keeps bad reports from growing the map. */
export const MAX_LINGERING_WORKERS = 10_000;

/** The leader's view: worker id -> aborted handlers still running there. Cleared when this node becomes leader. */
export class LingeringLedger {
  private readonly counts = new Map<string, number>();

  /** Records a worker's report; a count of 0 drops the entry (an idle worker costs nothing). */
  set(worker: string, count: number): void {
    if (count <= 0) {
      this.counts.delete(worker);
      return;
    }
    if (!this.counts.has(worker) && this.counts.size >= MAX_LINGERING_WORKERS) return;
    this.counts.set(worker, count);
  }

  clear(): void {
    this.counts.clear();
  }

  /** The counts; with `self`, the leader's own count read from its executor (the simulator) put in instead. */
  view(self?: { readonly id: string; readonly count: number }): ReadonlyMap<string, number> {
    const out = new Map(this.counts);
    if (self && self.count > 0) out.set(self.id, self.count);
    else if (self) out.delete(self.id);
    return out;
  }
}

export interface LingeringReporterOptions {
  readonly count: () => number;
  /** The current leadership (leadershipKey), null when no leader is known. */
  readonly leader: () => string | null;
  /** Delivers the count to the leader; throws when it did not arrive (tried again at the next poke). */
  readonly send: (count: number) => Promise<void>;
}

/** The worker's side: at most one report in flight, so reports arrive in the order the counts changed. */
export class LingeringReporter {
  private told: LingeringTold | null = null;
  private sending = false;

  constructor(private readonly o: LingeringReporterOptions) {}

  /** Called when the count may have changed (a handler aborted or returned) and on the executor's timer. */
  poke(): void {
    if (this.sending) return;
    const leader = this.o.leader();
    const count = this.o.count();
    if (!lingeringReportDue(this.told, leader, count) || leader === null) return;
    this.sending = true;
    this.o
      .send(count)
      .then(
        () => {
          this.told = { leader, count };
          this.sending = false;
          // The count may have changed while the report was on its way.
          if (lingeringReportDue(this.told, this.o.leader(), this.o.count())) setImmediate(() => this.poke());
        },
        () => {
          this.sending = false; // not arrived: due again at the next poke (the executor's timer), no busy retry
        },
      );
  }
}
