// `npm run bench [-- --vs etcd] [--quick] ...`: raftsched's write throughput and leader failover on a fresh
// local 3-node cluster, optionally side by side with a local 3-member etcd running the identical workloads
// (alternating per row, in the same run), with raftsched/etcd ratios. See args.ts for the options, throughput.ts
// and failover.ts for what is measured. Results: a table on stdout, JSON + markdown in bench-results/.
import { mkdirSync, readFileSync, writeFileSync } from "node:fs";
import os from "node:os";
import path from "node:path";
import { fileURLToPath } from "node:url";
import { parseArgs, type BenchArgs } from "./args.js";
import type { Backend } from "./backend.js";
import { EtcdBackend } from "./backend-etcd.js";
import { RaftschedBackend } from "./backend-raftsched.js";
import { installExitCleanup } from "./children.js";
import { ensureEtcd, type EtcdBinary } from "./etcd-install.js";
import { runFailover, type FailoverOptions, type FailoverRow } from "./failover.js";
import { loadAverage } from "./proc-stats.js";
import { failoverRatios, failoverTable, ratioTables, realWorkloadTable, throughputRatios, throughputTable } from "./report.js";
import { runRealRows, stagesTable, type StageBreakdown } from "./real-rows.js";
import type { RealWorkloadRow } from "./real-workload.js";
import { breakdownLine } from "./real-breakdown.js";
import { round } from "./stats.js";
import { runThroughput, type ThroughputRow } from "./throughput.js";

const ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), "..", "..");
/** etcd's flags for every etcd row; its election timeout is randomized in [ET, 2·ET). */
const ETCD_HEARTBEAT_MS = 50;
const ETCD_ELECTION_TIMEOUT_MS = 300;
const RAFTSCHED_HEARTBEAT_MS = 50;
const RAFTSCHED_DEFAULT_ET: [number, number] = [150, 300];
/** The same randomized range etcd's 300 ms election timeout draws from. */
const RAFTSCHED_EQUAL_ET: [number, number] = [300, 600];

const log = (s: string): void => void process.stderr.write(`${s}\n`);

function failoverOptions(a: BenchArgs): FailoverOptions {
  return {
    rounds: a.rounds,
    writers: a.writers,
    warmupS: a.failoverWarmupS,
    settleS: a.settleS,
    probeIntervalMs: 10,
    pollMs: 10,
    reqTimeoutMs: 1000,
    maxWaitMs: 20_000,
    valueBytes: a.valueBytes,
  };
}

function machine(): Record<string, unknown> {
  return { cpus: os.cpus().length, cpuModel: os.cpus()[0]?.model ?? null, memGiB: round(os.totalmem() / 2 ** 30, 1), node: process.version, kernel: os.release() };
}

function packageVersion(name: string): string | null {
  try {
    return (JSON.parse(readFileSync(path.join(ROOT, "node_modules", name, "package.json"), "utf8")) as { version?: string }).version ?? null;
  } catch {
    return null;
  }
}

async function main(): Promise<void> {
  const args = parseArgs(process.argv.slice(2));
  const started: Backend[] = [];
  installExitCleanup();
  const stopAll = async (): Promise<void> => {
    for (const b of started.splice(0)) await b.stop().catch(() => {});
  };

  let etcdBin: EtcdBinary | null = null;
  let etcdError: string | null = null;
  if (args.vsEtcd) {
    const r = ensureEtcd();
    if ("etcd" in r) etcdBin = r.etcd;
    else {
      etcdError = r.error;
      log(`WARNING: ${r.error} — running raftsched only`);
    }
  }

  const loadStart = loadAverage();
  const runTag = Date.now().toString(36);
  log(
    `bench: ${args.quick ? "QUICK smoke run, " : ""}3 nodes on 127.0.0.1, ${args.valueBytes}-byte values, clients ${args.clients.join(",")}, ` +
      `${args.durationS}s per row after ${args.warmupS}s warmup, ${args.rounds} failover rounds; load average ${loadStart.map((x) => x.toFixed(2)).join(" ")}`,
  );

  const throughputRows: ThroughputRow[] = [];
  const realRows: RealWorkloadRow[] = [];
  let stages: StageBreakdown | null = null;
  const failoverRows: FailoverRow[] = [];
  const start = async (b: Backend): Promise<Backend> => {
    log(`starting ${b.label}`);
    started.push(b);
    await b.start();
    await b.waitHealthy(30_000);
    return b;
  };
  const stop = async (b: Backend): Promise<void> => {
    started.splice(started.indexOf(b), 1);
    await b.stop();
  };

  try {
    if (args.realClients.length > 0) {
      // The headline first, on its own cluster (default capacity, stage tracing on), stopped before the raw rows.
      const cpuProfDir = process.env.BENCH_CPU_PROF ? path.resolve(process.env.BENCH_CPU_PROF) : undefined;
      if (cpuProfDir) mkdirSync(cpuProfDir, { recursive: true });
      const real = new RaftschedBackend({ electionTimeoutMs: RAFTSCHED_DEFAULT_ET, heartbeatMs: RAFTSCHED_HEARTBEAT_MS, runTasks: true, traceStages: true, ...(cpuProfDir ? { cpuProfDir } : {}) });
      await start(real);
      log("real workload (tasks run: closed-loop submit, then wait until completed; every client on the leader)");
      const r = await runRealRows(real, args, runTag);
      realRows.push(...r.rows);
      stages = r.stages;
      await stop(real);
    }
    // Only the real rows asked for (--no-throughput --no-failover): no raw cluster.
    const rawWanted = args.throughput || args.failover;
    const raft = rawWanted ? await start(new RaftschedBackend({ electionTimeoutMs: RAFTSCHED_DEFAULT_ET, heartbeatMs: RAFTSCHED_HEARTBEAT_MS })) : null;
    const etcd = etcdBin && rawWanted ? await start(new EtcdBackend({ binary: etcdBin, heartbeatMs: ETCD_HEARTBEAT_MS, electionTimeoutMs: ETCD_ELECTION_TIMEOUT_MS })) : null;

    if (raft && args.throughput) {
      log("throughput (closed loop, every client on the leader)");
      for (const [i, c] of args.clients.entries()) {
        const o = { clients: c, durationS: args.durationS, warmupS: args.warmupS, valueBytes: args.valueBytes, reqTimeoutMs: 5000 };
        throughputRows.push(await runThroughput(raft, o, `${runTag}.r${i}`));
        if (etcd) throughputRows.push(await runThroughput(etcd, o, `${runTag}.e${i}`));
      }
    }
    if (raft && args.failover) {
      const fo = failoverOptions(args);
      log(`failover (SIGKILL the leader under ${fo.writers} writers + a probe every ${fo.probeIntervalMs} ms, ${fo.rounds} rounds)`);
      failoverRows.push(await runFailover(raft, fo, `${runTag}.fr`));
      if (etcd) {
        failoverRows.push(await runFailover(etcd, fo, `${runTag}.fe`));
        // Equal election timeout: a second raftsched cluster drawing from etcd's [ET, 2·ET).
        await stop(raft);
        const raftEqual = await start(new RaftschedBackend({ electionTimeoutMs: RAFTSCHED_EQUAL_ET, heartbeatMs: RAFTSCHED_HEARTBEAT_MS }));
        failoverRows.push(await runFailover(raftEqual, fo, `${runTag}.fq`));
      }
    }
  } finally {
    await stopAll();
  }

  const loadEnd = loadAverage();
  const tRatios = throughputRatios(throughputRows);
  const fRatios = failoverRatios(failoverRows);
  const date = new Date().toISOString();
  const command = `npm run bench${process.argv.length > 2 ? ` -- ${process.argv.slice(2).join(" ")}` : ""}`;
  const realSections =
    realRows.length === 0
      ? []
      : [
          "",
          `### Real workload: tasks run (built-in handler, sleepMs 0, default capacity; ${args.durationS} s window after ${args.warmupS} s warmup)`,
          "",
          realWorkloadTable(realRows),
          "",
          ...realRows.map((r) => `- C=${r.clients} (completion seen by ${r.completion}, ${r.readsPerTask} reads per task): ${r.breakdown ? breakdownLine(r.breakdown) : "no leader metrics"}`),
          ...(stages ? ["", `### Where the 1-client submit's time goes on the leader (RAFTSCHED_TRACE_STAGES, ${stages.requests} requests; ms)`, "", stagesTable(stages)] : []),
        ];
  const sections: string[] = [
    `## raftsched benchmark, ${date}`,
    "",
    `Command: \`${command}\`. Load average at start ${loadStart.map((x) => x.toFixed(2)).join(" ")}, at end ${loadEnd.map((x) => x.toFixed(2)).join(" ")} (${os.cpus().length} CPUs).`,
    `raftsched: heartbeat ${RAFTSCHED_HEARTBEAT_MS} ms, capacity 0 (tasks stay pending), raw HTTP/1.1 keep-alive client. ` +
      (etcdBin ? `etcd ${etcdBin.version}: --heartbeat-interval ${ETCD_HEARTBEAT_MS} --election-timeout ${ETCD_ELECTION_TIMEOUT_MS}, etcd3 ${packageVersion("etcd3") ?? "?"} gRPC client.` : etcdError ? `etcd: not run (${etcdError}).` : ""),
  ];
  sections.push(...realSections);
  if (throughputRows.length) sections.push("", `### Write throughput, raw Raft (capacity 0: tasks stay pending) (${args.valueBytes}-byte values, ${args.durationS} s window after ${args.warmupS} s warmup)`, "", throughputTable(throughputRows));
  if (failoverRows.length) sections.push("", `### Leader failover (SIGKILL under ${args.writers} writers + 10 ms probe)`, "", failoverTable(failoverRows));
  if (tRatios.length || fRatios.length) sections.push("", "### Ratios raftsched / etcd (ops/s: higher is better for raftsched; the rest: lower is better)", "", ratioTables(tRatios, fRatios));
  const markdown = sections.join("\n");
  console.log(`\n${markdown}\n`);

  const outDir = args.outDir ? path.resolve(args.outDir) : path.join(ROOT, "bench-results");
  mkdirSync(outDir, { recursive: true });
  const stamp = date.replace(/[:.]/g, "").replace(/-/g, "");
  const jsonPath = path.join(outDir, `bench-${stamp}.json`);
  writeFileSync(
    jsonPath,
    JSON.stringify(
      {
        tool: "raftsched scripts/bench",
        date,
        command,
        args,
        machine: machine(),
        loadAvgStart: loadStart,
        loadAvgEnd: loadEnd,
        etcd: etcdBin ? { version: etcdBin.version, client: `etcd3 ${packageVersion("etcd3") ?? "?"}` } : etcdError ? { error: etcdError } : null,
        real: realRows,
        stages,
        throughput: throughputRows,
        failover: failoverRows,
        ratios: { throughput: tRatios, failover: fRatios },
      },
      null,
      2,
    ),
  );
  writeFileSync(path.join(outDir, `bench-${stamp}.md`), `${markdown}\n`);
  console.log(`results: ${jsonPath}`);
}

main().catch((err: unknown) => {
  console.error(`bench: ${err instanceof Error ? (err.stack ?? err.message) : String(err)}`);
  process.exitCode = 1;
});
