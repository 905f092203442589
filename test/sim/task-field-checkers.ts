// The checker of the task fields (CONTRACT "Task fields added"), a pure function over a recorded SchedulerView:
//
//   taskFieldPlacement  an assignment a replica applies never gives a task to a worker lacking one of the tags the
//                       task requires (the worker's tags as its member carries them), and never before the task's
//                       runAt (on the simulator's one clock).
import { carriesAll } from "../../src/scheduler/task-fields.js";
import type { SchedulerView, Violation } from "./view.js";

/** One applied assignment with what the rule needs. */
export interface FieldPlacementRecord {
  readonly id: string;
  readonly attempt: number;
  readonly worker: string;
  readonly node: string;
  readonly index: number;
  readonly tick: number;
  /** The simulator's clock in ms when it was applied. */
  readonly nowMs: number;
  readonly requires: readonly string[];
  readonly runAt: number | null;
  /** The tags the worker's member carries (its configuration, not the table's view of it). */
  readonly workerTags: readonly string[];
}

export function taskFieldPlacement(view: SchedulerView): Violation[] {
  const out: Violation[] = [];
  for (const p of view.fieldPlacements ?? []) {
    const where = `${p.node} applied attempt ${p.attempt} of ${p.id} on ${p.worker} at index ${p.index} (tick ${p.tick})`;
    if (!carriesAll(p.workerTags, p.requires)) {
      out.push({ checker: "taskFieldPlacement", seed: view.seed, tick: view.tick, detail: `${where}, but it requires [${p.requires.join(", ")}] and ${p.worker} carries [${p.workerTags.join(", ")}]` });
    }
    if (p.runAt !== null && p.nowMs < p.runAt) {
      out.push({ checker: "taskFieldPlacement", seed: view.seed, tick: view.tick, detail: `${where}, ${p.runAt - p.nowMs} ms before its runAt ${p.runAt}` });
    }
  }
  return out;
}
