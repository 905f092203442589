// Scale figures for the README: a task table of 1,000,000 tasks (README, "A million tasks").
//
//   npx tsx scripts/scale-1m.ts [--tasks 1000000] [--dir <parent dir for the temp LevelDB store>]
//
// Builds the table through apply() (submit, assign, complete, fail, cancel: mixed states), then measures what a
// node does with it: take a snapshot (blocking snapshot() and sliced snapshotAsync(), with the longest event-loop
// stall during the latter), install it on a fresh node (persist the received snapshot in LevelDB, decode, restore
// the table), and restart from it (a fresh process opens the LevelStore, loads it, restores the table: its time
// and RSS are the restarted node's). Prints a markdown table with the date and the command.
import { spawn } from "node:child_process";
import { mkdtempSync, rmSync } from "node:fs";
import { loadavg, tmpdir } from "node:os";
import path from "node:path";
import { monitorEventLoopDelay } from "node:perf_hooks";
import { fileURLToPath } from "node:url";
import { parseArgs } from "node:util";
import { decodeSnapshotData, encodeSnapshotData } from "../src/node/snapshot-data.js";
import type { ConfState, Snapshot } from "../src/raft/types.js";
import type { Command } from "../src/scheduler/commands.js";
import { TaskTable } from "../src/scheduler/table.js";
import { LevelStore } from "../src/storage/level.js";

const { values } = parseArgs({
  options: {
    tasks: { type: "string", default: "1000000" },
    dir: { type: "string", default: tmpdir() },
    // Internal: the child process that measures a restart.
    "restart-from": { type: "string" },
  },
});

const WORKERS = ["n1", "n2", "n3", "n4", "n5"];
const CONF: ConfState = { voters: ["n1", "n2", "n3"], learners: ["n4", "n5"] };
const MEMBER_URLS = new Map(WORKERS.map((id, i) => [id, `http://127.0.0.1:${7001 + i}`]));
const ASSIGN_BATCH = 1024; // MAX_ASSIGNMENTS_PER_COMMAND

const mib = (bytes: number): string => `${(bytes / 2 ** 20).toFixed(1)} MiB`;
const ms = (x: number): string => (x >= 10_000 ? `${(x / 1000).toFixed(1)} s` : `${Math.round(x)} ms`);
/** Wall time and this process's CPU time (user + system): on a shared machine the wall time includes waiting. */
function timed<T>(f: () => T): { value: T; text: string } {
  const cpu0 = process.cpuUsage();
  const t0 = performance.now();
  const value = f();
  const wall = performance.now() - t0;
  const cpu = process.cpuUsage(cpu0);
  return { value, text: `${ms(wall)} (CPU ${ms((cpu.user + cpu.system) / 1000)})` };
}

if (values["restart-from"] !== undefined) {
  await restartChild(values["restart-from"]);
} else {
  await main(Number(values.tasks));
}

async function main(taskCount: number): Promise<void> {
  const rows: [string, string][] = [];
  const log = (what: string, value: string): void => {
    rows.push([what, value]);
    console.error(`${what}: ${value}`);
  };

  // ---- build ----
  let t0 = performance.now();
  const { table, commands } = buildTable(taskCount);
  const c = table.counts();
  log("tasks (pending / assigned / completed / dead / cancelled)", `${c.total.toLocaleString("en")} (${c.pending} / ${c.assigned} / ${c.completed} / ${c.dead} / ${c.cancelled})`);
  log("build: commands applied", `${commands.toLocaleString("en")} in ${ms(performance.now() - t0)}`);
  log("RSS with the table (builder process)", mib(process.memoryUsage().rss));

  // ---- take a snapshot ----
  let captureMs = 0;
  for (let i = 0; i < 5; i++) {
    t0 = performance.now();
    table.beginSnapshot();
    captureMs = Math.max(captureMs, performance.now() - t0);
  }
  log("capture a consistent view: beginSnapshot() (max of 5)", `${captureMs.toFixed(2)} ms`);

  const sync = timed(() => table.snapshot());
  const syncBytes = sync.value;
  log("snapshot size (table)", mib(syncBytes.byteLength));
  log("snapshot() blocking: time = event-loop stall", sync.text);

  // Sliced: measure the longest event-loop stall with a 1 ms-resolution delay histogram, while a 1 ms interval
  // stands in for heartbeats and requests.
  const delay = monitorEventLoopDelay({ resolution: 1 });
  let ticks = 0;
  const heartbeat = setInterval(() => ticks++, 1);
  delay.enable();
  t0 = performance.now();
  const asyncBytes = await table.snapshotAsync();
  const asyncMs = performance.now() - t0;
  delay.disable();
  clearInterval(heartbeat);
  if (!Buffer.from(asyncBytes).equals(syncBytes)) throw new Error("snapshotAsync() bytes differ from snapshot()");
  log("snapshotAsync() sliced (8 ms slices): total time", ms(asyncMs));
  log("snapshotAsync(): longest event-loop stall", `${(delay.max / 1e6).toFixed(1)} ms (p99 ${(delay.percentile(99) / 1e6).toFixed(1)} ms, ${ticks} timer runs meanwhile)`);

  t0 = performance.now();
  const nodeData = encodeSnapshotData({ memberUrls: MEMBER_URLS, table: asyncBytes });
  log("wrap as node snapshot data (encodeSnapshotData)", `${ms(performance.now() - t0)}, ${mib(nodeData.byteLength)}`);

  // ---- install on a fresh node: persist what the leader sent, then decode and restore ----
  const index = table.lastAppliedIndex;
  const snapshot: Snapshot = { meta: { index, term: 3, conf: CONF }, data: nodeData };
  const installDir = mkdtempSync(path.join(values.dir, "raftsched-scale-install-"));
  const restartDir = mkdtempSync(path.join(values.dir, "raftsched-scale-restart-"));
  try {
    const fresh = await LevelStore.open(installDir);
    t0 = performance.now();
    await fresh.persist({ entries: [], snapshot, hardState: { term: 3, vote: null, commit: index } });
    const persistMs = performance.now() - t0;
    await fresh.close();
    const restore = timed(() => TaskTable.restore(decodeSnapshotData(nodeData).table));
    if (restore.value.counts().total !== c.total) throw new Error("restore lost tasks");
    log("install on a fresh node: persist the snapshot (LevelDB, synced)", ms(persistMs));
    log("install on a fresh node: decode + TaskTable.restore()", restore.text);

    // ---- restart: a store holding the snapshot (saved by the node itself) and a short log tail ----
    const store = await LevelStore.open(restartDir);
    await store.persist({ entries: [], snapshot: { meta: { index: index - 1, term: 3, conf: CONF }, data: new Uint8Array(0) } });
    await store.persist({
      entries: [{ index, term: 3, kind: "normal", data: new Uint8Array(0) }],
      hardState: { term: 3, vote: "n1", commit: index },
    });
    t0 = performance.now();
    await store.saveSnapshot(snapshot, index);
    log("LevelStore.saveSnapshot (synced, compacting the log)", ms(performance.now() - t0));
    await store.close();
  } finally {
    rmSync(installDir, { recursive: true, force: true });
  }
  try {
    const child = await runRestartChild(restartDir);
    if (child.tasks !== c.total) throw new Error(`restarted node holds ${child.tasks} tasks, expected ${c.total}`);
    log("restart (fresh process): LevelStore.open + load()", ms(child.openLoadMs));
    log("restart (fresh process): decode + TaskTable.restore()", ms(child.restoreMs));
    log("restart (fresh process): total, open to table ready", ms(child.totalMs));
    log("RSS of the restarted process holding the table", mib(child.rss));
    log("heap used by the restarted process", mib(child.heapUsed));
  } finally {
    rmSync(restartDir, { recursive: true, force: true });
  }

  const date = new Date().toISOString().slice(0, 10);
  const out = [
    `Measured ${date} with \`npx tsx scripts/scale-1m.ts${taskCount === 1_000_000 ? "" : ` --tasks ${taskCount}`}\` ` +
      `(Node ${process.version}, ${process.platform}/${process.arch}, load average ${loadavg().map((l) => l.toFixed(1)).join(" / ")} at the end):`,
    "",
    "| measure | value |",
    "| --- | --- |",
    ...rows.map(([k, v]) => `| ${k} | ${v} |`),
  ];
  console.log(out.join("\n"));
}

/** The child: what a restarted node does before it can serve, timed, then its memory. */
async function restartChild(dir: string): Promise<void> {
  const t0 = performance.now();
  const store = await LevelStore.open(dir);
  const storage = await store.load();
  const t1 = performance.now();
  const decoded = decodeSnapshotData(storage.snapshot().data);
  const table = TaskTable.restore(decoded.table);
  const t2 = performance.now();
  await store.close();
  // Drop what a node would not keep: the snapshot bytes stay in MemoryStorage in a real node, so keep them too.
  const memory = process.memoryUsage();
  process.stdout.write(
    JSON.stringify({
      openLoadMs: t1 - t0,
      restoreMs: t2 - t1,
      totalMs: t2 - t0,
      tasks: table.counts().total,
      rss: memory.rss,
      heapUsed: memory.heapUsed,
      keep: storage.snapshot().meta.index,
    }) + "\n",
  );
}

interface ChildResult {
  readonly openLoadMs: number;
  readonly restoreMs: number;
  readonly totalMs: number;
  readonly tasks: number;
  readonly rss: number;
  readonly heapUsed: number;
}

function runRestartChild(dir: string): Promise<ChildResult> {
  const script = fileURLToPath(import.meta.url);
  return new Promise((resolve, reject) => {
    // Same loader flags as this process (tsx), so the child runs the TypeScript sources too.
    const child = spawn(process.execPath, [...process.execArgv, script, "--restart-from", dir], { stdio: ["ignore", "pipe", "inherit"] });
    let out = "";
    child.stdout.on("data", (d: Buffer) => (out += d.toString()));
    child.on("error", reject);
    child.on("exit", (code) => {
      if (code !== 0) return reject(new Error(`restart child exited with ${code}`));
      try {
        resolve(JSON.parse(out.trim().split("\n").pop()!) as ChildResult);
      } catch (err) {
        reject(err);
      }
    });
  });
}

/** 1M tasks through apply(), as a leader would have proposed them: every task submitted; 60% assigned in
 *  batches; of those, half completed, a twentieth failed (half of them back to pending, half retried until
 *  dead), a twentieth cancelled; the rest stay assigned. */
function buildTable(n: number): { table: TaskTable; commands: number } {
  const table = new TaskTable();
  let index = 0;
  const apply = (cmd: Command): void => {
    const r = table.apply(++index, cmd);
    if (!r.ok) throw new Error(`${cmd.type}: ${r.code} ${r.message}`);
  };
  for (const w of WORKERS) apply({ type: "workerUp", worker: w, capacity: 100_000, nowMs: 1_700_000_000_000 });
  const ids: string[] = new Array(n);
  let x = 0x9e3779b9;
  for (let i = 0; i < n; i++) {
    x = (Math.imul(x ^ (x >>> 15), 0x2c1b3c6d) + i) >>> 0; // scrambled ids, so inserts land all over the index
    ids[i] = `task-${x.toString(36)}-${i.toString(36)}`;
    apply({
      type: "submit",
      id: ids[i]!,
      payload: { sleepMs: i % 100, job: "resize", image: `img/${i}.png` },
      priority: i % 10,
      maxAttempts: 2,
      nowMs: 1_700_000_000_000 + i,
    });
  }
  // Assign in batches and settle each batch before the next, so no worker exceeds its capacity (100,000).
  const assignedCount = Math.floor(n * 0.6);
  for (let start = 0; start < assignedCount; start += ASSIGN_BATCH) {
    const end = Math.min(assignedCount, start + ASSIGN_BATCH);
    const assignments = [];
    for (let i = start; i < end; i++) assignments.push({ taskId: ids[i]!, worker: WORKERS[i % WORKERS.length]!, attempt: 1 });
    apply({ type: "assign", assignments, rrCursor: assignments[assignments.length - 1]!.worker });
    const again = [];
    for (let i = start; i < end; i++) {
      const k = i % 20;
      if (k < 10) apply({ type: "complete", id: ids[i]!, attempt: 1, result: { ok: true, bytes: i } });
      else if (k === 10) {
        apply({ type: "fail", id: ids[i]!, attempt: 1, error: "timeout", retryAtMs: 1_700_000_100_000 });
        if (i % 40 === 10) again.push(i); // half of the failed ones are retried and fail for good (dead)
      } else if (k === 11) apply({ type: "cancel", id: ids[i]! });
    }
    if (again.length > 0) {
      apply({ type: "assign", assignments: again.map((i) => ({ taskId: ids[i]!, worker: WORKERS[(i + 1) % WORKERS.length]!, attempt: 2 })) });
      for (const i of again) apply({ type: "fail", id: ids[i]!, attempt: 2, error: "timeout", retryAtMs: 0 });
    }
  }
  return { table, commands: index };
}
