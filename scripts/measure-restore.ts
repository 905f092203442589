// Where the time of a snapshot restore goes (issue 14.3): a table of N tasks (default 200,000) in the mix of
// scripts/scale-1m.ts, serialized, then restored the old way (one synchronous TaskTable.restore: its stages timed)
// and the sliced way (restoreTableInSlices: the longest slice and the number of slices).
//   npx tsx scripts/measure-restore.ts [--tasks 200000]
import { loadavg } from "node:os";
import { Packr } from "msgpackr";
import { decodeSnapshot } from "../src/scheduler/snapshot.js";
import { TaskTable } from "../src/scheduler/table.js";
import { restoreTableInSlices } from "../src/scheduler/table-restore-async.js";

const tasksArg = process.argv.indexOf("--tasks");
const n = tasksArg > 0 ? Number(process.argv[tasksArg + 1]) : 200_000;

function buildTable(count: number): TaskTable {
  const table = new TaskTable();
  let index = 0;
  table.apply(++index, { type: "workerUp", worker: "n1", capacity: 100_000, nowMs: 1 });
  for (let i = 0; i < count; i++) {
    table.apply(++index, { type: "submit", id: `task-${i.toString(36).padStart(6, "0")}`, payload: { sleepMs: i % 100, job: "resize", image: `img/${i}.png` }, priority: i % 10, maxAttempts: 2, nowMs: i });
  }
  return table;
}

function time<T>(label: string, f: () => T): T {
  const t0 = performance.now();
  const v = f();
  console.log(`  ${label.padEnd(44)} ${(performance.now() - t0).toFixed(0).padStart(6)} ms`);
  return v;
}

const table = buildTable(n);
const bytes = table.snapshot();
console.log(`${n} tasks, snapshot ${(bytes.byteLength / 2 ** 20).toFixed(1)} MiB, load average ${loadavg()[0]!.toFixed(1)}`);
console.log("synchronous restore (one turn of the event loop today):");
time("msgpack unpack of the whole table", () => new Packr({ useRecords: false, moreTypes: false }).unpack(bytes));
time("decodeSnapshot (unpack + row checks)", () => decodeSnapshot(bytes));
time("TaskTable.restore (all of it)", () => TaskTable.restore(bytes));

let slices = 0;
let longestMs = 0;
const t0 = performance.now();
const restored = await restoreTableInSlices(bytes, {
  onSlice: (ms) => {
    slices++;
    longestMs = Math.max(longestMs, ms);
  },
});
console.log(`sliced restore: ${slices} slices, longest ${longestMs.toFixed(1)} ms, total ${(performance.now() - t0).toFixed(0)} ms; same bytes: ${Buffer.from(restored.snapshot()).equals(bytes)}`);
