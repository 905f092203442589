// `npm run build && npx tsx scripts/bench/scale.ts [options]`: how raftsched's cost grows with the size of the
// cluster (3, 5, 7 nodes: raw-Raft throughput, real-workload tasks/s, leader failover) and with the number of
// pending tasks in the table (10k, 100k, 1M: submit latency, RSS and heap per node, snapshot size and time,
// restart time). Issue 14.6. Results: markdown on stdout, JSON + markdown in bench-results/scale-*.
import { mkdirSync, writeFileSync } from "node:fs";
import os from "node:os";
import path from "node:path";
import { fileURLToPath } from "node:url";
import { RaftschedBackend } from "./backend-raftsched.js";
import { installExitCleanup } from "./children.js";
import { loadAverage } from "./proc-stats.js";
import { runClusterScale, type ClusterScaleRow } from "./scale-cluster.js";
import { clusterScaleTable, tableScaleTable } from "./scale-report.js";
import { runTableScale, TABLE_SNAPSHOT_EVERY, type TableScaleRow } from "./scale-table.js";

const ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), "..", "..");
const ET: [number, number] = [150, 300];
const HEARTBEAT_MS = 50;

export const SCALE_USAGE = `usage: npx tsx scripts/bench/scale.ts [options]   (run npm run build first)
  --nodes 3,5,7              cluster sizes (raw throughput, failover, real workload per size)
  --clients 1,64             raw-Raft closed-loop clients per row (also the submit rows of the table sizes)
  --real-clients 64          clients of the real-workload row per size (0: skip)
  --rounds 3                 leader kills per size (0: skip failover)
  --pending 10000,100000,1000000   table sizes (pending tasks seeded from a snapshot)
  --duration 5 --warmup 1    seconds per row
  --value-bytes 64           payload size (the seeded tasks' too)
  --no-cluster / --no-table  skip a part
  --quick                    smoke run: --nodes 3,5 --clients 1,4 --real-clients 4 --rounds 1 --pending 1000,5000 --duration 1 --warmup 0.5
  --out DIR                  where the JSON and markdown go (default bench-results/)`;

interface ScaleArgs {
  nodes: number[];
  clients: number[];
  realClients: number;
  rounds: number;
  pending: number[];
  durationS: number;
  warmupS: number;
  valueBytes: number;
  cluster: boolean;
  table: boolean;
  quick: boolean;
  outDir: string | null;
}

function list(flag: string, v: string | undefined, min: number, max: number): number[] {
  const out = (v ?? "").split(",").map(Number);
  if (out.length === 0 || out.some((n) => !Number.isInteger(n) || n < min || n > max)) throw new Error(`${flag} needs a list of integers ${min}..${max}\n${SCALE_USAGE}`);
  return out;
}

export function parseScaleArgs(argv: readonly string[]): ScaleArgs {
  const quick = argv.includes("--quick");
  const a: ScaleArgs = quick
    ? { nodes: [3, 5], clients: [1, 4], realClients: 4, rounds: 1, pending: [1000, 5000], durationS: 1, warmupS: 0.5, valueBytes: 64, cluster: true, table: true, quick, outDir: null }
    : { nodes: [3, 5, 7], clients: [1, 64], realClients: 64, rounds: 3, pending: [10_000, 100_000, 1_000_000], durationS: 5, warmupS: 1, valueBytes: 64, cluster: true, table: true, quick, outDir: null };
  for (let i = 0; i < argv.length; i++) {
    const k = argv[i]!;
    const v = argv[i + 1];
    const one = (min: number, max: number): number => list(k, v, min, max)[0]!;
    const num = (min: number, max: number): number => {
      const n = Number(v);
      if (v === undefined || !Number.isFinite(n) || n < min || n > max) throw new Error(`${k} needs a number ${min}..${max}\n${SCALE_USAGE}`);
      return n;
    };
    if (k === "--quick") continue;
    if (k === "--no-cluster") {
      a.cluster = false;
      continue;
    }
    if (k === "--no-table") {
      a.table = false;
      continue;
    }
    if (k === "--nodes") a.nodes = list(k, v, 1, 9);
    else if (k === "--clients") a.clients = list(k, v, 1, 1024);
    else if (k === "--real-clients") a.realClients = one(0, 1024);
    else if (k === "--rounds") a.rounds = one(0, 100);
    else if (k === "--pending") a.pending = list(k, v, 0, 10_000_000);
    else if (k === "--duration") a.durationS = num(0.5, 3600);
    else if (k === "--warmup") a.warmupS = num(0, 600);
    else if (k === "--value-bytes") a.valueBytes = one(1, 65536);
    else if (k === "--out" && v) a.outDir = v;
    else throw new Error(`unknown argument ${k}\n${SCALE_USAGE}`);
    i++;
  }
  return a;
}

async function main(): Promise<void> {
  const args = parseScaleArgs(process.argv.slice(2));
  installExitCleanup();
  const live = new Set<RaftschedBackend>();
  const stop = async (b: RaftschedBackend): Promise<void> => {
    live.delete(b);
    await b.stop();
  };
  const loadStart = loadAverage();
  const runTag = Date.now().toString(36);
  const log = (s: string): void => void process.stderr.write(`${s}\n`);
  log(`scale: nodes ${args.nodes.join(",")}, pending ${args.pending.join(",")}; load average ${loadStart.map((x) => x.toFixed(2)).join(" ")}`);
  const clusterRows: ClusterScaleRow[] = [];
  const tableRows: TableScaleRow[] = [];
  try {
    if (args.cluster) {
      for (const n of args.nodes) {
        log(`cluster of ${n}`);
        const start = async (o: { nodes: number; runTasks: boolean }): Promise<RaftschedBackend> => {
          const b = new RaftschedBackend({ electionTimeoutMs: ET, heartbeatMs: HEARTBEAT_MS, ...o });
          live.add(b);
          await b.start();
          await b.waitHealthy(60_000);
          return b;
        };
        clusterRows.push(await runClusterScale(n, { ...args, realClients: args.realClients }, runTag, start, stop));
      }
    }
    if (args.table) {
      for (const pending of args.pending) {
        log(`table of ${pending} pending tasks`);
        const make = (seed: NonNullable<ConstructorParameters<typeof RaftschedBackend>[0]["seed"]>): RaftschedBackend => {
          const b = new RaftschedBackend({ electionTimeoutMs: ET, heartbeatMs: HEARTBEAT_MS, logLevel: "info", clusterFields: { snapshotEveryEntries: TABLE_SNAPSHOT_EVERY }, seed });
          live.add(b);
          return b;
        };
        tableRows.push(await runTableScale(pending, args, runTag, make, stop));
      }
    }
  } finally {
    for (const b of [...live]) await stop(b).catch(() => {});
  }
  const loadEnd = loadAverage();
  const date = new Date().toISOString();
  const command = `npx tsx scripts/bench/scale.ts${process.argv.length > 2 ? ` ${process.argv.slice(2).join(" ")}` : ""}`;
  const sections = [
    `## raftsched scale benchmark, ${date}`,
    "",
    `Command: \`${command}\`. Load average at start ${loadStart.map((x) => x.toFixed(2)).join(" ")}, at end ${loadEnd.map((x) => x.toFixed(2)).join(" ")} (${os.cpus().length} CPUs). ` +
      `Heartbeat ${HEARTBEAT_MS} ms, election timeout ${ET.join("–")} ms, ${args.valueBytes}-byte payloads, ${args.durationS} s per row after ${args.warmupS} s warmup.`,
  ];
  if (clusterRows.length) sections.push("", "### Cluster size", "", clusterScaleTable(clusterRows));
  if (tableRows.length) sections.push("", `### Table size (3 nodes, capacity 0, pending tasks seeded by snapshot restore; snapshotEveryEntries ${TABLE_SNAPSHOT_EVERY})`, "", tableScaleTable(tableRows));
  const markdown = sections.join("\n");
  console.log(`\n${markdown}\n`);
  const outDir = args.outDir ? path.resolve(args.outDir) : path.join(ROOT, "bench-results");
  mkdirSync(outDir, { recursive: true });
  const stamp = date.replace(/[:.]/g, "").replace(/-/g, "");
  const jsonPath = path.join(outDir, `scale-${stamp}.json`);
  writeFileSync(jsonPath, JSON.stringify({ tool: "raftsched scripts/bench/scale.ts", date, command, args, loadAvgStart: loadStart, loadAvgEnd: loadEnd, cluster: clusterRows, table: tableRows }, null, 2));
  writeFileSync(path.join(outDir, `scale-${stamp}.md`), `${markdown}\n`);
  console.log(`results: ${jsonPath}`);
}

if (process.argv[1] && path.resolve(process.argv[1]) === fileURLToPath(import.meta.url)) {
  main().catch((err: unknown) => {
    console.error(`scale: ${err instanceof Error ? (err.stack ?? err.message) : String(err)}`);
    process.exitCode = 1;
  });
}
