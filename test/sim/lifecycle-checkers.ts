// The checkers of issue 13's table commands, pure functions over a recorded SchedulerView like the others:
//
//   deletedTaskReturned  a task a replica deleted is not in its table afterwards, unless that replica applied a
//                        new creation of the id after the deletion (a resubmit);
//   deletionDivergence   every replica deletes the same ids at the same log index;
//   scheduleSlotTwice    a schedule's slot is created at one log index only, and slots are created in increasing
//                        order (a slot at or before the last fired one never runs);
//   scheduleSlotReplayed a slot is fired only while it is the latest due: the leader's clock when it proposed the
//                        scheduleFire lies in [slot, next slot). After a leader loss or downtime the missed slots
//                        are not replayed, only the latest one runs, once (README "Recurring schedules");
//   scheduleSlotSkipped  no slot is skipped while a leader exists (issue 13 point 8): a slot whose whole window one
//                        leader spent running its duties every tick was proposed by that leader, or existed already.
import type { SchedulerView, Violation } from "./view.js";

type Checker = (view: SchedulerView) => Violation[];

function violation(view: SchedulerView, checker: Violation["checker"], detail: string): Violation {
  return { checker, seed: view.seed, tick: view.tick, detail };
}

export const deletedTaskReturned: Checker = (view) => {
  const out: Violation[] = [];
  for (const n of view.nodes) {
    if (!n.tasks) continue;
    const applied = n.applied.length;
    for (const d of view.deletions ?? []) {
      if (d.node !== n.id || d.index > applied) continue;
      for (const id of d.ids) {
        const t = n.tasks.getTask(id);
        if (t === undefined) continue;
        const recreated = view.creations.some((c) => c.id === id && c.node === n.id && c.index > d.index && c.index <= applied);
        if (!recreated) out.push(violation(view, "deletedTaskReturned", `${n.id} deleted ${id} at index ${d.index} (tick ${d.tick}), but its table at applied index ${applied} has it again (${t.state}) with no new submit`));
      }
    }
  }
  return out;
};

export const deletionDivergence: Checker = (view) => {
  const out: Violation[] = [];
  const first = new Map<number, SchedulerView["deletions"] extends readonly (infer R)[] | undefined ? R : never>();
  for (const d of view.deletions ?? []) {
    const f = first.get(d.index);
    if (!f) first.set(d.index, d);
    else if (f.ids.join(",") !== d.ids.join(",")) {
      out.push(violation(view, "deletionDivergence", `at index ${d.index} ${f.node} deleted [${f.ids.join(", ")}] but ${d.node} deleted [${d.ids.join(", ")}]`));
    }
  }
  return out;
};

export const scheduleSlotTwice: Checker = (view) => {
  const out: Violation[] = [];
  const bySlot = new Map<string, NonNullable<SchedulerView["slots"]>[number]>();
  const lastByNode = new Map<string, { slotMs: number; index: number }>();
  for (const s of view.slots ?? []) {
    const key = `${s.schedule}:${s.slotMs}`;
    const f = bySlot.get(key);
    if (!f) bySlot.set(key, s);
    else if (f.index !== s.index) out.push(violation(view, "scheduleSlotTwice", `slot ${key} ran twice: created at index ${f.index} by ${f.node} and at index ${s.index} by ${s.node}`));
    const nodeKey = `${s.node}/${s.schedule}`;
    const last = lastByNode.get(nodeKey);
    if (last && s.index > last.index && s.slotMs <= last.slotMs) {
      out.push(violation(view, "scheduleSlotTwice", `${s.node} created slot ${s.slotMs} of ${s.schedule} at index ${s.index} after slot ${last.slotMs} at index ${last.index}`));
    }
    if (!last || s.index > last.index) lastByNode.set(nodeKey, { slotMs: s.slotMs, index: s.index });
  }
  return out;
};

export const scheduleSlotReplayed: Checker = (view) => {
  const out: Violation[] = [];
  for (const s of view.slots ?? []) {
    if (s.firedAtMs === undefined || s.nextSlotMs === undefined) continue;
    const inWindow = s.slotMs <= s.firedAtMs && (s.nextSlotMs === null || s.firedAtMs < s.nextSlotMs);
    if (!inWindow) out.push(violation(view, "scheduleSlotReplayed", `${s.node} applied slot ${s.slotMs} of ${s.schedule} at index ${s.index}, proposed at ${s.firedAtMs} ms: not the latest slot due then (the next is ${s.nextSlotMs})`));
  }
  return out;
};

export const scheduleSlotSkipped: Checker = (view) => {
  const out: Violation[] = [];
  const created = new Set((view.slots ?? []).map((s) => `${s.schedule}:${s.slotMs}`));
  for (const d of view.slotsDue ?? []) {
    if (d.proposed || created.has(`${d.schedule}:${d.slotMs}`)) continue;
    out.push(violation(view, "scheduleSlotSkipped", `slot ${d.slotMs} of ${d.schedule} was neither proposed nor created, though ${d.leader} led and ran its duties every tick from ${d.fromMs} to ${d.checkedAtMs} ms`));
  }
  return out;
};
