// Memory of the task table (issue 14.4): RSS and V8 heap of a process holding a table of N tasks, half of them
// terminal (completed, with a result), measured after full GCs. Each size runs in a fresh child process, beside a
// child holding an empty table (the baseline: Node, the modules), so the figures are the table's own. Every command
// goes through the log's wire form (encodeCommand → applyEntry), so the table holds what a node's would: values as
// msgpack decodes them.
//
//   node --expose-gc --import tsx scripts/table-memory.ts [--tasks 100000,1000000] [--value-bytes 0]
// --value-bytes adds a string of that many bytes to every payload and every result.
import { spawnSync } from "node:child_process";
import { loadavg } from "node:os";
import { fileURLToPath } from "node:url";
import { parseArgs } from "node:util";
import { encodeCommand, type Command } from "../src/scheduler/commands.js";
import { TaskTable } from "../src/scheduler/table.js";
import type { JsonValue } from "../src/scheduler/types.js";

const { values } = parseArgs({ options: { tasks: { type: "string", default: "100000,1000000" }, "value-bytes": { type: "string", default: "0" }, child: { type: "string" } } });
const WORKERS = ["n1", "n2", "n3"];
const ASSIGN_BATCH = 1024;

interface Figures {
  readonly tasks: number;
  readonly rssMiB: number;
  readonly heapUsedMiB: number;
  readonly externalMiB: number;
  readonly arrayBuffersMiB: number;
  readonly buildMs: number;
}

/** N submitted; the first half assigned and completed (payload ~90 bytes, result ~60 bytes as JSON). */
export function buildHalfTerminal(n: number, valueBytes = 0): TaskTable {
  const extra: Record<string, JsonValue> = valueBytes > 0 ? { data: "v".repeat(valueBytes) } : {};
  const table = new TaskTable();
  let index = 0;
  const apply = (cmd: Command): void => {
    const r = table.applyEntry(++index, encodeCommand(cmd));
    if (!r.ok) throw new Error(`${cmd.type}: ${r.code} ${r.message}`);
  };
  for (const w of WORKERS) apply({ type: "workerUp", worker: w, capacity: 100_000, nowMs: 1_700_000_000_000 });
  const id = (i: number): string => `task-${String(i).padStart(8, "0")}`;
  for (let i = 0; i < n; i++) {
    const payload = { job: "resize", image: `images/2026/12/${i}.png`, width: 640 + (i % 7), sleepMs: i % 100, ...extra };
    apply({ type: "submit", id: id(i), payload, priority: i % 3, maxAttempts: 3, nowMs: 1_700_000_000_000 + i });
  }
  const terminal = Math.floor(n / 2);
  for (let start = 0; start < terminal; start += ASSIGN_BATCH) {
    const end = Math.min(terminal, start + ASSIGN_BATCH);
    const assignments = [];
    for (let i = start; i < end; i++) assignments.push({ taskId: id(i), worker: WORKERS[i % WORKERS.length]!, attempt: 1 });
    apply({ type: "assign", assignments });
    for (let i = start; i < end; i++) {
      apply({ type: "complete", id: id(i), attempt: 1, result: { ok: true, bytes: 1000 + i, path: `out/${i}.png`, ...extra }, nowMs: 1_700_000_500_000 + i });
    }
  }
  return table;
}

function measureChild(n: number, valueBytes: number): void {
  const gc = (globalThis as { gc?: () => void }).gc;
  if (!gc) throw new Error("run with --expose-gc");
  const t0 = performance.now();
  const table = buildHalfTerminal(n, valueBytes);
  const buildMs = Math.round(performance.now() - t0);
  for (let i = 0; i < 3; i++) gc();
  const m = process.memoryUsage();
  const mib = (b: number): number => Math.round((b / 2 ** 20) * 10) / 10;
  const figures: Figures = { tasks: table.counts().total, rssMiB: mib(m.rss), heapUsedMiB: mib(m.heapUsed), externalMiB: mib(m.external), arrayBuffersMiB: mib(m.arrayBuffers), buildMs };
  process.stdout.write(`${JSON.stringify(figures)}\n`);
}

function runChild(n: number): Figures {
  const r = spawnSync(process.execPath, [...process.execArgv, fileURLToPath(import.meta.url), "--child", String(n), "--value-bytes", values["value-bytes"]], { encoding: "utf8", maxBuffer: 1 << 20 });
  if (r.status !== 0) throw new Error(`child for ${n} tasks exited ${r.status}: ${r.stderr}`);
  return JSON.parse(r.stdout.trim().split("\n").pop()!) as Figures;
}

if (process.argv[1] !== fileURLToPath(import.meta.url)) {
  // imported (a measurement helper): nothing to run
} else if (values.child !== undefined) {
  measureChild(Number(values.child), Number(values["value-bytes"]));
} else {
  const sizes = values.tasks.split(",").map(Number);
  const base = runChild(0);
  const rows = sizes.map(runChild);
  const per = (x: number, b: number, n: number): string => `${Math.round(((x - b) * 2 ** 20) / n)}`;
  console.log(`Measured ${new Date().toISOString()} with \`node --expose-gc --import tsx scripts/table-memory.ts --tasks ${values.tasks} --value-bytes ${values["value-bytes"]}\`, load average ${loadavg().map((l) => l.toFixed(1)).join(" / ")}:`);
  console.log("");
  console.log("| tasks (half completed) | RSS MiB | V8 heap used MiB | external MiB | heap bytes per task | RSS bytes per task | build ms |");
  console.log("|---:|---:|---:|---:|---:|---:|---:|");
  console.log(`| 0 (baseline) | ${base.rssMiB} | ${base.heapUsedMiB} | ${base.externalMiB} | – | – | – |`);
  for (const r of rows) {
    console.log(`| ${r.tasks.toLocaleString("en")} | ${r.rssMiB} | ${r.heapUsedMiB} | ${r.externalMiB} | ${per(r.heapUsedMiB, base.heapUsedMiB, r.tasks)} | ${per(r.rssMiB, base.rssMiB, r.tasks)} | ${r.buildMs} |`);
  }
}
