// Seeds the data dirs of a fresh benchmark cluster with a table of N pending tasks, the way an operator seeds a new
// cluster from a backup (`raftsched snapshot restore`, src/node/backup-restore.ts): builds the table through apply()
// (one submit per task, as a leader would have committed them), writes it as a backup file, and restores that
// file into every member's data dir. Run as a child of scripts/bench/scale.ts, so the builder's copy of a
// million-task table dies with this process and does not weigh on the benchmark driver.
//
//   npx tsx scripts/bench/scale-seed.ts --tasks N --config <cluster file> --payload-bytes B --member <id>=<dir> ...
import { rmSync, writeFileSync } from "node:fs";
import path from "node:path";
import { parseArgs } from "node:util";
import { loadClusterFile } from "../../src/config/cluster-file.js";
import { encodeBackup } from "../../src/node/backup-file.js";
import { restoreBackup } from "../../src/node/backup-restore.js";
import { encodeSnapshotData } from "../../src/node/snapshot-data.js";
import { TaskTable } from "../../src/scheduler/table.js";
import { valueOfBytes } from "./throughput.js";

const { values } = parseArgs({
  options: {
    tasks: { type: "string" },
    config: { type: "string" },
    "payload-bytes": { type: "string", default: "64" },
    member: { type: "string", multiple: true, default: [] },
  },
});

const tasks = Number(values.tasks);
if (!Number.isSafeInteger(tasks) || tasks < 0 || !values.config) throw new Error("scale-seed: --tasks N --config FILE --member id=dir ...");
const cfg = loadClusterFile(values.config);
const payload = valueOfBytes(Number(values["payload-bytes"]));

const t0 = performance.now();
const table = new TaskTable();
let index = 0;
for (let i = 0; i < tasks; i++) {
  // Ids like the benchmark's own, in submission order (so inserts append, as a real table grows).
  const id = `seed.${String(i).padStart(8, "0")}`;
  const r = table.apply(++index, { type: "submit", id, payload, priority: 0, maxAttempts: 3, nowMs: 1_700_000_000_000 + i });
  if (!r.ok) throw new Error(`seed submit ${id}: ${r.code}`);
}
const memberUrls = new Map(cfg.nodes.map((n) => [n.id, n.url]));
const data = encodeSnapshotData({ memberUrls, table: table.snapshot() });
const file = path.join(path.dirname(values.config), `seed-${tasks}.backup`);
writeFileSync(file, encodeBackup({ cluster: cfg.cluster, takenBy: "scale-seed", takenAt: new Date().toISOString(), index, term: 1, tasks }, data));
const buildMs = performance.now() - t0;
for (const spec of values.member) {
  const at = spec.indexOf("=");
  await restoreBackup(file, cfg, spec.slice(0, at), spec.slice(at + 1));
}
rmSync(file, { force: true });
process.stdout.write(`${JSON.stringify({ tasks, index, snapshotBytes: data.byteLength, buildMs: Math.round(buildMs), seedMs: Math.round(performance.now() - t0) })}\n`);
