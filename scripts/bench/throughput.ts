// Closed-loop write throughput: C clients, each with its own connection to the leader, each doing sequential
// writes of unique keys with a fixed-size value. Writes that complete inside the window [warmup, warmup+duration]
// count; latency is the client-side round trip. Meanwhile the members' RSS, the cluster's and the driver's CPU are
// sampled (proc-stats.ts).
import { randomBytes } from "node:crypto";
import type { Backend } from "./backend.js";
import { LoadSampler, loadAverage, type LoadSample } from "./proc-stats.js";
import { progress, progressDone } from "./progress.js";
import { now, round, sleep, summarize, type Summary } from "./stats.js";

export interface ThroughputOptions {
  readonly clients: number;
  readonly durationS: number;
  readonly warmupS: number;
  readonly valueBytes: number;
  readonly reqTimeoutMs: number;
}

export interface ThroughputRow {
  readonly workload: "throughput";
  readonly system: string;
  readonly label: string;
  readonly settings: Readonly<Record<string, unknown>>;
  readonly clients: number;
  readonly durationS: number;
  readonly warmupS: number;
  readonly valueBytes: number;
  readonly ops: number;
  readonly opsPerS: number;
  readonly latencyMs: Summary;
  readonly errors: number;
  readonly errorSamples: string[];
  readonly load: LoadSample;
  readonly loadAvg: [number, number, number];
}

/** A printable value of exactly n bytes (base64 of random bytes), usable as an etcd value and a JSON string. */
export function valueOfBytes(n: number): string {
  return randomBytes(Math.ceil((n * 3) / 4) + 3)
    .toString("base64")
    .replace(/[+/=]/g, "x")
    .slice(0, n);
}

export async function runThroughput(backend: Backend, o: ThroughputOptions, runTag: string): Promise<ThroughputRow> {
  await backend.waitHealthy(30_000);
  const leader = await backend.leader();
  if (!leader) throw new Error(`${backend.label}: no leader`);
  const value = valueOfBytes(o.valueBytes);
  const clients = Array.from({ length: o.clients }, () => backend.createClient(leader.endpointIndex, o.reqTimeoutMs));
  const pids = backend.pids().map((p) => p ?? -1);
  const sampler = new LoadSampler(pids);
  const tBegin = now();
  const tStart = tBegin + o.warmupS * 1000;
  const tEnd = tStart + o.durationS * 1000;
  const lat: number[] = [];
  let errors = 0;
  const errorSamples = new Set<string>();
  let samplerStarted = false;

  const loop = async (i: number): Promise<void> => {
    const c = clients[i]!;
    let seq = 0;
    while (now() < tEnd) {
      const t0 = now();
      try {
        await c.put(`tp.${runTag}.${i}.${seq++}`, value);
        const t1 = now();
        if (t1 >= tStart && t1 <= tEnd) lat.push(t1 - t0);
      } catch (e) {
        errors++;
        if (errorSamples.size < 5) errorSamples.add(String((e as Error)?.message ?? e).slice(0, 160));
        await sleep(10);
      }
    }
  };
  const ticker = setInterval(() => {
    const t = now();
    const phase = t < tStart ? "warmup" : `${((t - tStart) / 1000).toFixed(0)}/${o.durationS}s`;
    progress(`  ${backend.label} C=${o.clients} ${phase}: ${lat.length} ok, ${errors} errors`);
  }, 250);
  // The sampler covers the measured window only.
  const samplerStart = setTimeout(() => {
    if (!samplerStarted) {
      sampler.start();
      samplerStarted = true;
    }
  }, o.warmupS * 1000);
  await Promise.all(clients.map((_, i) => loop(i)));
  clearInterval(ticker);
  clearTimeout(samplerStart);
  if (!samplerStarted) sampler.start();
  const load = sampler.stop();
  await Promise.all(clients.map((c) => c.close()));
  const latencyMs = summarize(lat);
  const row: ThroughputRow = {
    workload: "throughput",
    system: backend.system,
    label: backend.label,
    settings: backend.settings,
    clients: o.clients,
    durationS: o.durationS,
    warmupS: o.warmupS,
    valueBytes: o.valueBytes,
    ops: lat.length,
    opsPerS: round(lat.length / o.durationS, 1),
    latencyMs,
    errors,
    errorSamples: [...errorSamples],
    load,
    loadAvg: loadAverage().map((x) => round(x, 2)) as [number, number, number],
  };
  progressDone(
    `  ${backend.label} C=${o.clients}: ${row.opsPerS} ops/s, p50 ${latencyMs.p50} p99 ${latencyMs.p99} max ${latencyMs.max} ms, ${errors} errors, ` +
      `RSS ${load.peakRssMiB.map((r) => (r === null ? "?" : r.toFixed(0))).join("/")} MiB, cluster CPU ${load.clusterCpuPct}%, driver CPU ${load.driverCpuPct}%`,
  );
  return row;
}
