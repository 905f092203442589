// One row of `npm run bench:workers` (workers.ts) on raftsched: C closed-loop producers submit tasks to the leader
// as fast as each gets its 201 (the shape of the BullMQ anchor's e2e: producers do not wait for completion), while
// the external workers run them. Counted inside the window: submits acknowledged, and tasks completed (seen on a
// follower's watch stream, completion-watch.ts); end to end = submit sent → completion seen. After the window the
// producers stop and the workers drain the backlog (bounded), which gives the workers' rate alone.
import { CompletionWatch } from "./completion-watch.js";
import { LeaderMetricsWatch, breakdownLine, type RealBreakdown } from "./real-breakdown.js";
import { LoadSampler, loadAverage, type LoadSample } from "./proc-stats.js";
import { progress, progressDone } from "./progress.js";
import { RawHttpClient } from "./raw-http.js";
import { now, round, sleep, summarize, type Summary } from "./stats.js";

export interface WorkersRowOptions {
  readonly clients: number;
  readonly durationS: number;
  readonly warmupS: number;
  readonly drainS: number;
  readonly valueBytes: number;
  readonly runTag: string;
}

export interface ClusterView {
  readonly token: string;
  readonly leader: { readonly port: number; readonly pid: number };
  readonly watchPort: number;
  readonly nodePids: readonly number[];
  readonly hostPids: readonly number[];
  /** The leader's HTTP port now (asked again after a refused or failed submit: leadership may have moved). */
  readonly leaderPort: () => Promise<number | null>;
}

export interface WorkersRow {
  readonly system: "raftsched";
  readonly clients: number;
  readonly durationS: number;
  readonly submittedPerS: number;
  readonly completedPerS: number;
  readonly ackMs: Summary;
  /** Submit sent → completion seen, for the tasks completed inside the window. */
  readonly endToEndMs: Summary;
  readonly backlogAtWindowEnd: number;
  readonly drainCompletedPerS: number | null;
  readonly notCompletedAfterDrain: number;
  readonly errors: number;
  readonly errorSamples: string[];
  readonly leader: LoadSample;
  readonly nodes: LoadSample;
  readonly workerHosts: LoadSample;
  readonly watchReconnects: number;
  /** Times a producer found the leader elsewhere after a failed submit (elections during the row). */
  readonly leaderMoves: number;
  /** The leader's counters over the window (real-breakdown.ts): fsyncs, entries, placement, commit and fsync means. */
  readonly breakdown: RealBreakdown | null;
  readonly loadAvg: [number, number, number];
}

export async function runWorkersRow(c: ClusterView, o: WorkersRowOptions, appliedIndex: number): Promise<WorkersRow> {
  const auth = `Authorization: Bearer ${c.token}\r\n`;
  const watch = new CompletionWatch(c.watchPort, c.token, appliedIndex);
  watch.start();
  const value = "v".repeat(o.valueBytes);
  const submittedAt = new Map<string, number>();
  const ack: number[] = [];
  const errorSamples = new Set<string>();
  const samplers = { leader: new LoadSampler([c.leader.pid]), nodes: new LoadSampler(c.nodePids), hosts: new LoadSampler(c.hostPids) };
  const tStart = now() + o.warmupS * 1000;
  const tEnd = tStart + o.durationS * 1000;

  const shared = { submittedAt, ack, errorSamples, errors: 0, leaderMoves: 0 };
  const producer = (i: number): Promise<void> => produce(c, o, i, { tStart, tEnd, value, auth }, shared);
  const ticker = setInterval(() => {
    const t = now();
    progress(`  raftsched workers C=${o.clients} ${t < tStart ? "warmup" : `${((t - tStart) / 1000).toFixed(0)}/${o.durationS}s`}: ${submittedAt.size} submitted, ${watch.completedAt.size} completed`);
  }, 250);
  const metrics = new LeaderMetricsWatch(c.leader.port, auth);
  let metricsStarted: Promise<void> | null = null;
  const startSamplers = setTimeout(() => {
    Object.values(samplers).forEach((s) => s.start());
    metricsStarted = metrics.start().catch(() => {});
  }, o.warmupS * 1000);
  await Promise.all(Array.from({ length: o.clients }, (_, i) => producer(i)));
  clearTimeout(startSamplers);
  const breakdown = metricsStarted ? (await metricsStarted, await metrics.finish()) : null;
  const loads = { leader: samplers.leader.stop(), nodes: samplers.nodes.stop(), hosts: samplers.hosts.stop() };

  const { e2e, backlog } = windowCompletions(watch, submittedAt, tStart, tEnd);
  const drain = await drainBacklog(watch, submittedAt, o.drainS);
  clearInterval(ticker);
  watch.close();
  const row: WorkersRow = {
    system: "raftsched",
    clients: o.clients,
    durationS: o.durationS,
    submittedPerS: round(ack.length / o.durationS, 1),
    completedPerS: round(e2e.length / o.durationS, 1),
    ackMs: summarize(ack),
    endToEndMs: summarize(e2e),
    backlogAtWindowEnd: backlog,
    drainCompletedPerS: drain.perS,
    notCompletedAfterDrain: drain.notCompleted,
    errors: shared.errors,
    errorSamples: [...errorSamples],
    leader: loads.leader,
    nodes: loads.nodes,
    workerHosts: loads.hosts,
    watchReconnects: watch.reconnects,
    leaderMoves: shared.leaderMoves,
    breakdown,
    loadAvg: loadAverage().map((x) => round(x, 2)) as [number, number, number],
  };
  progressDone(
    `  raftsched workers C=${o.clients}: ${row.submittedPerS} submitted/s, ${row.completedPerS} completed/s, e2e p50 ${row.endToEndMs.p50} ms, ` +
      `backlog ${backlog}, drain ${row.drainCompletedPerS}/s, leader CPU ${row.leader.clusterCpuPct}% RSS ${row.leader.peakRssMiB[0]} MiB, ${row.errors} errors`,
  );
  if (breakdown) progressDone(`    ${breakdownLine(breakdown)}`);
  return row;
}

interface ProducerShared {
  readonly submittedAt: Map<string, number>;
  readonly ack: number[];
  readonly errorSamples: Set<string>;
  errors: number;
  leaderMoves: number;
}

/** One closed-loop producer: submits until tEnd; after a failed submit it follows the leader if it moved. */
async function produce(c: ClusterView, o: WorkersRowOptions, i: number, w: { tStart: number; tEnd: number; value: string; auth: string }, sh: ProducerShared): Promise<void> {
  let port = c.leader.port;
  let http = new RawHttpClient("127.0.0.1", port, 5000, w.auth);
  try {
    for (let seq = 0; now() < w.tEnd; seq++) {
      const id = `wb.${o.runTag}.${i}.${seq}`;
      const t0 = now();
      try {
        const r = await http.request("POST", "/v1/tasks", JSON.stringify({ id, payload: { v: w.value } }));
        if (r.status !== 201 && r.status !== 200) throw new Error(`HTTP ${r.status} ${r.body.toString("utf8", 0, 160)}`);
        sh.submittedAt.set(id, t0);
        const t1 = now();
        if (t1 >= w.tStart && t1 <= w.tEnd) sh.ack.push(t1 - t0);
      } catch (e) {
        sh.errors++;
        if (sh.errorSamples.size < 5) sh.errorSamples.add(String((e as Error).message ?? e).slice(0, 160));
        await sleep(10);
        // The same id is not retried (a new one follows): an unknown outcome may still complete, and is then
        // simply not counted. Follow the leader if it moved.
        const moved = await c.leaderPort().catch(() => null);
        if (moved !== null && moved !== port) {
          sh.leaderMoves++;
          http.close();
          port = moved;
          http = new RawHttpClient("127.0.0.1", port, 5000, w.auth);
        }
      }
    }
  } finally {
    http.close();
  }
}

/** Completions of this row's tasks seen inside the window (end to end of each), and the backlog at its end. */
function windowCompletions(watch: CompletionWatch, submittedAt: ReadonlyMap<string, number>, tStart: number, tEnd: number): { e2e: number[]; backlog: number } {
  const e2e: number[] = [];
  let completedAtEnd = 0;
  for (const [id, t] of watch.completedAt) {
    const t0 = submittedAt.get(id);
    if (t0 === undefined) continue;
    if (t <= tEnd) completedAtEnd++;
    if (t >= tStart && t <= tEnd) e2e.push(t - t0);
  }
  return { e2e, backlog: submittedAt.size - completedAtEnd };
}

/** The workers alone, after the producers stopped: until every acknowledged task completed or drainS passed. */
async function drainBacklog(watch: CompletionWatch, submittedAt: ReadonlyMap<string, number>, drainS: number): Promise<{ perS: number | null; notCompleted: number }> {
  const drainStart = now();
  let lastDone = drainStart;
  let drained = 0;
  watch.onCompleted((id, t) => {
    if (submittedAt.has(id)) {
      drained++;
      lastDone = t;
    }
  });
  const done = (): number => [...submittedAt.keys()].filter((id) => watch.completedAt.has(id)).length;
  while (now() - drainStart < drainS * 1000 && done() < submittedAt.size) await sleep(100);
  return { perS: drained > 0 && lastDone > drainStart ? round(drained / ((lastDone - drainStart) / 1000), 1) : null, notCompleted: submittedAt.size - done() };
}
