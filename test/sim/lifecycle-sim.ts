// Issue 13's table commands in the simulator (SimOptions.lifecycle): what the production leader does in
// src/node/lifecycle-duties.ts, on the simulator's clock — retention through planRetention (one delete command in
// flight, at most RETENTION_BATCH ids) and one recurring schedule fired through dueSlot — plus the history the
// lifecycle checkers read (lifecycle-checkers.ts), checked incrementally as it is recorded.
import type { SimNode } from "./node.js";
import type { Command } from "../../src/scheduler/commands.js";
import { MAX_DEDUPE_KEEP } from "../../src/scheduler/commands.js";
import { dueSlot, nextSlot } from "../../src/scheduler/schedule-record.js";
import { planRetention, RETENTION_BATCH, type RetentionPolicy } from "../../src/scheduler/task-retention.js";
import type { ApplyResult } from "../../src/scheduler/types.js";
import type { CreationRecord, DeletionRecord, SchedulerView, SlotRecord } from "./view.js";

/** Short ages, so that a 15-second run deletes a lot; the dedupe window keeps every deleted id, so a client's
 *  retried submit of a deleted task is answered as a duplicate (the model's clients never mean a new task). */
export const SIM_RETENTION: RetentionPolicy = { completedMs: 300, deadMs: 600, cancelledMs: 200, maxTerminal: 40, dedupeIds: MAX_DEDUPE_KEEP };
export const SIM_SCHEDULE_ID = "every1s";
const SIM_SCHEDULE_EVERY_MS = 1000;

type Propose = (command: Command, label: string, done: (o: { applied: boolean; result?: ApplyResult }) => void) => boolean;
type Check = (name: "deletedTaskReturned" | "deletionDivergence" | "scheduleSlotTwice" | "scheduleSlotReplayed" | "taskDuplicated", parts: Partial<SchedulerView>) => void;

interface LeaderState {
  readonly key: string;
  deleting: boolean;
  firing: boolean;
  adding: boolean;
}

export class SimLifecycle {
  readonly deletions: DeletionRecord[] = [];
  private readonly firstDeletionAt = new Map<number, DeletionRecord>();
  private readonly slots: SlotRecord[] = [];
  private readonly firstSlot = new Map<string, SlotRecord>();
  private leader: LeaderState | null = null;
  /** Ids each node deleted, and the creations of such an id it applied afterwards (a resubmit may create anew). */
  private readonly deletedBy = new Map<string, Set<string>>();
  private readonly recreations: CreationRecord[] = [];
  stats = { deleteCommands: 0, deleted: 0, slotsFired: 0 };

  constructor(
    private readonly check: Check,
    private readonly slotsByIdOnly = false,
    /** Broken on purpose: fire the first missed slot, not the latest due (scheduleSlotReplayed must fire). */
    private readonly replayMissedSlots = false,
  ) {}

  /** The leader's duties for this tick (nowMs: the simulator's clock). */
  leaderDuty(n: SimNode, term: number, nowMs: number, propose: Propose): void {
    const key = `${n.id}/${n.incarnation}/${term}`;
    if (this.leader?.key !== key) this.leader = { key, deleting: false, firing: false, adding: false };
    const me = this.leader;
    const table = n.tasks;
    const schedule = table.schedules().find((s) => s.id === SIM_SCHEDULE_ID);
    if (schedule === undefined && !me.adding) {
      const cmd: Command = { type: "scheduleAdd", schedule: { id: SIM_SCHEDULE_ID, everyMs: SIM_SCHEDULE_EVERY_MS, cron: null, task: { payload: { scheduled: true }, priority: 0, maxAttempts: 2 }, createdAtMs: nowMs, lastSlotMs: nowMs } };
      me.adding = propose(cmd, "scheduleAdd", () => (me.adding = false));
    }
    if (schedule !== undefined && !me.firing) {
      const firstMissed = nextSlot(schedule, schedule.lastSlotMs);
      const slotMs = this.replayMissedSlots ? (firstMissed !== null && firstMissed <= nowMs ? firstMissed : null) : dueSlot(schedule, nowMs);
      const fire: Command = this.slotsByIdOnly
        ? { type: "submit", id: `${schedule.id}:${slotMs}`, payload: schedule.task.payload, priority: 0, maxAttempts: 2, nowMs }
        : { type: "scheduleFire", id: schedule.id, slotMs: slotMs ?? 0, nowMs };
      if (slotMs !== null) me.firing = propose(fire, `scheduleFire ${slotMs}`, () => (me.firing = false));
    }
    if (!me.deleting) {
      const ids = planRetention(table.taskIndexes, SIM_RETENTION, nowMs, RETENTION_BATCH);
      const dedupe = this.slotsByIdOnly ? {} : { dedupeKeep: SIM_RETENTION.dedupeIds };
      if (ids.length > 0) me.deleting = propose({ type: "delete", ids, ...dedupe }, `delete ${ids.length}`, () => (me.deleting = false));
    }
  }

  /** Every applied entry of a node: records deletions and slot creations, checks them against the first seen. */
  applied(n: SimNode, index: number, tick: number, command: Command, result: ApplyResult, addCreation: (c: CreationRecord) => void): void {
    if (command.type === "submit" && result.ok && result.created && this.deletedBy.get(n.id)?.has(command.id)) {
      this.recreations.push({ id: command.id, index, node: n.id, tick });
    }
    if (command.type === "delete" && result.ok) {
      const d: DeletionRecord = { ids: result.deleted ?? [], index, node: n.id, tick };
      let mine = this.deletedBy.get(n.id);
      if (!mine) this.deletedBy.set(n.id, (mine = new Set()));
      for (const id of d.ids) mine.add(id);
      this.deletions.push(d);
      if (n.role === "leader") {
        this.stats.deleteCommands++;
        this.stats.deleted += d.ids.length;
      }
      const first = this.firstDeletionAt.get(index);
      if (!first) this.firstDeletionAt.set(index, d);
      else this.check("deletionDivergence", { deletions: [first, d] });
    }
    const slot = slotOf(command);
    if (slot !== null && result.ok && result.created) {
      const fired = command.type === "scheduleFire" ? { firedAtMs: command.nowMs, nextSlotMs: nextSlot({ everyMs: SIM_SCHEDULE_EVERY_MS, cron: null }, slot.slotMs) } : {};
      const s: SlotRecord = { ...slot, ...fired, index, node: n.id, tick };
      if (n.role === "leader") this.stats.slotsFired++;
      const key = `${s.schedule}:${s.slotMs}`;
      const first = this.firstSlot.get(key);
      const before = this.slots.filter((x) => x.node === n.id && x.schedule === s.schedule && x.index < index).at(-1);
      this.slots.push(s);
      if (!first) this.firstSlot.set(key, s);
      this.check("scheduleSlotTwice", { slots: [...(first ? [first] : []), ...(before ? [before] : []), s] });
      this.check("scheduleSlotReplayed", { slots: [s] });
      if (command.type === "scheduleFire") addCreation({ id: key, index, node: n.id, tick });
    }
  }

  /** A node's table at its applied index (a periodic sample or a restore): no deleted task came back. */
  checkTable(nodeView: SchedulerView["nodes"][number]): void {
    const node = nodeView.id;
    this.check("deletedTaskReturned", { nodes: [nodeView], deletions: this.deletions.filter((d) => d.node === node), creations: this.recreations.filter((c) => c.node === node) });
  }
}

/** The schedule slot a command creates the task of: a scheduleFire, or (slotsByIdOnly) a submit of a slot's id. */
function slotOf(command: Command): { schedule: string; slotMs: number } | null {
  if (command.type === "scheduleFire") return { schedule: command.id, slotMs: command.slotMs };
  if (command.type === "submit" && command.id.startsWith(`${SIM_SCHEDULE_ID}:`)) return { schedule: SIM_SCHEDULE_ID, slotMs: Number(command.id.slice(SIM_SCHEDULE_ID.length + 1)) };
  return null;
}
