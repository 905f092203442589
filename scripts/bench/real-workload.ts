// The real workload (issue 14.1): tasks that run. A raftsched cluster with the default capacity (4 per node) and
// the built-in handler; C closed-loop clients, each submitting a task { sleepMs: 0 } and then waiting until it is
// completed (assigned by the leader, run by a node, its completion committed) before the next. Per task: the
// submit's ack latency (the 201: committed on a majority and applied) and the end-to-end latency (submit sent →
// completed seen). Completion is seen on the leader (the node that applies the completion first), either by a long
// poll, GET /v1/tasks/:id?stale=true&wait=terminal (completion "wait", the default since 2026-12-07: one request per
// task), or by polling the same read every POLL_MS (completion "poll", the driver before: at 64 clients ~90 polls per
// task, tens of thousands of requests a second that the leader paid for). The leader's counters over the window
// are read into a breakdown (real-breakdown.ts).
import type { RaftschedBackend } from "./backend-raftsched.js";
import { LoadSampler, loadAverage, type LoadSample } from "./proc-stats.js";
import { progress, progressDone } from "./progress.js";
import { now, round, sleep, summarize, type Summary } from "./stats.js";
import { LeaderMetricsWatch, breakdownLine, type RealBreakdown } from "./real-breakdown.js";

/** Between completion polls: short against a task's ~10 ms life, long enough that polls stay a minor cost. */
const POLL_MS = 2;
/** A task not completed by then counts as an error (and the client goes on). */
const COMPLETION_TIMEOUT_MS = 10_000;
/** One long poll's timeout: below the client's request timeout, so it answers rather than times out. */
const LONG_POLL_MS = 3000;

export type CompletionWatch = "wait" | "poll";

export interface RealWorkloadOptions {
  readonly clients: number;
  readonly durationS: number;
  readonly warmupS: number;
  readonly reqTimeoutMs: number;
  /** How a client learns its task completed (default "wait"). */
  readonly completion?: CompletionWatch;
}

export interface RealWorkloadRow {
  readonly workload: "real";
  readonly system: string;
  readonly label: string;
  readonly clients: number;
  readonly durationS: number;
  /** Tasks submitted and seen completed inside the window. */
  readonly completed: number;
  readonly completedPerS: number;
  /** Submit → 201 (committed and applied). */
  readonly ackMs: Summary;
  /** Submit sent → task seen completed. */
  readonly endToEndMs: Summary;
  readonly errors: number;
  readonly errorSamples: string[];
  readonly load: LoadSample;
  readonly loadAvg: [number, number, number];
  readonly completion: CompletionWatch;
  /** Completion reads per counted task. */
  readonly readsPerTask: number | null;
  /** The leader's counters over the window (null when /metrics could not be read). */
  readonly breakdown: RealBreakdown | null;
}

export async function runRealWorkload(backend: RaftschedBackend, o: RealWorkloadOptions, runTag: string): Promise<RealWorkloadRow> {
  await backend.waitHealthy(30_000);
  const leader = await backend.leader();
  if (!leader) throw new Error(`${backend.label}: no leader`);
  const clients = Array.from({ length: o.clients }, () => backend.createTaskClient(leader.endpointIndex, o.reqTimeoutMs));
  const sampler = new LoadSampler(backend.pids().map((p) => p ?? -1));
  const tStart = now() + o.warmupS * 1000;
  const tEnd = tStart + o.durationS * 1000;
  const ack: number[] = [];
  const e2e: number[] = [];
  const completion = o.completion ?? "wait";
  let reads = 0;
  let errors = 0;
  const errorSamples = new Set<string>();
  const fail = (e: unknown): void => {
    errors++;
    if (errorSamples.size < 5) errorSamples.add(String((e as Error)?.message ?? e).slice(0, 160));
  };

  const loop = async (i: number): Promise<void> => {
    const c = clients[i]!;
    for (let seq = 0; now() < tEnd; seq++) {
      const id = `rw.${runTag}.${i}.${seq}`;
      const t0 = now();
      try {
        await c.submit(id, { sleepMs: 0 });
        const t1 = now();
        let taskReads = 0;
        for (;;) {
          taskReads++;
          const state = await c.state(id, completion === "wait" ? LONG_POLL_MS : undefined);
          if (state === "completed") break;
          if (state === "dead" || state === "cancelled") throw new Error(`task ${id} ended ${state}`);
          if (now() - t1 > COMPLETION_TIMEOUT_MS) throw new Error(`task ${id} not completed within ${COMPLETION_TIMEOUT_MS} ms (${state})`);
          if (completion === "poll") await sleep(POLL_MS);
        }
        const t2 = now();
        if (t2 >= tStart && t2 <= tEnd) {
          reads += taskReads;
          ack.push(t1 - t0);
          e2e.push(t2 - t0);
        }
      } catch (e) {
        fail(e);
        await sleep(10);
      }
    }
  };
  const ticker = setInterval(() => {
    const t = now();
    progress(`  ${backend.label} real C=${o.clients} ${t < tStart ? "warmup" : `${((t - tStart) / 1000).toFixed(0)}/${o.durationS}s`}: ${e2e.length} completed, ${errors} errors`);
  }, 250);
  const ep = backend.endpointOf(leader.endpointIndex);
  const [breakdown] = await Promise.all([leaderWindow(ep, sampler, o.warmupS * 1000, tEnd), ...clients.map((_, i) => loop(i))]);
  clearInterval(ticker);
  const load = sampler.stop();
  for (const c of clients) c.close();
  const row: RealWorkloadRow = {
    workload: "real",
    system: backend.system,
    label: backend.label,
    clients: o.clients,
    durationS: o.durationS,
    completed: e2e.length,
    completedPerS: round(e2e.length / o.durationS, 1),
    ackMs: summarize(ack),
    endToEndMs: summarize(e2e),
    errors,
    errorSamples: [...errorSamples],
    load,
    loadAvg: loadAverage().map((x) => round(x, 2)) as [number, number, number],
    completion,
    readsPerTask: e2e.length > 0 ? round(reads / e2e.length, 1) : null,
    breakdown,
  };
  announce(row);
  return row;
}

/** The row's line on stderr, and the leader's breakdown under it. */
function announce(row: RealWorkloadRow): void {
  progressDone(
    `  ${row.label} real C=${row.clients}: ${row.completedPerS} tasks/s completed, ack p50 ${row.ackMs.p50} p99 ${row.ackMs.p99} ms, ` +
      `end-to-end p50 ${row.endToEndMs.p50} p99 ${row.endToEndMs.p99} ms, ${row.errors} errors, cluster CPU ${row.load.clusterCpuPct}%, ` +
      `${row.readsPerTask} completion reads per task (${row.completion}), load ${row.loadAvg[0]}`,
  );
  if (row.breakdown) progressDone(`    ${breakdownLine(row.breakdown)}`);
}

/** From the end of the warmup to tEnd: the load sampler runs and the leader's counters are read (real-breakdown.ts). */
async function leaderWindow(ep: { port: number; authHeader: string }, sampler: LoadSampler, warmupMs: number, tEnd: number): Promise<RealBreakdown | null> {
  const watch = new LeaderMetricsWatch(ep.port, ep.authHeader);
  await sleep(warmupMs);
  sampler.start();
  const watching = watch.start().then(
    () => true,
    (e: unknown) => (progressDone(`    leader metrics not read: ${String(e)}`), false),
  );
  await sleep(Math.max(0, tEnd - now()));
  return (await watching) ? await watch.finish() : null;
}
