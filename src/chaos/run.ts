// One chaos run, start to verdict: a fresh loopback cluster in temp dirs, the client workload recording a
// history, the nemesis on its seeded schedule, then heal, quiesce, and check:
//   - the history is linearizable against the task model (src/chaos/task-model.ts);
//   - every acknowledged task no client sent a delete for exists at the end (lost = 0), and paging /v1/tasks finds each id once (dup = 0);
//   - after quiescence every replica's table is identical (state, attempt, worker) at the same applied index,
//     so no task has two current attempts anywhere;
//   - with --workers N (external worker processes, faulted too): no attempt started on two workers;
//   - delayed submits are never assigned before their runAt, decided once by the leader (delayed-tasks.ts), and
//     recurring schedules run each slot at most once, skip none while a leader could fire it, and replay no
//     missed slots after a planned downtime (chaos-schedules.ts, schedule-check.ts), seen through a watch stream;
// and measures the write unavailability of each leader failover and how fast a lost worker's tasks move on.
import { makePrng } from "../raft/prng.js";
import { HistoryRecorder } from "./history.js";
import type { TaskInput, TaskOutput } from "./task-model.js";
import { ChaosCluster } from "./cluster.js";
import type { ClusterFile } from "../config/cluster-file.js";
import { Nemesis, type FaultKind } from "./nemesis.js";
import { Workload } from "./workload.js";
import { sleep } from "./http.js";
import { ChaosWorkers } from "./chaos-workers.js";
import { checkWorkers, newReport, type ChaosReport } from "./chaos-report.js";
import { TimedTaskPhases } from "./timed-task-verdict.js";
import { awaitQuiescence, checkLinearizability, checkListing, checkReplicaTables, countByKind, measureFaults, readEveryIdFinally } from "./run-verdict.js";
export type { ChaosReport, ReplicaDiff } from "./chaos-report.js";

export interface ChaosOptions {
  readonly config: ClusterFile;
  readonly configPath: string;
  readonly durationMs: number;
  readonly faults: readonly FaultKind[];
  readonly seed: number;
  readonly clients: number;
  /** Progress and fault lines (stderr in the CLI). */
  readonly log: (line: string) => void;
  /** A transient status line (the CLI redraws it on a TTY). */
  readonly progress: (line: string) => void;
  /** Each node in its own network namespace with real link cuts (root only; src/chaos/netns.ts). */
  readonly netns?: boolean;
  /** Set by Ctrl-C: stop injecting and working, then clean up. */
  readonly aborted?: () => boolean;
  /** External worker processes beside the members (--workers N; chaos-workers.ts). */
  readonly workers?: number;
  /** Recurring schedules and the planned downtime (default true; chaos-schedules.ts). */
  readonly schedules?: boolean;
}

const REQUEST_TIMEOUT_MS = 4000;

export interface ChaosResult {
  readonly report: ChaosReport;
  readonly history: HistoryRecorder<TaskInput, TaskOutput>;
  readonly cluster: ChaosCluster;
}

export async function runChaos(o: ChaosOptions, onCluster: (c: ChaosCluster) => void = () => undefined): Promise<ChaosResult> {
  const aborted = o.aborted ?? (() => false);
  const t0 = performance.now();
  const clock = (): number => performance.now() - t0;
  const wallAtClockZeroMs = Date.now();
  const cluster = await ChaosCluster.create(o.config, { netns: o.netns === true, log: o.log });
  onCluster(cluster);
  const history = new HistoryRecorder<TaskInput, TaskOutput>(clock);
  const report = newReport(o, cluster);

  o.log(`chaos: ${cluster.nodes.length} nodes on ${cluster.nodes.map((n) => n.url).join(" ")}; data and logs in ${cluster.root}`);
  if (cluster.network) o.log(`chaos: one network namespace per node (${cluster.network.prefix}n1..n${cluster.nodes.length}), real links between them`);
  for (const n of cluster.nodes) cluster.start(n);
  const workers = o.workers ? new ChaosWorkers(cluster, o.workers) : null;
  workers?.startAll();
  if (workers) cluster.stopWithNodes(() => workers.shutdown());
  const seedRng = makePrng(o.seed);
  const nemesis = new Nemesis({ cluster, kinds: o.faults, rng: makePrng(Math.floor(seedRng() * 2 ** 32)), clock, log: o.log, workers });
  if ((await nemesis.findLeader(30_000)) === null) {
    report.violations.push("no leader was elected within 30 s of starting the cluster");
    return { report, history, cluster };
  }
  cluster.verifyNodePids();

  const clientSeeds = Array.from({ length: o.clients }, () => Math.floor(seedRng() * 2 ** 32));
  const workload = new Workload({
    cluster,
    recorder: history,
    clients: o.clients,
    rngFor: (i) => makePrng(clientSeeds[i]!),
    requestTimeoutMs: REQUEST_TIMEOUT_MS,
    thinkMs: [20, 120],
    clock,
  });
  const timed = await TimedTaskPhases.start(cluster, report, o.schedules !== false);
  const runStart = clock();
  const until = runStart + o.durationMs;
  const progress = setInterval(() => o.progress(progressLine(workload, nemesis, clock() - runStart, o.durationMs)), 1000);
  workload.start();
  try {
    await nemesis.run(until, aborted);
    if (!aborted()) await timed.downtime(() => nemesis.findLeader(3000), o.log);
    // Let the workload run on a healed cluster up to the end.
    while (clock() < until && !aborted()) await sleep(100);
  } finally {
    clearInterval(progress);
    await nemesis.healAll();
    await workload.stop();
  }
  if (aborted()) return await timed.stopWatch().then(() => ({ report, history, cluster }));
  o.log("chaos: healed every fault; waiting for quiescence");
  await nemesis.settle();
  await timed.finishSchedules();
  const { leader, finalTasks } = await awaitQuiescence(report, nemesis, clock, aborted);
  await timed.stopWatch();
  if (leader) await readEveryIdFinally(workload, leader);
  checkListing(report, workload, finalTasks, leader);
  await checkReplicaTables(report, cluster);
  checkLinearizability(report, workload, history, o);
  measureFaults(report, nemesis, workload);
  timed.check(report, { history, deleteSent: workload.deleteSent, listedIds: finalTasks.map((t) => t.id), faults: report.faults.list, wallAtClockZeroMs });
  if (workers) report.workers = await checkWorkers(workers, report.violations);
  return { report, history, cluster };
}

/** The transient status line. */
function progressLine(workload: Workload, nemesis: Nemesis, elapsedMs: number, durationMs: number): string {
  const c = workload.counts;
  const byKind = Object.entries(countByKind(nemesis.faults)).map(([k, v]) => `${k} ${v}`).join(", ");
  return `chaos: ${Math.round(elapsedMs / 1000)}s/${Math.round(durationMs / 1000)}s  ops ${c.ops} (ok ${c.ok}, fail ${c.fail}, unknown ${c.unknown})  tasks ${workload.acknowledged.size}  faults ${nemesis.faults.length} (${byKind})`;
}
