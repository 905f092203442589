// `npm run build && npx tsx scripts/bench/idle-cpu.ts [--seconds 10]`: what an idle 3-node cluster (default
// capacity, no tasks, no clients) costs in CPU, per member, over a window after it is healthy. The floor under
// every per-task CPU figure (ticks every 10 ms, heartbeats every heartbeatMs). BENCH_CPU_PROF=DIR profiles the
// members as the main benchmark does.
import { mkdirSync } from "node:fs";
import path from "node:path";
import { RaftschedBackend } from "./backend-raftsched.js";
import { installExitCleanup } from "./children.js";
import { LoadSampler, cpuSeconds, loadAverage } from "./proc-stats.js";
import { sleep } from "./stats.js";

async function main(): Promise<void> {
  const i = process.argv.indexOf("--seconds");
  const seconds = i >= 0 ? Number(process.argv[i + 1]) : 10;
  installExitCleanup();
  const cpuProfDir = process.env.BENCH_CPU_PROF ? path.resolve(process.env.BENCH_CPU_PROF) : undefined;
  if (cpuProfDir) mkdirSync(cpuProfDir, { recursive: true });
  const backend = new RaftschedBackend({ electionTimeoutMs: [150, 300], heartbeatMs: 50, runTasks: true, ...(cpuProfDir ? { cpuProfDir } : {}) });
  try {
    await backend.start();
    await backend.waitHealthy(30_000);
    await sleep(2000);
    const pids = backend.pids().filter((p): p is number => p !== null);
    const before = pids.map(cpuSeconds);
    const s = new LoadSampler(pids, 500);
    s.start();
    await sleep(seconds * 1000);
    const r = s.stop();
    const per = pids.map((p, k) => (((cpuSeconds(p) ?? 0) - (before[k] ?? 0)) / seconds) * 100);
    const leader = await backend.leader();
    process.stdout.write(
      `idle ${seconds}s: cluster CPU ${r.clusterCpuPct}% of a core; per member ${per.map((x) => x.toFixed(1)).join(" / ")}% ` +
        `(leader ${leader ? `n${leader.endpointIndex + 1}` : "?"}); RSS ${r.peakRssMiB.join(" / ")} MiB; load ${loadAverage().map((x) => x.toFixed(2)).join(" ")}\n`,
    );
  } finally {
    await backend.stop();
  }
}

main().then(
  () => process.exit(0),
  (err) => {
    process.stderr.write(`${(err as Error).stack ?? err}\n`);
    process.exit(1);
  },
);
