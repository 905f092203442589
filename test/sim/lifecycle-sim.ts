// Issue 13's table commands in the simulator (SimOptions.lifecycle): what the production leader does in
// src/node/lifecycle-duties.ts, on the simulator's clock — retention through planRetention (one delete command in
// flight, at most RETENTION_BATCH ids) and one recurring schedule fired through dueSlot — plus the history the
// lifecycle checkers read (lifecycle-checkers.ts), checked incrementally as it is recorded.
import type { SimNode } from "./node.js";
import type { Command } from "../../src/scheduler/commands.js";
import { MAX_DEDUPE_KEEP } from "../../src/scheduler/commands.js";
import { nextSlot, slotToFire, type ScheduleRecord } from "../../src/scheduler/schedule-record.js";
import { planRetention, RETENTION_BATCH, type RetentionPolicy } from "../../src/scheduler/task-retention.js";
import type { ApplyResult } from "../../src/scheduler/types.js";
import type { CreationRecord, DeletionRecord, SchedulerView, SlotDueRecord, SlotRecord } from "./view.js";

/** Short ages, so that a 15-second run deletes a lot; the dedupe window keeps every deleted id, so a client's
 *  retried submit of a deleted task is answered as a duplicate (the model's clients never mean a new task). */
export const SIM_RETENTION: RetentionPolicy = { completedMs: 300, deadMs: 600, cancelledMs: 200, maxTerminal: 40, dedupeIds: MAX_DEDUPE_KEEP };
export const SIM_SCHEDULE_ID = "every1s";
const SIM_SCHEDULE_EVERY_MS = 1000;
/** A slot is owed once its window is over: by then its leader had to propose it. */
const SLOT_SETTLE_MS = 0;
/** The simulator's tick: a leader that ran its duties at consecutive ticks led without a gap. */
const DUTY_TICK_MS = 10;

/** A stretch of time during which one leader (node, incarnation, term) ran its duties every tick. */
interface DutyRun {
  readonly key: string;
  readonly fromMs: number;
  toMs: number;
  /** Slots up to here were checked for this run (scheduleSlotSkipped). */
  checkedThroughMs: number;
  /** When this leader's table first showed the schedule in this run (a leader catching up may not have it yet). */
  scheduleSinceMs: number | null;
}

type Propose = (command: Command, label: string, done: (o: { applied: boolean; result?: ApplyResult }) => void) => boolean;
type Check = (name: "deletedTaskReturned" | "deletionDivergence" | "scheduleSlotTwice" | "scheduleSlotReplayed" | "scheduleSlotSkipped" | "taskDuplicated", parts: Partial<SchedulerView>) => void;

interface LeaderState {
  readonly key: string;
  deleting: boolean;
  /** The latest slot this leader proposed (production's slotToFire decides the next). */
  proposedUpTo: number | undefined;
  /** A fire not yet applied or given up (only the oneFireInFlight contrast waits for it). */
  firing: boolean;
  adding: boolean;
}

export class SimLifecycle {
  readonly deletions: DeletionRecord[] = [];
  private readonly firstDeletionAt = new Map<number, DeletionRecord>();
  private readonly slots: SlotRecord[] = [];
  private readonly firstSlot = new Map<string, SlotRecord>();
  private leader: LeaderState | null = null;
  private readonly dutyRuns = new Map<string, DutyRun>();
  /** `<leader key>:<slot>` of every scheduleFire a leader proposed. */
  private readonly proposedSlots = new Set<string>();
  /** Ids each node deleted, and the creations of such an id it applied afterwards (a resubmit may create anew). */
  private readonly deletedBy = new Map<string, Set<string>>();
  private readonly recreations: CreationRecord[] = [];
  stats = { deleteCommands: 0, deleted: 0, slotsFired: 0 };

  constructor(
    private readonly check: Check,
    private readonly slotsByIdOnly = false,
    /** Broken on purpose: fire the first missed slot, not the latest due (scheduleSlotReplayed must fire). */
    private readonly replayMissedSlots = false,
    /** Broken on purpose: leave every third slot unfired (scheduleSlotSkipped must fire). */
    private readonly skipSlots = false,
    /** Broken on purpose: the old rule, one fire in flight at a time (scheduleSlotSkipped must fire). */
    private readonly oneFireInFlight = false,
  ) {}

  /** The leader's duties for this tick (nowMs: the simulator's clock). */
  leaderDuty(n: SimNode, term: number, nowMs: number, propose: Propose): void {
    const key = `${n.id}/${n.incarnation}/${term}`;
    if (this.leader?.key !== key) this.leader = { key, deleting: false, proposedUpTo: undefined, firing: false, adding: false };
    const me = this.leader;
    const table = n.tasks;
    const schedule = table.schedules().find((s) => s.id === SIM_SCHEDULE_ID);
    const run = this.dutyRunOf(key, nowMs);
    if (schedule !== undefined) this.checkSlotsLedThrough(schedule, run, nowMs);
    if (schedule === undefined && !me.adding) {
      const cmd: Command = { type: "scheduleAdd", schedule: { id: SIM_SCHEDULE_ID, everyMs: SIM_SCHEDULE_EVERY_MS, cron: null, task: { payload: { scheduled: true }, priority: 0, maxAttempts: 2 }, createdAtMs: nowMs, lastSlotMs: nowMs } };
      me.adding = propose(cmd, "scheduleAdd", () => (me.adding = false));
    }
    if (schedule !== undefined && !(this.oneFireInFlight && me.firing)) {
      const firstMissed = nextSlot(schedule, schedule.lastSlotMs);
      const replayed = firstMissed !== null && firstMissed <= nowMs && (me.proposedUpTo === undefined || firstMissed > me.proposedUpTo) ? firstMissed : null;
      const slotMs = this.replayMissedSlots ? replayed : slotToFire(schedule, nowMs, me.proposedUpTo);
      const fire: Command = this.slotsByIdOnly
        ? { type: "submit", id: `${schedule.id}:${slotMs}`, payload: schedule.task.payload, priority: 0, maxAttempts: 2, nowMs }
        : { type: "scheduleFire", id: schedule.id, slotMs: slotMs ?? 0, nowMs };
      const skipped = this.skipSlots && slotMs !== null && (slotMs / SIM_SCHEDULE_EVERY_MS) % 3 === 1;
      if (slotMs !== null && !skipped) {
        // As production: a fire that was not proposed, or ended without applying, may be proposed again.
        const forget = (): void => {
          if (me.proposedUpTo === slotMs) me.proposedUpTo = undefined;
        };
        me.proposedUpTo = slotMs;
        this.proposedSlots.add(`${key}:${slotMs}`);
        me.firing = propose(fire, `scheduleFire ${slotMs}`, (o) => {
          me.firing = false;
          if (!o.applied) forget();
        });
        if (!me.firing) forget();
      }
    }
    if (!me.deleting) {
      const ids = planRetention(table.taskIndexes, SIM_RETENTION, nowMs, RETENTION_BATCH);
      const dedupe = this.slotsByIdOnly ? {} : { dedupeKeep: SIM_RETENTION.dedupeIds };
      if (ids.length > 0) me.deleting = propose({ type: "delete", ids, ...dedupe }, `delete ${ids.length}`, () => (me.deleting = false));
    }
  }

  /** This leader's stretch of consecutive duty ticks, extended to `nowMs` (or a new one after a gap). */
  private dutyRunOf(key: string, nowMs: number): DutyRun {
    const run = this.dutyRuns.get(key);
    if (run && nowMs - run.toMs <= DUTY_TICK_MS) {
      run.toMs = nowMs;
      return run;
    }
    const fresh: DutyRun = { key, fromMs: nowMs, toMs: nowMs, checkedThroughMs: -Infinity, scheduleSinceMs: null };
    this.dutyRuns.set(key, fresh);
    return fresh;
  }

  /** Every slot whose window this leader has led through, with the schedule in its table all along, must have been
   *  proposed by it or exist. The first slot after the schedule's creation is left out: the creation's own commit may
   *  take part of its window. */
  private checkSlotsLedThrough(schedule: ScheduleRecord, run: DutyRun, nowMs: number): void {
    const every = SIM_SCHEDULE_EVERY_MS;
    run.scheduleSinceMs ??= nowMs;
    const latest = Math.floor((nowMs - every - SLOT_SETTLE_MS) / every) * every;
    const earliest = Math.ceil(Math.max(run.scheduleSinceMs, schedule.createdAtMs + every + 1) / every) * every;
    for (let slotMs = Math.max(earliest, run.checkedThroughMs + every); slotMs <= latest; slotMs += every) {
      const first = this.firstSlot.get(`${schedule.id}:${slotMs}`);
      const proposed = this.proposedSlots.has(`${run.key}:${slotMs}`);
      const due: SlotDueRecord = { schedule: schedule.id, slotMs, leader: run.key, fromMs: run.fromMs, checkedAtMs: nowMs, proposed };
      this.check("scheduleSlotSkipped", { slots: first ? [first] : [], slotsDue: [due] });
    }
    if (latest > run.checkedThroughMs) run.checkedThroughMs = latest;
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
