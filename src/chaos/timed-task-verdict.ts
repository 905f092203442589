// Delayed tasks and recurring schedules in a chaos run (issue 13), as phases runChaos calls: the watch stream and
// the schedules started before the workload, the planned downtime after the faults, the schedules read and removed
// before quiescence, and at the end the two checks on what was gathered (the history, the watch stream's events,
// the final listing, the nodes' leadership changes and the faults), their findings and violations in the report.
import type { ChaosReport } from "./chaos-report.js";
import type { ChaosCluster, ChaosNode } from "./cluster.js";
import { ChaosWatch } from "./chaos-watch.js";
import { ChaosSchedules, faultsOnWallClock, leadershipFromLogs } from "./chaos-schedules.js";
import { checkDelayedTasks, delayedViolations } from "./delayed-tasks.js";
import type { HistoryRecorder } from "./history.js";
import type { FaultRecord } from "./fault-kinds.js";
import { checkSchedules, scheduleViolations, type CheckedSchedule } from "./schedule-check.js";
import type { TaskInput, TaskOutput } from "./task-model-types.js";

export interface TimedTaskInputs {
  readonly history: HistoryRecorder<TaskInput, TaskOutput>;
  readonly deleteSent: ReadonlySet<string>;
  readonly listedIds: readonly string[];
  /** The faults with the write unavailability each caused (report.faults.list, filled by measureFaults). */
  readonly faults: ReadonlyArray<FaultRecord & { unavailabilityMs?: number | null }>;
  /** Date.now() when the run's clock read 0. */
  readonly wallAtClockZeroMs: number;
}

export class TimedTaskPhases {
  private finished: CheckedSchedule[] = [];

  private constructor(
    private readonly cluster: ChaosCluster,
    readonly watch: ChaosWatch,
    /** null: the run has no schedules. */
    readonly schedules: ChaosSchedules | null,
  ) {}

  /** Creates the schedules (a violation when they cannot be) and follows the watch stream from index 0. */
  static async start(cluster: ChaosCluster, report: ChaosReport, withSchedules: boolean): Promise<TimedTaskPhases> {
    const schedules = withSchedules ? new ChaosSchedules(cluster) : null;
    if (schedules && !(await schedules.create())) report.violations.push("the chaos schedules could not be created");
    const watch = new ChaosWatch(() => cluster.nodes.map((n) => n.url), cluster.token, () => true);
    watch.start(0);
    return new TimedTaskPhases(cluster, watch, schedules);
  }

  async downtime(findLeader: () => Promise<ChaosNode | null>, log: (line: string) => void): Promise<void> {
    if (this.schedules) await this.schedules.downtimePhase(await findLeader(), log);
  }

  /** Reads and removes the schedules (so the cluster can reach quiescence). */
  async finishSchedules(): Promise<void> {
    if (this.schedules) this.finished = await this.schedules.finish();
  }

  async stopWatch(): Promise<void> {
    await this.watch.stop();
  }

  check(report: ChaosReport, x: TimedTaskInputs): void {
    report.watch = { events: this.watch.events.length, gaps: this.watch.gaps };
    report.delayed = checkDelayedTasks(x.history.events(), this.watch.events, x.deleteSent);
    report.violations.push(...delayedViolations(report.delayed));
    if (this.schedules === null) return;
    report.schedules = checkSchedules({
      schedules: this.finished,
      listedIds: x.listedIds,
      watched: this.watch.events,
      leadership: leadershipFromLogs(this.cluster.nodes),
      faults: faultsOnWallClock(x.faults, x.wallAtClockZeroMs),
      downtime: this.schedules.downtime,
    });
    report.violations.push(...scheduleViolations(report.schedules));
    const unread = this.schedules.count - this.finished.length;
    if (unread > 0) report.violations.push(`${unread} schedules could not be read at the end`);
  }
}
