// The check of recurring schedules after a chaos run (issue 13; README "Recurring schedules"): from the schedules
// as created and as last read, the slot tasks the final listing holds, the watch events seen during the run, when
// leadership changed (the nodes' logs) and when faults were active. Pure, so a test can feed it a broken run.
//
// What the contract and README promise, and how each is checked:
//   once per slot     a slot's task is created once: the watch never shows its creation (pending at attempt 0) at
//                     two log indexes, nor its completion twice;
//   real slots only   every slot task's slot is one of the schedule's (nextSlot, the production code's), after its
//                     creation, never seen before its time (the leader fires a slot at or after it, on this host's
//                     clock), and slots are created in slot order;
//   no skip while a leader is available: a slot up to the last one fired that has no task is excused only when a
//                     leader could not fire it: a leadership change, a fault that takes the leader's quorum or the
//                     leader itself, or the planned downtime, within its window [slot - period, slot + period]
//                     (±0.5 s), or no leader elected yet;
//   no replay         after the planned downtime (the leader and others paused for several periods, so no leader
//                     can commit), no slot whose whole window fell inside it runs: README's policy runs only the
//                     latest missed one, once, and that is the one due when the leader returns (its window holds
//                     the end of the downtime). A replay of missed slots would run the earlier ones too.
import { nextSlot } from "../scheduler/schedule-record.js";
import type { ReceivedEvent } from "./delayed-tasks.js";

export interface CheckedSchedule {
  readonly id: string;
  readonly everyMs: number | null;
  readonly cron: string | null;
  readonly createdAtMs: number;
  /** The last slot fired, read at the end of the run (slots up to it are checked for skips). */
  readonly lastSlotMs: number;
}

/** A time span on the wall clock (epoch ms). */
export interface WallSpan {
  readonly fromMs: number;
  readonly toMs: number;
}

export interface LeadershipChange {
  readonly atMs: number;
  readonly node: string;
  readonly change: "became leader" | "stepped down";
}

/** A nemesis fault on the wall clock: kind, targets, and when it was active: to its heal, or for a fault that took
 *  the leader away to the first write acknowledged after it if later (the failover it caused). */
export interface WallFault extends WallSpan {
  readonly kind: string;
  readonly targets: readonly string[];
}

export interface ScheduleInputs {
  readonly schedules: readonly CheckedSchedule[];
  /** Ids of every task in the final listing. */
  readonly listedIds: readonly string[];
  readonly watched: readonly ReceivedEvent[];
  readonly leadership: readonly LeadershipChange[];
  readonly faults: readonly WallFault[];
  /** The planned downtime (a majority paused), if it ran. */
  readonly downtime: WallSpan | null;
}

export interface ScheduleFindings {
  schedules: number;
  slotsFired: number;
  /** Slots up to the last fired one with no task, excused by a leader change, a fault or the downtime. */
  slotsMissedExcused: number;
  createdTwice: string[];
  completedTwice: string[];
  notASlot: string[];
  early: Array<{ id: string; seenAtWallMs: number }>;
  outOfOrder: string[];
  skippedWithLeader: Array<{ schedule: string; slotMs: number }>;
  /** Slots whose whole window fell in the downtime that ran anyway, per schedule (a replay). */
  replayed: Array<{ schedule: string; slots: number[] }>;
  /** Slots whose whole window fell in the downtime (what a storm would replay), summed over schedules. */
  downtimeSlots: number;
}

const SLACK_MS = 500;
/** Slots enumerated per schedule at most (a bound on the work; a chaos run fires a few hundred). */
const MAX_SLOTS = 100_000;
/** Fault kinds that can cost the leader its quorum whoever they target. */
const QUORUM_FAULTS = new Set(["partition", "isolate-leader", "disk-stall"]);
/** Fault kinds that end their target's process: a leader killed or restarted leads no more (it logs nothing). */
const PROCESS_ENDING = new Set(["kill-leader", "kill-random", "restart"]);

export function emptyScheduleFindings(): ScheduleFindings {
  return { schedules: 0, slotsFired: 0, slotsMissedExcused: 0, createdTwice: [], completedTwice: [], notASlot: [], early: [], outOfOrder: [], skippedWithLeader: [], replayed: [], downtimeSlots: 0 };
}

export function checkSchedules(x: ScheduleInputs): ScheduleFindings {
  const f = emptyScheduleFindings();
  f.schedules = x.schedules.length;
  checkWatchedSlots(x, f);
  for (const s of x.schedules) {
    const prefix = `${s.id}:`;
    const fired = new Set<number>();
    for (const id of x.listedIds) if (id.startsWith(prefix)) fired.add(Number(id.slice(prefix.length)));
    for (const e of x.watched) if (e.id.startsWith(prefix) && e.state === "pending" && e.attempt === 0) fired.add(Number(e.id.slice(prefix.length)));
    f.slotsFired += fired.size;
    const slots = slotsOf(s, Math.max(s.lastSlotMs, ...fired));
    const known = new Set(slots);
    for (const slot of fired) if (!known.has(slot)) f.notASlot.push(`${s.id}:${slot}`);
    const firedInDowntime: number[] = [];
    for (let i = 0; i < slots.length; i++) {
      const slot = slots[i]!;
      const period = (slots[i + 1] ?? nextSlot(s, slot) ?? slot) - slot;
      // A slot whose whole window fell in the downtime (after the slack the old leader's last proposals need to
      // fail) could only run as a replay after it.
      if (x.downtime && slot > x.downtime.fromMs + SLACK_MS && slot + period <= x.downtime.toMs) {
        f.downtimeSlots++;
        if (fired.has(slot)) firedInDowntime.push(slot);
      }
      if (fired.has(slot) || slot > s.lastSlotMs) continue;
      if (leaderCouldNotFire(x, slot, period)) f.slotsMissedExcused++;
      else f.skippedWithLeader.push({ schedule: s.id, slotMs: slot });
    }
    if (firedInDowntime.length > 0) f.replayed.push({ schedule: s.id, slots: firedInDowntime });
  }
  return f;
}

/** The schedule's slots after its creation up to `untilMs` (bounded). */
function slotsOf(s: CheckedSchedule, untilMs: number): number[] {
  const out: number[] = [];
  for (let slot = nextSlot(s, s.createdAtMs); slot !== null && slot <= untilMs && out.length < MAX_SLOTS; slot = nextSlot(s, slot)) out.push(slot);
  return out;
}

/** Creation twice, completion twice, creation before the slot's time or out of slot order, from the watch. */
function checkWatchedSlots(x: ScheduleInputs, f: ScheduleFindings): void {
  const createdAt = new Map<string, number>();
  const completedAt = new Map<string, number>();
  const lastSlotCreated = new Map<string, number>();
  const byIndex = [...x.watched].sort((a, b) => a.index - b.index);
  for (const e of byIndex) {
    const schedule = x.schedules.find((s) => e.id.startsWith(`${s.id}:`));
    if (schedule === undefined) continue;
    const slot = Number(e.id.slice(schedule.id.length + 1));
    if (e.state === "pending" && e.attempt === 0) {
      const before = createdAt.get(e.id);
      if (before !== undefined && before !== e.index) f.createdTwice.push(e.id);
      createdAt.set(e.id, e.index);
      if (e.receivedAtWallMs < slot) f.early.push({ id: e.id, seenAtWallMs: e.receivedAtWallMs });
      const last = lastSlotCreated.get(schedule.id);
      if (last !== undefined && slot <= last && before === undefined) f.outOfOrder.push(e.id);
      lastSlotCreated.set(schedule.id, Math.max(last ?? slot, slot));
    } else if (e.state === "completed") {
      const before = completedAt.get(e.id);
      if (before !== undefined && before !== e.index) f.completedTwice.push(e.id);
      completedAt.set(e.id, e.index);
    }
  }
}

/** Whether a slot could rightly go unfired: in its window (± slack) leadership changed, no leader was known yet,
 *  a fault hit the leader or the quorum, or the planned downtime ran. */
function leaderCouldNotFire(x: ScheduleInputs, slot: number, period: number): boolean {
  const from = slot - period - SLACK_MS;
  const to = slot + period + SLACK_MS;
  if (x.downtime && x.downtime.fromMs <= to && x.downtime.toMs >= from) return true;
  let leader: string | null = null;
  const ended = x.faults.filter((f) => PROCESS_ENDING.has(f.kind)).flatMap((f) => f.targets.map((node) => ({ atMs: f.fromMs, node, change: "stepped down" as const })));
  for (const c of [...x.leadership, ...ended].sort((a, b) => a.atMs - b.atMs)) {
    if (c.atMs > to) break;
    if (c.change === "stepped down" && c.node !== leader) continue; // not the leader (a follower killed)
    if (c.atMs >= from) return true;
    leader = c.change === "became leader" ? c.node : null;
  }
  if (leader === null) return true;
  return x.faults.some((fault) => fault.fromMs <= to && fault.toMs >= from && (QUORUM_FAULTS.has(fault.kind) || fault.targets.includes(leader!)));
}

/** The violations the findings amount to. */
export function scheduleViolations(f: ScheduleFindings): string[] {
  const out: string[] = [];
  const some = (xs: readonly unknown[]): string => JSON.stringify(xs.slice(0, 3));
  if (f.createdTwice.length > 0) out.push(`${f.createdTwice.length} schedule slots created twice (a slot ran twice), e.g. ${some(f.createdTwice)}`);
  if (f.completedTwice.length > 0) out.push(`${f.completedTwice.length} schedule slot tasks completed twice, e.g. ${some(f.completedTwice)}`);
  if (f.notASlot.length > 0) out.push(`${f.notASlot.length} schedule tasks for times that are not the schedule's slots, e.g. ${some(f.notASlot)}`);
  if (f.early.length > 0) out.push(`${f.early.length} schedule slots created before their time, e.g. ${some(f.early)}`);
  if (f.outOfOrder.length > 0) out.push(`${f.outOfOrder.length} schedule slots created after a later slot, e.g. ${some(f.outOfOrder)}`);
  if (f.skippedWithLeader.length > 0) out.push(`${f.skippedWithLeader.length} schedule slots skipped while a leader was available, e.g. ${some(f.skippedWithLeader)}`);
  if (f.replayed.length > 0) out.push(`slots missed in the downtime replayed after it (only the one due when the leader returns may run), e.g. ${some(f.replayed)}`);
  return out;
}
