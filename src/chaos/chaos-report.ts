// The report of one chaos run (what `raftsched chaos` prints and writes as report.json), and its zero state.
import type { ChaosCluster } from "./cluster.js";
import type { ChaosWorkers, WorkerFindings } from "./chaos-workers.js";
import type { FaultKind, FaultRecord } from "./nemesis.js";
import { spread, type Spread } from "./stats.js";
import { emptyDelayedFindings, type DelayedFindings } from "./delayed-tasks.js";
import type { ScheduleFindings } from "./schedule-check.js";

export interface ReplicaDiff {
  readonly id: string;
  readonly views: Record<string, string>;
}

export interface ChaosReport {
  readonly startedAt: string;
  readonly seed: number;
  readonly durationMs: number;
  readonly config: string;
  readonly nodes: readonly string[];
  readonly faultKinds: readonly FaultKind[];
  readonly clients: number;
  /** How faults reached the network: the nodes' fault hook, or namespaces with real links (and netem or not). */
  readonly network: "fault-hook" | "netns" | "netns+netem";
  linearizable: "yes" | "no" | "unknown";
  counterexample: string | null;
  checker: { operations: number; partitions: number; largestPartition: number; elapsedMs: number } | null;
  readonly operations: { invoked: number; ok: number; fail: number; unknown: number; refused: number };
  /** Completions sent with an attempt already superseded, and how many were refused (409), as fencing must. */
  readonly staleReports: { sent: number; refused: number };
  /** Queue-lifecycle operations the clients sent (lifecycle-ops.ts); cancel counts only those of running tasks. */
  readonly lifecycle: { delete: number; retry: number; cancel: number };
  submitted: number;
  acknowledged: number;
  lost: string[];
  duplicated: string[];
  outOfOrder: number;
  replicaMismatches: ReplicaDiff[];
  replicasCompared: { nodes: number; appliedIndex: number | null; tasks: number };
  quiescence: { reached: boolean; waitedMs: number; unfinished: number };
  faults: { total: number; byKind: Record<string, number>; list: Array<FaultRecord & { unavailabilityMs: number | null }> };
  failovers: { count: number; unavailability: Spread; unrecovered: number };
  reassignment: { workerLosses: number; tasks: number; moved: Spread; notMoved: number };
  /** With --workers: what their logs show (no attempt may start on two workers). */
  workers: WorkerFindings | null;
  /** Delayed submits (runAt / delayMs) and what the check found (delayed-tasks.ts). */
  delayed: DelayedFindings;
  /** Recurring schedules (schedule-check.ts); null when the run had none. */
  schedules: ScheduleFindings | null;
  /** The watch stream followed through the run: events kept, and restarts from "now" (events possibly missed). */
  watch: { events: number; gaps: number };
  violations: string[];
  tempDir: string;
}

/** The report before anything ran: every count at zero, the verdict unknown. */
/** What of a run's options the report records. */
export interface ReportedOptions {
  readonly seed: number;
  readonly durationMs: number;
  readonly configPath: string;
  readonly faults: readonly FaultKind[];
  readonly clients: number;
}

export function newReport(o: ReportedOptions, cluster: ChaosCluster): ChaosReport {
  return {
    startedAt: new Date().toISOString(),
    seed: o.seed,
    durationMs: o.durationMs,
    config: o.configPath,
    nodes: cluster.nodes.map((n) => n.id),
    faultKinds: o.faults,
    clients: o.clients,
    network: cluster.network ? (cluster.network.netem ? "netns+netem" : "netns") : "fault-hook",
    linearizable: "unknown",
    counterexample: null,
    checker: null,
    operations: { invoked: 0, ok: 0, fail: 0, unknown: 0, refused: 0 },
    staleReports: { sent: 0, refused: 0 },
    lifecycle: { delete: 0, retry: 0, cancel: 0 },
    submitted: 0,
    acknowledged: 0,
    lost: [],
    duplicated: [],
    outOfOrder: 0,
    replicaMismatches: [],
    replicasCompared: { nodes: 0, appliedIndex: null, tasks: 0 },
    quiescence: { reached: false, waitedMs: 0, unfinished: 0 },
    faults: { total: 0, byKind: {}, list: [] },
    failovers: { count: 0, unavailability: spread([]), unrecovered: 0 },
    reassignment: { workerLosses: 0, tasks: 0, moved: spread([]), notMoved: 0 },
    workers: null,
    delayed: emptyDelayedFindings(),
    schedules: null,
    watch: { events: 0, gaps: 0 },
    violations: [],
    tempDir: cluster.root,
  };
}

/** Stops the external workers and reads their logs: an attempt started on two workers is a violation. */
export async function checkWorkers(workers: ChaosWorkers, violations: string[]): Promise<WorkerFindings> {
  const found = await workers.finish();
  const two = found.attemptsOnTwoWorkers;
  if (two.length > 0) violations.push(`${two.length} attempts started on two external workers, e.g. ${JSON.stringify(two[0])}`);
  return found;
}
