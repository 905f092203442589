// BullMQ beside raftsched in `npm run bench:workers -- --vs bullmq`: the project's anchor driver
// (../shared/anchors/bullmq, README there) copied to a writable dir outside the repo, its dependencies installed
// there with `npm ci` (once), and its e2e run on a private redis-server with DURABLE=always (appendfsync always:
// durable on one disk before the ack) — a fresh, empty Redis per row, stopped after, as its run-all.sh does.
// Everything it starts it stops through its own redis.sh (by the recorded pid).
import { execFileSync, spawnSync } from "node:child_process";
import { cpSync, existsSync } from "node:fs";
import os from "node:os";
import path from "node:path";

export const ANCHOR_SOURCE = process.env.BULLMQ_ANCHOR_DIR ?? "/work/shared/anchors/bullmq";
const WORK_DIR = path.join(os.tmpdir(), "raftsched-bullmq-anchor");

export interface BullmqRow {
  readonly system: "bullmq";
  readonly clients: number;
  readonly submittedPerS: number;
  readonly completedPerS: number;
  readonly endToEndP50Ms: number | null;
  readonly endToEndP99Ms: number | null;
  readonly addP50Ms: number | null;
  readonly backlogAtWindowEnd: number | null;
  readonly drainCompletedPerS: number | null;
  readonly redisCpuPct: number | null;
  readonly raw: Record<string, unknown>;
}

/** The anchor in WORK_DIR with its node_modules, or an error text. */
export function prepareAnchor(log: (s: string) => void): string | { error: string } {
  if (!existsSync(ANCHOR_SOURCE)) return { error: `no BullMQ anchor at ${ANCHOR_SOURCE}` };
  if (!existsSync(path.join(WORK_DIR, "node_modules", "bullmq"))) {
    log(`copying the BullMQ anchor to ${WORK_DIR} and running npm ci there`);
    cpSync(ANCHOR_SOURCE, WORK_DIR, { recursive: true, filter: (src) => !src.includes(`${path.sep}node_modules`) && !src.includes(`${path.sep}results`) });
    const r = spawnSync("npm", ["ci", "--no-audit", "--no-fund"], { cwd: WORK_DIR, stdio: ["ignore", "pipe", "pipe"], encoding: "utf8", timeout: 300_000 });
    if (r.status !== 0) return { error: `npm ci in ${WORK_DIR} failed: ${(r.stderr || r.stdout || "").slice(-400)}` };
  }
  return WORK_DIR;
}

function redis(dir: string, cmd: "up" | "down"): void {
  // TTL: the anchor's own watchdog stops this redis even if this driver dies.
  execFileSync("./redis.sh", [cmd], { cwd: dir, env: { ...process.env, DURABLE: "always", TTL: "600" }, stdio: ["ignore", "pipe", "pipe"], timeout: 120_000 });
}

/** One e2e row of the anchor (3 worker processes × concurrency 8, C producers, closed loop) on a fresh Redis. */
export function runBullmqRow(dir: string, clients: number, durationS: number, warmupS: number): BullmqRow {
  redis(dir, "up");
  try {
    const out = execFileSync(process.execPath, ["bench.js", "e2e", "--clients", String(clients), "--duration", String(durationS), "--warmup", String(warmupS)], {
      cwd: dir,
      encoding: "utf8",
      timeout: (durationS + warmupS + 120) * 1000,
      maxBuffer: 16 * 1024 * 1024,
    });
    const line = out.trim().split("\n").filter((l) => l.startsWith("{")).pop();
    if (!line) throw new Error(`bench.js e2e printed no result: ${out.slice(-300)}`);
    const r = JSON.parse(line) as Record<string, any>;
    const backlog = r.backlogAtWindowEnd ? Number(r.backlogAtWindowEnd.waiting ?? 0) + Number(r.backlogAtWindowEnd.active ?? 0) : null;
    return {
      system: "bullmq",
      clients,
      submittedPerS: Number(r.submittedPerSec),
      completedPerS: Number(r.completedPerSec),
      endToEndP50Ms: r.submitToCompletedMs?.p50 ?? null,
      endToEndP99Ms: r.submitToCompletedMs?.p99 ?? null,
      addP50Ms: r.addLatencyMs?.p50 ?? null,
      backlogAtWindowEnd: backlog,
      drainCompletedPerS: r.drainCompletedPerSec ?? null,
      redisCpuPct: r.cpu?.redisPctOfCore ?? null,
      raw: r,
    };
  } finally {
    redis(dir, "down");
  }
}
