// The checks after a chaos run's faults are healed, each a phase that fills its part of the report: quiescence,
// the final linearizable reads, lost/duplicated tasks, the replicas' tables, linearizability, and the failover and
// reassignment measures. runChaos (run.ts) calls them in this order.
import type { ChaosReport, ReplicaDiff } from "./chaos-report.js";
import type { ChaosCluster, ChaosNode } from "./cluster.js";
import type { HistoryRecorder, OutcomeClass } from "./history.js";
import { requestJson, sleep } from "./http.js";
import { checkHistory, formatCounterexample } from "./linearizability.js";
import type { FaultRecord, Nemesis } from "./nemesis.js";
import { spread } from "./stats.js";
import { taskModel, type TaskInput, type TaskOutput } from "./task-model.js";
import { classifyTaskOutcome } from "./task-outcome.js";
import { REFUSED_CODE, type Workload } from "./workload.js";

const QUIESCENCE_TIMEOUT_MS = 120_000;
const FINAL_PAGE = 1000;

/** Refused connections carry nothing: the operation certainly did not happen. */
function classify(input: TaskInput, output: TaskOutput): OutcomeClass {
  if (output.status === 0) return output.code === REFUSED_CODE ? "drop" : "unknown";
  return classifyTaskOutcome(input, output);
}

export interface TaskRow {
  readonly id: string;
  readonly state: string;
  readonly attempt: number;
  readonly worker: string | null;
}

/** Waits (bounded) for a leader and every task finished; the final listing and the leader it came from. */
export async function awaitQuiescence(
  report: ChaosReport,
  nemesis: Nemesis,
  clock: () => number,
  aborted: () => boolean,
): Promise<{ leader: ChaosNode | null; finalTasks: TaskRow[] }> {
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
  return { leader, finalTasks };
}

/** A linearizable read of every submitted id on the leader, into the history (the model checks them). */
export async function readEveryIdFinally(workload: Workload, leader: ChaosNode): Promise<void> {
  const ids = [...new Set(workload.submitted)];
  const lanes = 8;
  await Promise.all(
    Array.from({ length: lanes }, async (_, lane) => {
      for (let i = lane; i < ids.length; i += lanes) {
        for (let tries = 0; tries < 3; tries++) {
          const a = await workload.read(`final${lane}`, leader, ids[i]!);
          if (a.status === 200 || a.status === 404) break;
          await sleep(100);
        }
      }
    }),
  );
}

/** Every acknowledged task is listed once, pages in id order. */
export function checkListing(report: ChaosReport, workload: Workload, finalTasks: readonly TaskRow[], leader: ChaosNode | null): void {
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
}

/** Every replica's table, at one applied index, is the same. */
export async function checkReplicaTables(report: ChaosReport, cluster: ChaosCluster): Promise<void> {
  const compared = await compareReplicas(cluster);
  report.replicasCompared = { nodes: compared.nodes, appliedIndex: compared.appliedIndex, tasks: compared.tasks };
  report.replicaMismatches = compared.diffs;
  if (compared.appliedIndex === null) report.violations.push("the replicas never settled at one applied index, so their tables could not be compared");
  if (compared.diffs.length > 0) {
    report.violations.push(`${compared.diffs.length} tasks differ between replicas (two current attempts or diverged state), e.g. ${JSON.stringify(compared.diffs[0])}`);
  }
}

export function checkLinearizability(
  report: ChaosReport,
  workload: Workload,
  history: HistoryRecorder<TaskInput, TaskOutput>,
  o: { durationMs: number; log: (line: string) => void },
): void {
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
}

/** Write unavailability per leader loss, and how fast a lost worker's tasks moved on. */
export function measureFaults(report: ChaosReport, nemesis: Nemesis, workload: Workload): void {
  const list = nemesis.faults.map((f) => ({ ...f, unavailabilityMs: f.leaderLost ? firstWriteAfter(workload, f.startMs) : null }));
  report.faults = { total: list.length, byKind: countByKind(nemesis.faults), list };
  const failovers = list.filter((f) => f.leaderLost);
  const samples = failovers.map((f) => f.unavailabilityMs).filter((x): x is number => x !== null);
  report.failovers = { count: failovers.length, unavailability: spread(samples), unrecovered: failovers.length - samples.length };
  if (report.failovers.unrecovered > 0) report.violations.push(`${report.failovers.unrecovered} leader failovers were never followed by a successful write`);
  const moved = nemesis.reassignments.flatMap((r) => r.movedMs);
  const lostTasks = nemesis.reassignments.reduce((s, r) => s + r.tasks, 0);
  report.reassignment = { workerLosses: nemesis.reassignments.length, tasks: lostTasks, moved: spread(moved), notMoved: lostTasks - moved.length };
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

export function countByKind(faults: readonly FaultRecord[]): Record<string, number> {
  const out: Record<string, number> = {};
  for (const f of faults) out[f.kind] = (out[f.kind] ?? 0) + 1;
  return out;
}
