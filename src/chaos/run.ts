// One chaos run, start to verdict: a fresh loopback cluster in temp dirs, the client workload recording a
// history, the nemesis on its seeded schedule, then heal, quiesce, and check:
//   - the history is linearizable against the task model (src/chaos/task-model.ts);
//   - every acknowledged task no client sent a delete for exists at the end (lost = 0), and paging /v1/tasks finds each id once (dup = 0);
//   - after quiescence every replica's table is identical (state, attempt, worker) at the same applied index,
//     so no task has two current attempts anywhere;
//   - with --workers N (external worker processes, faulted too): no attempt started on two workers;
// and measures the write unavailability of each leader failover and how fast a lost worker's tasks move on.
import { makePrng } from "../raft/prng.js";
import { HistoryRecorder, type OutcomeClass } from "./history.js";
import { checkHistory, formatCounterexample } from "./linearizability.js";
import { taskModel, type TaskInput, type TaskOutput } from "./task-model.js";
import { classifyTaskOutcome } from "./task-outcome.js";
import { ChaosCluster, type ChaosNode } from "./cluster.js";
import type { ClusterFile } from "../config/cluster-file.js";
import { Nemesis, type FaultKind, type FaultRecord } from "./nemesis.js";
import { REFUSED_CODE, Workload } from "./workload.js";
import { requestJson, sleep } from "./http.js";
import { spread, type Spread } from "./stats.js";
import { ChaosWorkers, type WorkerFindings } from "./chaos-workers.js";

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
}

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
  violations: string[];
  tempDir: string;
}

const REQUEST_TIMEOUT_MS = 4000;
const QUIESCENCE_TIMEOUT_MS = 120_000;
const FINAL_PAGE = 1000;

/** Refused connections carry nothing: the operation certainly did not happen. */
function classify(input: TaskInput, output: TaskOutput): OutcomeClass {
  if (output.status === 0) return output.code === REFUSED_CODE ? "drop" : "unknown";
  return classifyTaskOutcome(input, output);
}

export interface ChaosResult {
  readonly report: ChaosReport;
  readonly history: HistoryRecorder<TaskInput, TaskOutput>;
  readonly cluster: ChaosCluster;
}

export async function runChaos(o: ChaosOptions, onCluster: (c: ChaosCluster) => void = () => undefined): Promise<ChaosResult> {
  const aborted = o.aborted ?? (() => false);
  const t0 = performance.now();
  const clock = (): number => performance.now() - t0;
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
  const runStart = clock();
  const until = runStart + o.durationMs;
  const progress = setInterval(() => {
    const c = workload.counts;
    const byKind = countByKind(nemesis.faults);
    o.progress(
      `chaos: ${Math.round((clock() - runStart) / 1000)}s/${Math.round(o.durationMs / 1000)}s  ops ${c.ops} (ok ${c.ok}, fail ${c.fail}, unknown ${c.unknown})  tasks ${workload.acknowledged.size}  faults ${nemesis.faults.length} (${Object.entries(byKind).map(([k, v]) => `${k} ${v}`).join(", ")})`,
    );
  }, 1000);
  workload.start();
  try {
    await nemesis.run(until, aborted);
    // Let the workload run on a healed cluster up to the end.
    while (clock() < until && !aborted()) await sleep(100);
  } finally {
    clearInterval(progress);
    await nemesis.healAll();
    await workload.stop();
  }
  if (aborted()) return { report, history, cluster };
  o.log("chaos: healed every fault; waiting for quiescence");
  await nemesis.settle();

  // ---- quiescence: a leader, every task finished, every replica at the same applied index ----
  const qStart = clock();
  let finalTasks: TaskRow[] = [];
  let leader: ChaosNode | null = null;
  let unfinished = Infinity;
  while (clock() - qStart < QUIESCENCE_TIMEOUT_MS && !aborted()) {
    leader = await nemesis.findLeader(5000);
    if (leader) {
      const listing = await listAll(leader, false);
      if (listing) {
        finalTasks = listing;
        unfinished = listing.filter((t) => t.state === "pending" || t.state === "assigned").length;
        if (unfinished === 0) break;
      }
    }
    await sleep(250);
  }
  report.quiescence = { reached: unfinished === 0, waitedMs: Math.round(clock() - qStart), unfinished: Number.isFinite(unfinished) ? unfinished : -1 };
  if (unfinished !== 0) report.violations.push(`no quiescence within ${QUIESCENCE_TIMEOUT_MS / 1000} s: ${report.quiescence.unfinished} tasks unfinished`);

  // ---- final linearizable reads of every submitted id, into the history ----
  if (leader) {
    const ids = [...new Set(workload.submitted)];
    const lanes = 8;
    await Promise.all(
      Array.from({ length: lanes }, async (_, lane) => {
        for (let i = lane; i < ids.length; i += lanes) {
          for (let tries = 0; tries < 3; tries++) {
            const a = await workload.read(`final${lane}`, leader!, ids[i]!);
            if (a.status === 200 || a.status === 404) break;
            await sleep(100);
          }
        }
      }),
    );
  }

  // ---- lost and duplicated ----
  const counts = new Map<string, number>();
  let outOfOrder = 0;
  for (let i = 0; i < finalTasks.length; i++) {
    const id = finalTasks[i]!.id;
    counts.set(id, (counts.get(id) ?? 0) + 1);
    if (i > 0 && !(finalTasks[i - 1]!.id < id)) outOfOrder++;
  }
  report.duplicated = [...counts].filter(([, c]) => c > 1).map(([id]) => id);
  report.outOfOrder = outOfOrder;
  report.lost = lostAcknowledged(workload, leader ? counts : null);
  report.submitted = new Set(workload.submitted).size;
  report.acknowledged = workload.acknowledged.size;
  if (report.lost.length > 0) report.violations.push(`${report.lost.length} acknowledged tasks lost (e.g. ${report.lost.slice(0, 5).join(", ")})`);
  if (report.duplicated.length > 0) report.violations.push(`${report.duplicated.length} tasks listed more than once (e.g. ${report.duplicated.slice(0, 5).join(", ")})`);
  if (outOfOrder > 0) report.violations.push(`/v1/tasks pages were out of id order ${outOfOrder} times`);

  // ---- every replica's table, at one applied index ----
  const compared = await compareReplicas(cluster);
  report.replicasCompared = { nodes: compared.nodes, appliedIndex: compared.appliedIndex, tasks: compared.tasks };
  report.replicaMismatches = compared.diffs;
  if (compared.appliedIndex === null) report.violations.push("the replicas never settled at one applied index, so their tables could not be compared");
  if (compared.diffs.length > 0) {
    report.violations.push(`${compared.diffs.length} tasks differ between replicas (two current attempts or diverged state), e.g. ${JSON.stringify(compared.diffs[0])}`);
  }

  // ---- linearizability ----
  const c = workload.counts;
  report.operations.invoked = c.ops;
  report.operations.ok = c.ok;
  report.operations.fail = c.fail;
  report.operations.unknown = c.unknown;
  report.operations.refused = c.refused;
  for (const [into, from] of [[report.staleReports, workload.staleReports], [report.lifecycle, workload.lifecycleCounts]] as const) Object.assign(into, from);
  o.log(`chaos: checking ${history.size} history events for linearizability`);
  const checkTimeoutMs = Math.max(120_000, o.durationMs);
  const verdict = checkHistory(taskModel, history.events(), { classify, timeoutMs: checkTimeoutMs });
  report.checker = {
    operations: verdict.stats.operations,
    partitions: verdict.stats.partitions,
    largestPartition: verdict.stats.largestPartition,
    elapsedMs: verdict.stats.elapsedMs,
  };
  if (verdict.ok === true) report.linearizable = "yes";
  else if (verdict.ok === false) {
    report.linearizable = "no";
    report.counterexample = formatCounterexample(taskModel, verdict.counterexample);
    report.violations.push("the history is not linearizable");
  } else {
    report.linearizable = "unknown";
    report.violations.push(`the linearizability checker gave up after ${checkTimeoutMs / 1000} s (unproven)`);
  }

  // ---- failovers and reassignment ----
  const list = nemesis.faults.map((f) => ({ ...f, unavailabilityMs: f.leaderLost ? firstWriteAfter(workload, f.startMs) : null }));
  report.faults = { total: list.length, byKind: countByKind(nemesis.faults), list };
  const failovers = list.filter((f) => f.leaderLost);
  const samples = failovers.map((f) => f.unavailabilityMs).filter((x): x is number => x !== null);
  report.failovers = { count: failovers.length, unavailability: spread(samples), unrecovered: failovers.length - samples.length };
  if (report.failovers.unrecovered > 0) report.violations.push(`${report.failovers.unrecovered} leader failovers were never followed by a successful write`);
  const moved = nemesis.reassignments.flatMap((r) => r.movedMs);
  const lostTasks = nemesis.reassignments.reduce((s, r) => s + r.tasks, 0);
  report.reassignment = { workerLosses: nemesis.reassignments.length, tasks: lostTasks, moved: spread(moved), notMoved: lostTasks - moved.length };
  if (workers) report.workers = await checkWorkers(workers, report.violations);
  return { report, history, cluster };
}

/** The report before anything ran: every count at zero, the verdict unknown. */
function newReport(o: ChaosOptions, cluster: ChaosCluster): ChaosReport {
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
    violations: [],
    tempDir: cluster.root,
  };
}

/** Stops the external workers and reads their logs: an attempt started on two workers is a violation. */
async function checkWorkers(workers: ChaosWorkers, violations: string[]): Promise<WorkerFindings> {
  const found = await workers.finish();
  const two = found.attemptsOnTwoWorkers;
  if (two.length > 0) violations.push(`${two.length} attempts started on two external workers, e.g. ${JSON.stringify(two[0])}`);
  return found;
}

interface TaskRow {
  readonly id: string;
  readonly state: string;
  readonly attempt: number;
  readonly worker: string | null;
}

/** Pages through /v1/tasks on one node; null when any page failed. */
async function listAll(node: ChaosNode, stale: boolean): Promise<TaskRow[] | null> {
  const out: TaskRow[] = [];
  let after: string | null = null;
  for (let pages = 0; pages < 100_000; pages++) {
    const q: string = `limit=${FINAL_PAGE}${after ? `&after=${encodeURIComponent(after)}` : ""}${stale ? "&stale=true" : ""}`;
    const r = await requestJson(`${node.url}/v1/tasks?${q}`, { timeoutMs: 5000 });
    const body = r.body as { tasks?: TaskRow[]; next?: string | null } | null;
    if (r.status !== 200 || !body || !Array.isArray(body.tasks)) return null;
    for (const t of body.tasks) out.push({ id: t.id, state: t.state, attempt: t.attempt, worker: t.worker ?? null });
    if (!body.next) return out;
    after = body.next;
  }
  return null;
}

/** Reads every replica's local table when all of them report the same applied index before and after. */
async function compareReplicas(cluster: ChaosCluster): Promise<{ nodes: number; appliedIndex: number | null; tasks: number; diffs: ReplicaDiff[] }> {
  for (let attempt = 0; attempt < 60; attempt++) {
    const before = await Promise.all(cluster.nodes.map((n) => cluster.status(n, 1000)));
    const idx = before[0]?.appliedIndex;
    if (idx === undefined || !before.every((s) => s !== null && s.appliedIndex === idx && s.commitIndex === idx)) {
      await sleep(250);
      continue;
    }
    const tables = await Promise.all(cluster.nodes.map((n) => listAll(n, true)));
    const after = await Promise.all(cluster.nodes.map((n) => cluster.status(n, 1000)));
    if (tables.some((t) => t === null) || !after.every((s) => s !== null && s.appliedIndex === idx)) {
      await sleep(250);
      continue;
    }
    const views = new Map<string, Record<string, string>>();
    cluster.nodes.forEach((n, i) => {
      for (const t of tables[i]!) {
        let v = views.get(t.id);
        if (!v) views.set(t.id, (v = {}));
        v[n.id] = `${t.state}/${t.attempt}@${t.worker ?? "-"}`;
      }
    });
    const diffs: ReplicaDiff[] = [];
    for (const [id, v] of views) {
      const distinct = new Set(Object.values(v));
      if (distinct.size > 1 || Object.keys(v).length !== cluster.nodes.length) diffs.push({ id, views: v });
    }
    return { nodes: cluster.nodes.length, appliedIndex: idx, tasks: views.size, diffs };
  }
  return { nodes: cluster.nodes.length, appliedIndex: null, tasks: 0, diffs: [] };
}

/** Acknowledged tasks missing from the final listing (all of them when no listing was read). A task a client sent a
 *  delete for may rightly be gone: the model checks its reads instead (a deleted task reads 404). */
function lostAcknowledged(w: Workload, listed: ReadonlyMap<string, number> | null): string[] {
  const mayBeLost = [...w.acknowledged].filter((id) => !w.deleteSent.has(id));
  return (listed ? mayBeLost.filter((id) => !listed.has(id)) : mayBeLost).sort();
}

/** Client-observed write unavailability: from the fault to the first successful write invoked after it. */
function firstWriteAfter(w: Workload, startMs: number): number | null {
  let best = Infinity;
  for (const s of w.writes) if (s.invokeMs >= startMs && s.okMs < best) best = s.okMs;
  return Number.isFinite(best) ? best - startMs : null;
}

function countByKind(faults: readonly FaultRecord[]): Record<string, number> {
  const out: Record<string, number> = {};
  for (const f of faults) out[f.kind] = (out[f.kind] ?? 0) + 1;
  return out;
}
