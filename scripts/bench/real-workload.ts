// The real workload (issue 14.1): tasks that run. A raftsched cluster with the default capacity (4 per node) and
// the built-in handler; C closed-loop clients, each submitting a task { sleepMs: 0 } and then waiting until it is
// completed (assigned by the leader, run by a node, its completion committed) before the next. Per task: the
// submit's ack latency (the 201: committed on a majority and applied) and the end-to-end latency (submit sent →
// completed seen). Completion is seen by polling GET /v1/tasks/:id?stale=true on the leader every POLL_MS (a local
// read on the node that commits the completion first); the polls cost the leader some CPU, which the row pays.
import type { RaftschedBackend } from "./backend-raftsched.js";
import { LoadSampler, loadAverage, type LoadSample } from "./proc-stats.js";
import { progress, progressDone } from "./progress.js";
import { now, round, sleep, summarize, type Summary } from "./stats.js";

/** Between completion polls: short against a task's ~10 ms life, long enough that polls stay a minor cost. */
const POLL_MS = 2;
/** A task not completed by then counts as an error (and the client goes on). */
const COMPLETION_TIMEOUT_MS = 10_000;

export interface RealWorkloadOptions {
  readonly clients: number;
  readonly durationS: number;
  readonly warmupS: number;
  readonly reqTimeoutMs: number;
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
        for (;;) {
          const state = await c.state(id);
          if (state === "completed") break;
          if (state === "dead" || state === "cancelled") throw new Error(`task ${id} ended ${state}`);
          if (now() - t1 > COMPLETION_TIMEOUT_MS) throw new Error(`task ${id} not completed within ${COMPLETION_TIMEOUT_MS} ms (${state})`);
          await sleep(POLL_MS);
        }
        const t2 = now();
        if (t2 >= tStart && t2 <= tEnd) {
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
  const samplerStart = setTimeout(() => sampler.start(), o.warmupS * 1000);
  await Promise.all(clients.map((_, i) => loop(i)));
  clearInterval(ticker);
  clearTimeout(samplerStart);
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
  };
  progressDone(
    `  ${backend.label} real C=${o.clients}: ${row.completedPerS} tasks/s completed, ack p50 ${row.ackMs.p50} p99 ${row.ackMs.p99} ms, ` +
      `end-to-end p50 ${row.endToEndMs.p50} p99 ${row.endToEndMs.p99} ms, ${errors} errors, cluster CPU ${load.clusterCpuPct}%`,
  );
  return row;
}
