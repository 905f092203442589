// The verdict's phase for delayed tasks and recurring schedules (issue 13): runs the two checks on what the run
// gathered (the history, the watch stream's events, the final listing, the schedules, the nodes' leadership
// changes and the faults) and adds their findings and violations to the report.
import type { ChaosReport } from "./chaos-report.js";
import type { ChaosCluster } from "./cluster.js";
import type { ChaosWatch } from "./chaos-watch.js";
import { checkDelayedTasks, delayedViolations } from "./delayed-tasks.js";
import type { HistoryRecorder } from "./history.js";
import type { FaultRecord } from "./fault-kinds.js";
import type { TaskInput, TaskOutput } from "./task-model-types.js";

export interface TimedTaskInputs {
  readonly history: HistoryRecorder<TaskInput, TaskOutput>;
  readonly watch: ChaosWatch;
  readonly deleteSent: ReadonlySet<string>;
  readonly listedIds: readonly string[];
  readonly cluster: ChaosCluster;
  readonly faults: readonly FaultRecord[];
  /** Date.now() when the run's clock read 0. */
  readonly wallAtClockZeroMs: number;
}

export function checkTimedTasks(report: ChaosReport, x: TimedTaskInputs): void {
  report.watch = { events: x.watch.events.length, gaps: x.watch.gaps };
  report.delayed = checkDelayedTasks(x.history.events(), x.watch.events, x.deleteSent);
  report.violations.push(...delayedViolations(report.delayed));
}
