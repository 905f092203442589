// The scheduler's safety properties (issue #4) as pure functions over a recorded SchedulerView, like the Raft
// checkers in checkers.ts: a test hands them a made-up broken history as easily as the simulator hands them the
// real one.
//
//   taskLost           an acknowledged task is in every table that applied past its acknowledgement, and an
//                      acknowledged completion is never undone;
//   taskDuplicated     a task id is created once: every replica created it at the same log index (a client's
//                      retried submit must find the task, not make a second one);
//   attemptFencing     at most one current attempt per task: an attempt number is given to one worker at one
//                      index, and only the attempt most recently assigned, and not taken back since (worker
//                      declared dead or removed, task cancelled), can finish: a stale report is fenced;
//   replicaDivergence  every replica's table is byte-identical at the same applied index;
//   staleAttemptStart, executorCapacity: what the executors start and run (attempt-start-checkers.ts);
//   placementCapacity: the leader places no work on slots held by handlers it was told still run (same file);
//   taskFieldPlacement: no task on a worker lacking a tag it requires, none before its runAt (task-field-checkers.ts).
import { executorCapacity, placementCapacity, staleAttemptStart } from "./attempt-start-checkers.js";
import { bytesEqual } from "./entries.js";
import { deletedTaskReturned, deletionDivergence, scheduleSlotReplayed, scheduleSlotSkipped, scheduleSlotTwice } from "./lifecycle-checkers.js";
import { taskFieldPlacement } from "./task-field-checkers.js";
import type { AssignmentRecord, CheckerName, SchedulerView, Violation } from "./view.js";

export type SchedulerChecker = (view: SchedulerView) => Violation[];

function violation(view: SchedulerView, checker: CheckerName, detail: string): Violation {
  return { checker, seed: view.seed, tick: view.tick, detail };
}

export const taskLost: SchedulerChecker = (view) => {
  const out: Violation[] = [];
  // A task deleted (issue 13: DELETE, retention) is gone on purpose: acknowledged before, not lost.
  const deletedAt = new Map<string, number>();
  for (const d of view.deletions ?? []) for (const id of d.ids) deletedAt.set(id, Math.min(deletedAt.get(id) ?? Infinity, d.index));
  for (const n of view.nodes) {
    const tasks = n.tasks;
    if (!tasks) continue;
    const appliedIndex = n.applied.length;
    for (const ack of view.acks) {
      if (ack.index > appliedIndex || (deletedAt.get(ack.id) ?? Infinity) <= appliedIndex) continue;
      const t = tasks.getTask(ack.id);
      const told = `${ack.kind === "submit" ? "submit" : `completion of attempt ${ack.attempt ?? "?"}`} of ${ack.id} acknowledged by ${ack.node} at index ${ack.index} (tick ${ack.tick})`;
      if (t === undefined) {
        out.push(violation(view, "taskLost", `${told}, but ${n.id}'s table at applied index ${appliedIndex} has no such task`));
        break;
      }
      if (ack.kind === "complete" && (t.state !== "completed" || t.attempt !== ack.attempt)) {
        out.push(violation(view, "taskLost", `${told}, but ${n.id}'s table at applied index ${appliedIndex} shows it ${t.state} at attempt ${t.attempt}`));
        break;
      }
    }
  }
  return out;
};

export const taskDuplicated: SchedulerChecker = (view) => {
  const out: Violation[] = [];
  const firstById = new Map<string, SchedulerView["creations"][number]>();
  for (const c of view.creations) {
    const first = firstById.get(c.id);
    if (first === undefined) firstById.set(c.id, c);
    else if (first.index !== c.index) {
      out.push(
        violation(
          view,
          "taskDuplicated",
          `task ${c.id} created twice: by ${first.node}'s apply at index ${first.index} (tick ${first.tick}) and by ${c.node}'s at index ${c.index} (tick ${c.tick})`,
        ),
      );
    }
  }
  return out;
};

export const attemptFencing: SchedulerChecker = (view) => {
  const out: Violation[] = [];
  // (a) One worker and one index per (task, attempt), on every replica.
  const byAttempt = new Map<string, AssignmentRecord>();
  const byTask = new Map<string, AssignmentRecord[]>();
  for (const a of view.assignments) {
    const key = `${a.id}#${a.attempt}`;
    const first = byAttempt.get(key);
    if (first === undefined) {
      byAttempt.set(key, a);
      const list = byTask.get(a.id);
      if (list) list.push(a);
      else byTask.set(a.id, [a]);
    } else if (first.worker !== a.worker || first.index !== a.index) {
      out.push(
        violation(
          view,
          "attemptFencing",
          `attempt ${a.attempt} of ${a.id} has two owners: ${first.worker} at index ${first.index} (applied by ${first.node}) and ${a.worker} at index ${a.index} (applied by ${a.node})`,
        ),
      );
    }
  }
  // (b) A report is accepted only for the attempt assigned last before it and not released since, and (c) an
  // attempt finishes once.
  const finished = new Map<string, SchedulerView["finishes"][number]>();
  for (const f of view.finishes) {
    let current: AssignmentRecord | undefined;
    for (const a of byTask.get(f.id) ?? []) if (a.index < f.index && (!current || a.index > current.index)) current = a;
    if (!current || current.attempt !== f.attempt) {
      out.push(
        violation(
          view,
          "attemptFencing",
          `${f.node} accepted a ${f.kind} report of attempt ${f.attempt} of ${f.id} at index ${f.index}, but the current attempt there is ${current ? `${current.attempt} (assigned to ${current.worker} at index ${current.index})` : "none"}`,
        ),
      );
      continue;
    }
    const release = view.releases.find((r) => r.id === f.id && r.attempt === f.attempt && r.index > current.index && r.index < f.index);
    if (release) {
      out.push(
        violation(
          view,
          "attemptFencing",
          `${f.node} accepted a ${f.kind} report of attempt ${f.attempt} of ${f.id} at index ${f.index}, after that attempt was released (${release.why}) at index ${release.index}`,
        ),
      );
      continue;
    }
    const key = `${f.id}#${f.attempt}`;
    const first = finished.get(key);
    if (first === undefined) finished.set(key, f);
    else if (first.index !== f.index) {
      out.push(
        violation(
          view,
          "attemptFencing",
          `attempt ${f.attempt} of ${f.id} finished twice: ${first.kind} at index ${first.index} (applied by ${first.node}) and ${f.kind} at index ${f.index} (applied by ${f.node})`,
        ),
      );
    }
  }
  return out;
};

export const replicaDivergence: SchedulerChecker = (view) => {
  const out: Violation[] = [];
  const firstAt = new Map<number, SchedulerView["tableStates"][number]>();
  for (const s of view.tableStates) {
    const first = firstAt.get(s.index);
    if (first === undefined) firstAt.set(s.index, s);
    else if (!bytesEqual(first.bytes, s.bytes)) {
      out.push(
        violation(
          view,
          "replicaDivergence",
          `at applied index ${s.index} ${first.node}'s table (tick ${first.tick}, ${first.bytes.byteLength} bytes) and ${s.node}'s (tick ${s.tick}, ${s.bytes.byteLength} bytes) differ`,
        ),
      );
    }
  }
  return out;
};

export type SchedulerCheckerName =
  | "taskLost" | "taskDuplicated" | "attemptFencing" | "replicaDivergence" | "staleAttemptStart" | "executorCapacity" | "placementCapacity"
  | "deletedTaskReturned" | "deletionDivergence" | "scheduleSlotTwice" | "scheduleSlotReplayed" | "scheduleSlotSkipped" | "taskFieldPlacement";

export const SCHEDULER_CHECKERS: Readonly<Record<SchedulerCheckerName, SchedulerChecker>> = {
  taskLost,
  taskDuplicated,
  attemptFencing,
  replicaDivergence,
  staleAttemptStart,
  executorCapacity,
  placementCapacity,
  deletedTaskReturned,
  deletionDivergence,
  scheduleSlotTwice,
  scheduleSlotReplayed,
  scheduleSlotSkipped,
  taskFieldPlacement,
};
