// The verdict's phase for delayed tasks and recurring schedules (issue 13): runs the two checks on what the run
// gathered (the history, the watch stream's events, the final listing, the schedules, the nodes' leadership
// changes and the faults) and adds their findings and violations to the report.
import type { ChaosReport } from "./chaos-report.js";
import type { ChaosCluster } from "./cluster.js";
import type { ChaosWatch } from "./chaos-watch.js";
import { faultsOnWallClock, leadershipFromLogs, type ChaosSchedules } from "./chaos-schedules.js";
import { checkDelayedTasks, delayedViolations } from "./delayed-tasks.js";
import type { HistoryRecorder } from "./history.js";
import type { FaultRecord } from "./fault-kinds.js";
import { checkSchedules, scheduleViolations, type CheckedSchedule } from "./schedule-check.js";
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
  /** null: the run had no schedules. */
  readonly schedules: { readonly runner: ChaosSchedules; readonly finished: readonly CheckedSchedule[] } | null;
}

export function checkTimedTasks(report: ChaosReport, x: TimedTaskInputs): void {
  report.watch = { events: x.watch.events.length, gaps: x.watch.gaps };
  report.delayed = checkDelayedTasks(x.history.events(), x.watch.events, x.deleteSent);
  report.violations.push(...delayedViolations(report.delayed));
  if (x.schedules === null) return;
  report.schedules = checkSchedules({
    schedules: x.schedules.finished,
    listedIds: x.listedIds,
    watched: x.watch.events,
    leadership: leadershipFromLogs(x.cluster.nodes),
    faults: faultsOnWallClock(x.faults, x.wallAtClockZeroMs),
    downtime: x.schedules.runner.downtime,
  });
  report.violations.push(...scheduleViolations(report.schedules));
  if (x.schedules.finished.length < x.schedules.runner.count) report.violations.push(`${x.schedules.runner.count - x.schedules.finished.length} schedules could not be read at the end`);
}
