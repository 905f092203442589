// Measures the task table at scale: applying N submits and a mix of transitions, snapshot(), restore(), and the
// indexed queries. Not a test (too slow for CI on 2 cores): run `npx tsx test/unit/scheduler/bench-snapshot.ts [N]`.
import { TaskTable } from "../../../src/scheduler/table.js";
import { planAssignments } from "../../../src/scheduler/planner.js";
import { makePrng } from "../../../src/raft/prng.js";

const n = Number(process.argv[2] ?? 1_000_000);
const time = <T>(label: string, f: () => T): T => {
  const start = performance.now();
  const out = f();
  console.log(`${label}: ${(performance.now() - start).toFixed(0)} ms`);
  return out;
};
const heapMb = (): string => `${(process.memoryUsage().heapUsed / 2 ** 20).toFixed(0)} MiB heap`;

const table = new TaskTable();
let index = 0;
for (const w of ["n1", "n2", "n3", "n4", "n5"]) table.apply(++index, { type: "workerUp", worker: w, capacity: 1_000_000, nowMs: 0 });
const rng = makePrng(1);
time(`submit ${n} (random ids, priorities 0-9)`, () => {
  for (let i = 0; i < n; i++) {
    const id = `task-${Math.floor(rng() * 2 ** 32).toString(36)}-${i}`;
    table.apply(++index, { type: "submit", id, payload: { sleepMs: i % 100, fail: false }, priority: i % 10, maxAttempts: 3, nowMs: 1_700_000_000_000 + i });
  }
});
time("assign 30% in batches of 256 via the planner", () => {
  for (let done = 0; done < n * 0.3; ) {
    const cmd = planAssignments(table, { nowMs: 1, strategy: "least-loaded", rng, maxBatch: 256 });
    if (cmd === null) break;
    table.apply(++index, cmd);
    done += cmd.assignments.length;
  }
});
time("complete 10% / fail 5%", () => {
  const assigned = table.listTasks({ state: "assigned", limit: 1000 });
  let after: string | null = assigned.tasks[0]?.id ?? null;
  let k = 0;
  while (after !== null && k < n * 0.15) {
    const page = table.listTasks({ state: "assigned", limit: 1000, after });
    for (const t of page.tasks) {
      if (k % 3 === 2) table.apply(++index, { type: "fail", id: t.id, attempt: t.attempt, error: "x", retryAtMs: 5 });
      else table.apply(++index, { type: "complete", id: t.id, attempt: t.attempt, result: { ok: true } });
      k++;
    }
    after = page.next;
  }
});
console.log(table.counts(), heapMb());
const bytes = time("snapshot()", () => table.snapshot());
console.log(`snapshot size: ${(bytes.byteLength / 2 ** 20).toFixed(1)} MiB`);
const again = time("snapshot() again", () => table.snapshot());
console.log("same bytes twice:", Buffer.from(bytes).equals(again));
const restored = time("restore()", () => TaskTable.restore(bytes));
const rebytes = time("snapshot() of restored", () => restored.snapshot());
console.log("restored snapshot identical:", Buffer.from(bytes).equals(rebytes), heapMb());
time("1000 × listTasks({state: pending, limit 100, after: random})", () => {
  for (let i = 0; i < 1000; i++) restored.listTasks({ state: "pending", limit: 100, after: `task-${Math.floor(rng() * 2 ** 32).toString(36)}` });
});
time("1000 × listTasks({worker: n3, limit 100})", () => {
  for (let i = 0; i < 1000; i++) restored.listTasks({ worker: "n3", limit: 100 });
});
time("100 × planAssignments (batch 256) on the restored table", () => {
  for (let i = 0; i < 100; i++) planAssignments(restored, { nowMs: 10, strategy: "weighted", rng });
});
time("10000 submits into the restored table", () => {
  for (let i = 0; i < 10_000; i++) restored.apply(++index, { type: "submit", id: `late-${i}`, payload: null, priority: 5, maxAttempts: 3, nowMs: 0 });
});
