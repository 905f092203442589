// Cost with the size of the table (issue 14.6): a 3-node cluster (capacity 0) whose data dirs are seeded with N
// pending tasks (scale-seed.ts, through `snapshot restore`), then at that size: the time from spawning the members
// to a healthy cluster (every member restores the table from its snapshot), submit latency at each client count,
// each member's RSS and V8 heap (its /metrics), the members' own snapshot of the table (size and capture-to-saved
// time, from their log line), and a follower's restart (SIGKILL, respawn, until it has applied what the leader had
// committed at the kill).
import { execFile } from "node:child_process";
import { readFileSync } from "node:fs";
import path from "node:path";
import { fileURLToPath } from "node:url";
import { promisify } from "node:util";
import type { RaftschedBackend } from "./backend-raftsched.js";
import { rssMiB } from "./proc-stats.js";
import { progress, progressDone } from "./progress.js";
import { now, round, sleep } from "./stats.js";
import { runThroughput, type ThroughputRow } from "./throughput.js";

const HERE = path.dirname(fileURLToPath(import.meta.url));
const execFileP = promisify(execFile);
/** Entries between a member's snapshots: small, so that each member takes one during or right after the rows. */
export const TABLE_SNAPSHOT_EVERY = 1000;
const SNAPSHOT_WAIT_MS = 300_000;
const RESTART_WAIT_MS = 300_000;

export interface TableScaleOptions {
  readonly clients: readonly number[];
  readonly durationS: number;
  readonly warmupS: number;
  readonly valueBytes: number;
}

export interface MemberMemory {
  readonly rssMiB: number | null;
  readonly heapUsedMiB: number | null;
  readonly externalMiB: number | null;
}

export interface MemberSnapshot {
  readonly bytes: number;
  readonly durationMs: number;
  readonly maxEventLoopBlockMs: number | null;
}

export interface TableScaleRow {
  readonly pending: number;
  readonly seed: { snapshotBytes: number; buildMs: number; seedMs: number } | null;
  /** Spawn of the members → every member answers and a write through each succeeds. */
  readonly startToHealthyMs: number;
  readonly submits: ThroughputRow[];
  readonly memory: MemberMemory[];
  readonly snapshots: Array<MemberSnapshot | null>;
  readonly restartMs: number | null;
}

/** Runs the seeding child; its last stdout line is its JSON summary. */
export async function seedDataDirs(pending: number, valueBytes: number, clusterFile: string, dirs: ReadonlyArray<{ name: string; dir: string }>): Promise<TableScaleRow["seed"]> {
  const args = ["--import", "tsx", path.join(HERE, "scale-seed.ts"), "--tasks", String(pending), "--config", clusterFile, "--payload-bytes", String(valueBytes)];
  for (const d of dirs) args.push("--member", `${d.name}=${d.dir}`);
  const { stdout } = await execFileP(process.execPath, args, { maxBuffer: 1024 * 1024, timeout: 30 * 60_000 });
  return JSON.parse(stdout.trim().split("\n").pop()!) as TableScaleRow["seed"];
}

async function memoryOf(b: RaftschedBackend, i: number): Promise<MemberMemory> {
  const pid = b.pids()[i] ?? null;
  const metric = (text: string, name: string): number | null => {
    const m = new RegExp(`^${name}(?:\\{[^}]*\\})? ([0-9.e+]+)$`, "m").exec(text);
    return m ? round(Number(m[1]) / 2 ** 20, 1) : null;
  };
  let text = "";
  try {
    const res = await fetch(`http://127.0.0.1:${b.memberPort(i)}/metrics`, { signal: AbortSignal.timeout(10_000) });
    text = await res.text();
  } catch {
    /* no figure */
  }
  const rss = pid === null ? null : rssMiB(pid);
  return { rssMiB: rss === null ? null : round(rss, 1), heapUsedMiB: metric(text, "nodejs_heap_size_used_bytes"), externalMiB: metric(text, "nodejs_external_memory_bytes") };
}

/** The member's first "snapshot taken" log line above `index` (the seeded snapshot's), or null. */
function snapshotLine(logFile: string, index: number): MemberSnapshot | null {
  let text = "";
  try {
    text = readFileSync(logFile, "utf8");
  } catch {
    return null;
  }
  for (const line of text.split("\n")) {
    if (!line.includes("snapshot taken")) continue;
    try {
      const j = JSON.parse(line) as { index?: number; bytes?: number; durationMs?: number; maxEventLoopBlockMs?: number };
      if ((j.index ?? 0) > index && j.bytes !== undefined && j.durationMs !== undefined) {
        return { bytes: j.bytes, durationMs: j.durationMs, maxEventLoopBlockMs: j.maxEventLoopBlockMs ?? null };
      }
    } catch {
      /* not a JSON line */
    }
  }
  return null;
}

/** Waits for every member's first snapshot after the seeded one, writing meanwhile (a few closed-loop clients) so
 *  that the log reaches the next snapshot point even after short rows. */
async function waitSnapshots(b: RaftschedBackend, seededIndex: number, valueBytes: number): Promise<Array<MemberSnapshot | null>> {
  const deadline = now() + SNAPSHOT_WAIT_MS;
  const leader = await b.leader();
  const writers = Array.from({ length: 4 }, () => b.createClient(leader?.endpointIndex ?? 0, 5000));
  let done = false;
  const value = "x".repeat(valueBytes);
  const write = async (w: number): Promise<void> => {
    for (let seq = 0; !done; seq++) await writers[w]!.put(`snapfill.${seededIndex}.${w}.${seq}`, value).catch(() => sleep(50));
  };
  const writing = writers.map((_, w) => write(w));
  try {
    for (;;) {
      const found = Array.from({ length: b.endpointCount }, (_, i) => snapshotLine(b.memberLog(i), seededIndex));
      if (found.every((x) => x !== null) || now() > deadline) return found;
      progress(`  table: waiting for every member's snapshot (${found.filter((x) => x !== null).length}/${found.length})`);
      await sleep(500);
    }
  } finally {
    done = true;
    await Promise.all(writing);
    writers.forEach((c) => void c.close());
  }
}

/** SIGKILL a follower, respawn it, and time until it has applied what the leader had committed at the kill. */
async function restartFollower(b: RaftschedBackend): Promise<number | null> {
  const leader = await b.leader();
  if (!leader) return null;
  const i = (leader.endpointIndex + 1) % b.endpointCount;
  const target = (await b.statusOf(leader.endpointIndex))?.commitIndex ?? 0;
  const t0 = now();
  await b.restartMember(`n${i + 1}`);
  while (now() - t0 < RESTART_WAIT_MS) {
    const s = await b.statusOf(i);
    if (s && (s.appliedIndex ?? 0) >= target) return round(now() - t0, 0);
    await sleep(20);
  }
  return null;
}

export async function runTableScale(
  pending: number,
  o: TableScaleOptions,
  runTag: string,
  make: (seed: (cfg: string, dirs: ReadonlyArray<{ name: string; dir: string }>) => Promise<void>) => RaftschedBackend,
  stop: (b: RaftschedBackend) => Promise<void>,
): Promise<TableScaleRow> {
  let seed: TableScaleRow["seed"] = null;
  const b = make(async (cfg, dirs) => {
    progress(`  table: seeding ${pending.toLocaleString("en")} pending tasks into ${dirs.length} data dirs`);
    seed = await seedDataDirs(pending, o.valueBytes, cfg, dirs);
  });
  await b.start();
  try {
    const t0 = now();
    await b.waitHealthy(RESTART_WAIT_MS);
    const startToHealthyMs = round(now() - t0, 0);
    progressDone(`  table ${pending}: healthy ${startToHealthyMs} ms after the members were spawned`);
    const submits: ThroughputRow[] = [];
    for (const c of o.clients) {
      const t = { clients: c, durationS: o.durationS, warmupS: o.warmupS, valueBytes: o.valueBytes, reqTimeoutMs: 5000 };
      submits.push(await runThroughput(b, t, `${runTag}.t${pending}.c${c}`));
    }
    const snapshots = await waitSnapshots(b, pending, o.valueBytes);
    const memory = await Promise.all(Array.from({ length: b.endpointCount }, (_, i) => memoryOf(b, i)));
    const restartMs = await restartFollower(b);
    progressDone(`  table ${pending}: RSS ${memory.map((m) => m.rssMiB).join("/")} MiB, heap ${memory.map((m) => m.heapUsedMiB).join("/")} MiB, restart ${restartMs} ms`);
    return { pending, seed, startToHealthyMs, submits, memory, snapshots, restartMs };
  } finally {
    await stop(b);
  }
}
