// The executors' safety properties (issue #17), as pure functions over a recorded SchedulerView like the other
// scheduler checkers:
//
//   staleAttemptStart  no attempt starts after its task was reassigned or finished (or the attempt released) in a
//                      log the starting node could know of: committed before the node's executor began. A node
//                      restarted on an old table must catch up with the leader before it starts anything;
//   executorCapacity   a node never runs more than its capacity of handlers at once, counting aborted handlers that
//                      have not returned yet, and never two attempts of one task side by side;
//   placementCapacity  the leader never places more work on a worker than its capacity minus the tasks the table
//                      assigns it minus the aborted handlers the worker told it still run there (issue #17.2: the
//                      worker reports what it really runs), plus the assignments it has in flight, minus the slots
//                      its workers' reports in flight give back (placement-pipeline.ts). A report not yet proposed
//                      is not counted: the leader cannot know it, and the executor's own slot rule
//                      (executorCapacity) covers that window.
import type { CheckerName, SchedulerView, Violation } from "./view.js";

type Checker = (view: SchedulerView) => Violation[];

function violation(view: SchedulerView, checker: CheckerName, detail: string): Violation {
  return { checker, seed: view.seed, tick: view.tick, detail };
}

export const staleAttemptStart: Checker = (view) => {
  const out: Violation[] = [];
  for (const s of view.starts ?? []) {
    const known = (tick: number) => tick < s.since;
    const newer = view.assignments.find((a) => a.id === s.id && a.attempt > s.attempt && known(a.tick));
    const finish = view.finishes.find((f) => f.id === s.id && f.attempt >= s.attempt && known(f.tick));
    const release = view.releases.find((r) => r.id === s.id && r.attempt >= s.attempt && known(r.tick));
    const why = newer
      ? `attempt ${newer.attempt} was assigned to ${newer.worker} at index ${newer.index} (tick ${newer.tick})`
      : finish
        ? `attempt ${finish.attempt} finished (${finish.kind}) at index ${finish.index} (tick ${finish.tick})`
        : release
          ? `attempt ${release.attempt} was released (${release.why}) at index ${release.index} (tick ${release.tick})`
          : null;
    if (why !== null) {
      out.push(violation(view, "staleAttemptStart", `${s.node} started attempt ${s.attempt} of ${s.id} at tick ${s.tick} (running since tick ${s.since}), but ${why}`));
    }
  }
  return out;
};

export const executorCapacity: Checker = (view) => {
  const out: Violation[] = [];
  for (const load of view.executorLoads ?? []) {
    const text = () => load.handlers.map((h) => `${h.id}#${h.attempt}${h.aborted ? " (aborted)" : ""}`).join(", ");
    if (load.handlers.length > load.capacity) {
      out.push(violation(view, "executorCapacity", `${load.node} runs ${load.handlers.length} handlers at tick ${load.tick}, capacity ${load.capacity}: ${text()}`));
    }
    const seen = new Set<string>();
    for (const h of load.handlers) {
      if (seen.has(h.id)) out.push(violation(view, "executorCapacity", `${load.node} runs two attempts of ${h.id} side by side at tick ${load.tick}: ${text()}`));
      seen.add(h.id);
    }
  }
  return out;
};

export const placementCapacity: Checker = (view) => {
  const out: Violation[] = [];
  for (const p of view.placements ?? []) {
    if (p.placed > 0 && p.active + p.lingering + p.inFlight + p.placed > p.capacity) {
      const what = `${p.active} assigned + ${p.lingering} aborted handlers still running + ${p.inFlight} in flight + ${p.placed} placed`;
      out.push(violation(view, "placementCapacity", `leader ${p.leader} placed work on ${p.worker} at tick ${p.tick} beyond its capacity ${p.capacity}: ${what}`));
    }
  }
  return out;
};
