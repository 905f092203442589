// `npm run build && npx tsx scripts/bench/per-task-counts.ts [--tasks 300]`: what one task of the real workload
// costs each member, counted: a fresh 3-node cluster (default capacity), one client submitting a task ({ sleepMs: 0 })
// and waiting for its completion (?wait=terminal), N times in a row; every member's /metrics counters and CPU time
// before and after, printed per task (frames, entries, fsyncs, requests, placement rounds, CPU ms). Counts, not
// timings: the figures to compare before and after a change to the task path (README "Performance").
import { RaftschedBackend } from "./backend-raftsched.js";
import { installExitCleanup } from "./children.js";
import { parseMetrics } from "./real-breakdown.js";
import { cpuSeconds, loadAverage } from "./proc-stats.js";
import { sleep } from "./stats.js";
import { readFileSync, readdirSync } from "node:fs";

/** [user, system] CPU seconds of a process (/proc/<pid>/stat fields 14 and 15, at 100 ticks a second). */
function userSys(pid: number): [number, number] {
  const rest = readFileSync(`/proc/${pid}/stat`, "utf8").split(") ")[1]!.split(" ");
  return [Number(rest[11]) / 100, Number(rest[12]) / 100];
}

const TOKEN_HEADER = { Authorization: "Bearer bench-token-0123456789abcdef" };

/** CPU seconds by thread name (main thread "node", libuv's pool, V8's helpers, LevelDB's compaction) of a process. */
function threadCpu(pid: number): Map<string, number> {
  const out = new Map<string, number>();
  for (const tid of readdirSync(`/proc/${pid}/task`)) {
    try {
      const text = readFileSync(`/proc/${pid}/task/${tid}/stat`, "utf8");
      const name = tid === String(pid) ? "main" : text.slice(text.indexOf("(") + 1, text.lastIndexOf(")")).replace(/\d+$/, "");
      const rest = text.slice(text.lastIndexOf(")") + 2).split(" ");
      out.set(name, (out.get(name) ?? 0) + (Number(rest[11]) + Number(rest[12])) / 100);
    } catch {
      // the thread ended between the listing and the read
    }
  }
  return out;
}

async function scrape(port: number): Promise<Map<string, number>> {
  const r = await fetch(`http://127.0.0.1:${port}/metrics`, { headers: TOKEN_HEADER, signal: AbortSignal.timeout(5000) });
  return parseMetrics(await r.text());
}

/** Counters worth a per-task figure: totals, histogram counts (events) and sums. */
function interesting(name: string): boolean {
  return !name.includes("_bucket") && (name.includes("_total") || name.endsWith("_count") || name.includes("_count{"));
}

async function main(): Promise<void> {
  const i = process.argv.indexOf("--tasks");
  const tasks = i >= 0 ? Number(process.argv[i + 1]) : 300;
  installExitCleanup();
  const backend = new RaftschedBackend({ electionTimeoutMs: [150, 300], heartbeatMs: 50, runTasks: true });
  try {
    await backend.start();
    await backend.waitHealthy(30_000);
    await sleep(1000);
    const leader = (await backend.leader())!;
    const order = [leader.endpointIndex, (leader.endpointIndex + 1) % 3, (leader.endpointIndex + 2) % 3];
    const ports = order.map((k) => backend.endpointOf(k).port);
    const pids = order.map((k) => backend.pids()[k]!);
    const client = backend.createTaskClient(leader.endpointIndex, 10_000);
    const before = await Promise.all(ports.map(scrape));
    const cpu0 = pids.map(cpuSeconds);
    const us0 = pids.map(userSys);
    const th0 = pids.map(threadCpu);
    const t0 = performance.now();
    for (let k = 0; k < tasks; k++) {
      const id = `count-${k}`;
      await client.submit(id, { sleepMs: 0 });
      if ((await client.state(id, 5000)) !== "completed") throw new Error(`task ${id} did not complete`);
    }
    const wallS = (performance.now() - t0) / 1000;
    const cpu1 = pids.map(cpuSeconds);
    const us1 = pids.map(userSys);
    const th1 = pids.map(threadCpu);
    const after = await Promise.all(ports.map(scrape));
    client.close();
    const roles = ["leader", "follower", "follower"];
    process.stdout.write(`${tasks} tasks one after another in ${wallS.toFixed(1)} s (${(tasks / wallS).toFixed(0)}/s); load ${loadAverage().map((x) => x.toFixed(2)).join(" ")}\n`);
    const cpuMs = pids.map((_, k) => (((cpu1[k] ?? 0) - (cpu0[k] ?? 0)) * 1000) / tasks);
    process.stdout.write(`CPU ms per task: ${cpuMs.map((x, k) => `${roles[k]} ${x.toFixed(2)}`).join(", ")}; cluster ${cpuMs.reduce((a, b) => a + b, 0).toFixed(2)}\n`);
    const split = pids.map((_, k) => `${(((us1[k]![0] - us0[k]![0]) * 1000) / tasks).toFixed(2)} user + ${(((us1[k]![1] - us0[k]![1]) * 1000) / tasks).toFixed(2)} sys`);
    process.stdout.write(`  of which: ${split.map((x, k) => `${roles[k]} ${x}`).join(", ")}\n`);
    pids.forEach((_, k) => {
      const parts = [...th1[k]!.entries()].map(([name, s1]) => [name, ((s1 - (th0[k]!.get(name) ?? 0)) * 1000) / tasks] as const).filter(([, ms]) => ms >= 0.05);
      process.stdout.write(`  ${roles[k]} by thread: ${parts.map(([name, ms]) => `${name} ${ms.toFixed(2)}`).join(", ")}\n`);
    });
    const names = new Set<string>();
    for (const m of after) for (const n of m.keys()) if (interesting(n)) names.add(n);
    for (const n of [...names].sort()) {
      const per = after.map((m, k) => ((m.get(n) ?? 0) - (before[k]!.get(n) ?? 0)) / tasks);
      if (per.every((x) => Math.abs(x) < 0.005)) continue;
      process.stdout.write(`${per.map((x) => x.toFixed(2).padStart(8)).join(" ")}  ${n}\n`);
    }
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
