// `npm run bench:workers [-- --vs bullmq] [--quick] ...` (issue 12 point 8): a 3-node cluster whose members run no
// tasks (`"worker": false`), N external workers (the SDK, `raftsched/worker`) spread over a few child processes
// (worker-host.ts) so the driver is not what limits them, and closed-loop producers on the leader. It prints the
// leader's CPU and RSS with the workers connected and idle, and per producer count the submitted and completed
// tasks per second, end-to-end latency, the backlog and the workers' drain rate, the leader's CPU and RSS under
// load; with --vs bullmq the BullMQ anchor's e2e on the same machine in the same run (bullmq-anchor.ts), and the
// ratio. A benchmark, not a test: nothing here asserts a figure (test/integration/bench-workers-smoke.test.ts
// runs --quick for a few seconds).
import { fork, type ChildProcess } from "node:child_process";
import { mkdirSync, writeFileSync } from "node:fs";
import os from "node:os";
import path from "node:path";
import { fileURLToPath } from "node:url";
import { RaftschedBackend } from "./backend-raftsched.js";
import { type BullmqRow, prepareAnchor, runBullmqRow } from "./bullmq-anchor.js";
import { installExitCleanup, trackChild } from "./children.js";
import { LoadSampler, loadAverage, type LoadSample } from "./proc-stats.js";
import { RawHttpClient } from "./raw-http.js";
import { round, sleep } from "./stats.js";
import { parseWorkersArgs, type WorkersArgs } from "./workers-args.js";
import { type WorkersRow, runWorkersRow } from "./workers-load.js";
import { workersMarkdown } from "./workers-report.js";

const ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), "..", "..");
const log = (s: string): void => void process.stderr.write(`${s}\n`);

interface Host {
  readonly child: ChildProcess;
  readonly ready: Promise<{ workers: number; failedCount: number; failed: string[] }>;
}

function startHosts(a: WorkersArgs, urls: string[], token: string, tag: string): Host[] {
  const hosts: Host[] = [];
  for (let p = 0; p < a.procs; p++) {
    const ids: string[] = [];
    for (let w = p; w < a.workers; w += a.procs) ids.push(`bw-${tag}-${w}`);
    const child = fork(path.join(ROOT, "scripts/bench/worker-host.ts"), [JSON.stringify({ urls, token, ids, capacity: a.workerCapacity })], {
      execArgv: ["--import", "tsx"],
      cwd: ROOT,
      stdio: ["ignore", "ignore", "inherit", "ipc"],
    });
    trackChild(child);
    const ready = new Promise<{ workers: number; failedCount: number; failed: string[] }>((resolve, reject) => {
      child.on("message", (m: { type?: string; workers: number; failedCount: number; failed: string[] }) => m?.type === "ready" && resolve(m));
      child.once("exit", (code) => reject(new Error(`worker host ${p} exited with ${code} before its workers registered`)));
    });
    hosts.push({ child, ready });
  }
  return hosts;
}

async function externalAlive(port: number, token: string): Promise<number> {
  const http = new RawHttpClient("127.0.0.1", port, 5000, `Authorization: Bearer ${token}\r\n`);
  try {
    const r = await http.request("GET", "/v1/workers");
    const rows = JSON.parse(r.body.toString("utf8")) as Array<{ kind?: string; alive?: boolean }>;
    return rows.filter((w) => w.kind === "external" && w.alive).length;
  } finally {
    http.close();
  }
}

async function appliedIndexOf(port: number): Promise<number> {
  const http = new RawHttpClient("127.0.0.1", port, 5000);
  try {
    return (JSON.parse((await http.request("GET", "/v1/status")).body.toString("utf8")) as { appliedIndex: number }).appliedIndex;
  } finally {
    http.close();
  }
}

async function measureIdle(pid: number, seconds: number): Promise<LoadSample> {
  const s = new LoadSampler([pid], 250);
  s.start();
  await sleep(seconds * 1000);
  return s.stop();
}

async function runRaftsched(a: WorkersArgs, tag: string): Promise<{ idle: LoadSample; rows: WorkersRow[] }> {
  // BENCH_CPU_PROF=DIR: the members run under node --cpu-prof, as in the main benchmark (<member>.cpuprofile).
  const cpuProfDir = process.env.BENCH_CPU_PROF ? path.resolve(process.env.BENCH_CPU_PROF) : undefined;
  if (cpuProfDir) mkdirSync(cpuProfDir, { recursive: true });
  const backend = new RaftschedBackend({ electionTimeoutMs: [150, 300], heartbeatMs: 50, externalWorkersOnly: true, ...(cpuProfDir ? { cpuProfDir } : {}) });
  const hosts: Host[] = [];
  try {
    log(`starting 3 nodes (worker: false) and ${a.workers} external workers in ${a.procs} processes`);
    await backend.start();
    await backend.waitHealthy(30_000);
    const leader = await backend.leader();
    if (!leader) throw new Error("no leader");
    const leaderEp = backend.endpointOf(leader.endpointIndex);
    const token = leaderEp.authHeader.replace(/^Authorization: Bearer |\r\n$/g, "");
    const urls = [0, 1, 2].map((i) => `http://127.0.0.1:${backend.endpointOf(i).port}`);
    hosts.push(...startHosts(a, urls, token, tag));
    const ready = await Promise.all(hosts.map((h) => h.ready));
    const failed = ready.reduce((n, r) => n + r.failedCount, 0);
    if (failed > 0) throw new Error(`${failed} workers did not register: ${ready.flatMap((r) => r.failed).join("; ")}`);
    for (let i = 0; i < 100 && (await externalAlive(leaderEp.port, token)) < a.workers; i++) await sleep(200);
    log(`${await externalAlive(leaderEp.port, token)} external workers alive; idle for ${a.idleS}s`);
    await sleep(1000);
    const idle = await measureIdle(leader.pid, a.idleS);
    log(`  idle: leader CPU ${idle.clusterCpuPct}% of a core, RSS ${idle.peakRssMiB[0]} MiB`);
    const rows: WorkersRow[] = [];
    for (const [i, clients] of a.clients.entries()) {
      const pids = backend.pids().filter((p): p is number => p !== null);
      const now = (await backend.leader()) ?? leader; // the leader of this row (an earlier row may have moved it)
      const view = {
        token,
        leader: { port: backend.endpointOf(now.endpointIndex).port, pid: now.pid },
        watchPort: backend.endpointOf((now.endpointIndex + 1) % 3).port,
        nodePids: pids,
        hostPids: hosts.map((h) => h.child.pid ?? -1),
        leaderPort: async () => {
          const l = await backend.leader();
          return l ? backend.endpointOf(l.endpointIndex).port : null;
        },
      };
      const since = await appliedIndexOf(view.watchPort);
      rows.push(await runWorkersRow(view, { clients, durationS: a.durationS, warmupS: a.warmupS, drainS: a.drainS, valueBytes: a.valueBytes, runTag: `${tag}.${i}` }, since));
    }
    return { idle, rows };
  } finally {
    for (const h of hosts) h.child.send?.({ type: "stop" });
    await Promise.all(hosts.map((h) => new Promise<void>((r) => (h.child.exitCode !== null ? r() : (h.child.once("exit", () => r()), setTimeout(r, 5000).unref())))));
    for (const h of hosts) if (h.child.exitCode === null && h.child.pid) process.kill(h.child.pid, "SIGKILL");
    await backend.stop();
  }
}

async function main(): Promise<void> {
  const a = parseWorkersArgs(process.argv.slice(2));
  installExitCleanup();
  const tag = Date.now().toString(36);
  const loadStart = loadAverage();
  log(`bench:workers: ${a.quick ? "QUICK smoke run, " : ""}${a.workers} workers × capacity ${a.workerCapacity}, clients ${a.clients.join(",")}, ${a.durationS}s window after ${a.warmupS}s; load average ${loadStart.map((x) => x.toFixed(2)).join(" ")}`);
  const r = await runRaftsched(a, tag);
  const bullmq: BullmqRow[] = [];
  let bullmqError: string | null = null;
  if (a.vsBullmq) {
    const dir = prepareAnchor(log);
    if (typeof dir !== "string") bullmqError = dir.error;
    else {
      for (const clients of a.clients) {
        log(`BullMQ e2e C=${clients} (DURABLE=always, fresh redis)`);
        try {
          const row = runBullmqRow(dir, clients, a.durationS, a.warmupS);
          log(`  bullmq C=${clients}: ${row.submittedPerS} submitted/s, ${row.completedPerS} completed/s`);
          bullmq.push(row);
        } catch (err) {
          bullmqError = String((err as Error).message ?? err).slice(0, 400);
          log(`  bullmq failed: ${bullmqError}`);
          break;
        }
      }
    }
  }
  const loadEnd = loadAverage();
  const date = new Date().toISOString();
  const command = `npm run bench:workers${process.argv.length > 2 ? ` -- ${process.argv.slice(2).join(" ")}` : ""}`;
  const markdown = workersMarkdown({ date, command, args: a, loadStart, loadEnd, idle: r.idle, rows: r.rows, bullmq, bullmqError });
  console.log(`\n${markdown}\n`);
  const outDir = a.outDir ? path.resolve(a.outDir) : path.join(ROOT, "bench-results");
  mkdirSync(outDir, { recursive: true });
  const stamp = date.replace(/[:.]/g, "").replace(/-/g, "");
  const jsonPath = path.join(outDir, `workers-${stamp}.json`);
  const machine = { cpus: os.cpus().length, node: process.version, memGiB: round(os.totalmem() / 2 ** 30, 1) };
  writeFileSync(jsonPath, JSON.stringify({ tool: "raftsched scripts/bench/workers.ts", date, command, args: a, machine, loadAvgStart: loadStart, loadAvgEnd: loadEnd, idle: r.idle, rows: r.rows, bullmq, bullmqError }, null, 2));
  writeFileSync(path.join(outDir, `workers-${stamp}.md`), `${markdown}\n`);
  console.log(`results: ${jsonPath}`);
}

main().catch((err: unknown) => {
  console.error(`bench:workers: ${err instanceof Error ? (err.stack ?? err.message) : String(err)}`);
  process.exitCode = 1;
});
