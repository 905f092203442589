// The leader's duties of issue 13, run from LeaderDuties' timer: retention (delete expired terminal tasks through
// the log, one bounded command in flight at a time) and recurring schedules (one scheduleFire per due slot).
// Every decision is made here from the committed table and the leader's clock, and written into the command.
import type { Command } from "../scheduler/commands.js";
import type { TaskTable } from "../scheduler/table.js";
import { planRetention, RETENTION_BATCH, type RetentionPolicy } from "../scheduler/task-retention.js";
import { nextSlot, slotToFire } from "../scheduler/schedule-record.js";

export interface LifecycleDutiesOptions {
  readonly table: () => TaskTable;
  readonly retention: RetentionPolicy;
  readonly propose: (cmd: Command) => Promise<unknown>;
  readonly nowMs: () => number;
  readonly onError: (what: string, err: unknown) => void;
  /** How often retention looks (ms); a full batch looks again at the next run. Default 250. */
  readonly retentionEveryMs?: number;
}

export class LifecycleDuties {
  private readonly o: LifecycleDutiesOptions;
  private deleting = false;
  private nextRetentionAtMs = 0;
  /** The latest slot this leader proposed per schedule (slotToFire: each slot once, without waiting for the last). */
  private readonly proposedUpTo = new Map<string, number>();
  /** Each schedule's next slot after its last fired one (a cron's is worth computing once, not every run). */
  private readonly nextSlotOf = new Map<string, { readonly after: number; readonly next: number | null }>();
  /** Ids deleted so far by this node's retention (for the soak's figures). */
  deletedCount = 0;

  constructor(o: LifecycleDutiesOptions) {
    this.o = o;
  }

  run(): void {
    this.retain();
    this.fireSchedules();
  }

  private retain(): void {
    const now = this.o.nowMs();
    if (this.deleting || now < this.nextRetentionAtMs) return;
    const ids = planRetention(this.o.table().taskIndexes, this.o.retention, now, RETENTION_BATCH);
    // A full batch means more may be due: look again at the next run rather than after the period.
    this.nextRetentionAtMs = ids.length === RETENTION_BATCH ? 0 : now + (this.o.retentionEveryMs ?? 250);
    if (ids.length === 0) return;
    this.deleting = true;
    const keep = this.o.retention.dedupeIds;
    this.o
      .propose({ type: "delete", ids, ...(keep > 0 ? { dedupeKeep: keep } : {}) })
      .then((res) => {
        this.deletedCount += (res as { deleted?: readonly string[] } | undefined)?.deleted?.length ?? 0;
      })
      .catch((err) => this.o.onError("retention delete", err))
      .finally(() => {
        this.deleting = false;
      });
  }

  private fireSchedules(): void {
    const now = this.o.nowMs();
    const schedules = this.o.table().schedules();
    if (this.nextSlotOf.size > schedules.length) this.nextSlotOf.clear(); // some were removed
    if (this.proposedUpTo.size > schedules.length) this.proposedUpTo.clear(); // a slot proposed again creates nothing
    for (const s of schedules) {
      let cached = this.nextSlotOf.get(s.id);
      if (cached === undefined || cached.after !== s.lastSlotMs) this.nextSlotOf.set(s.id, (cached = { after: s.lastSlotMs, next: nextSlot(s, s.lastSlotMs) }));
      if (cached.next === null || cached.next > now) continue;
      const slotMs = slotToFire(s, now, this.proposedUpTo.get(s.id));
      if (slotMs === null) continue;
      this.proposedUpTo.set(s.id, slotMs);
      this.o.propose({ type: "scheduleFire", id: s.id, slotMs, nowMs: now }).catch((err) => {
        // Not proposed, or its outcome unknown: may be proposed again while it is still the latest due.
        if (this.proposedUpTo.get(s.id) === slotMs) this.proposedUpTo.delete(s.id);
        this.o.onError(`schedule ${s.id}`, err);
      });
    }
  }
}
