// The snapshot format stays what it was, and snapshotAsync() returns exactly the bytes snapshot() returned at
// the moment it was called, however much the table changes while it serializes in slices.
import { Packr } from "msgpackr";
import { describe, expect, it } from "vitest";
import type { Command } from "../../../src/scheduler/commands.js";
import { makePrng } from "../../../src/raft/prng.js";
import { TaskTable } from "../../../src/scheduler/table.js";
import { valuesOf } from "../../../src/scheduler/task-record-values.js";

const WORKERS = ["w0", "w1", "w2", "w3"];

/** The format as snapshot.ts documents it, packed in one call (format 3; 2 had no extras, 1 no currentWeight). */
function referenceEncoding(table: TaskTable, version: 1 | 2 | 3 = 3): Uint8Array {
  const weights = table.currentWeights();
  const view = table.beginSnapshot();
  const extrasOf = new Map(view.workers.map((w) => [w.id, w.extras ?? null]));
  const workers = table.workers().map((w) => {
    const row: unknown[] = [w.id, w.alive, w.capacity, w.changedAtMs];
    if (version >= 2) row.push(weights.get(w.id));
    if (version >= 3) row.push(extrasOf.get(w.id) ?? null);
    return row;
  });
  const tasks = view.tasks.blocks.flat().map((t) => {
    const v = valuesOf(t); // a terminal task holds its values packed (task-values.ts); the format has them as values
    const row: unknown[] = [
      t.id, t.state, t.worker, t.attempt, t.priority, t.maxAttempts, t.createdIndex, t.updatedIndex, t.createdAtMs,
      t.retryAtMs, (v.result !== undefined ? 1 : 0) | (v.error !== undefined ? 2 : 0), v.payload, v.result ?? null, v.error ?? null,
    ];
    if (version >= 3) row.push(t.extras ?? null);
    return row;
  });
  const root: unknown[] = ["raftsched-table", version, table.lastAppliedIndex, table.rrCursor, workers];
  if (version >= 3) root.push(view.extras ?? null);
  root.push(tasks);
  return new Packr({ useRecords: false, moreTypes: false }).pack(root);
}

/** A table with n tasks in every state, built through apply() as a log would. */
function buildTable(n: number, seed = 1): { table: TaskTable; next: () => number } {
  const table = new TaskTable();
  let index = 0;
  const next = (): number => ++index;
  for (const w of WORKERS) table.apply(next(), { type: "workerUp", worker: w, capacity: 1_000_000, nowMs: 1 });
  const rng = makePrng(seed);
  for (let i = 0; i < n; i++) {
    table.apply(next(), { type: "submit", id: `t-${Math.floor(rng() * 1e9).toString(36)}-${i}`, payload: { i, tags: ["x", i % 3] }, priority: i % 5, maxAttempts: 2, nowMs: i });
  }
  for (const cmd of randomCommands(table, rng, Math.floor(n / 2))) table.apply(next(), cmd);
  return { table, next };
}

/** Commands a leader could propose against the table's current state (assign, complete, fail, cancel, submit,
 *  worker changes), some of them deliberately stale. */
function* randomCommands(table: TaskTable, rng: () => number, count: number): Generator<Command> {
  for (let k = 0; k < count; k++) {
    const roll = rng();
    const worker = WORKERS[Math.floor(rng() * WORKERS.length)]!;
    if (roll < 0.05) {
      yield { type: "submit", id: `late-${k}-${Math.floor(rng() * 1e6)}`, payload: null, priority: 9, maxAttempts: 3, nowMs: k };
      continue;
    }
    if (roll < 0.07) {
      yield rng() < 0.5 ? { type: "workerDead", worker, nowMs: k } : { type: "workerUp", worker, capacity: 1_000_000, nowMs: k };
      continue;
    }
    const pending = table.listTasks({ state: "pending", limit: 5, after: `t-${Math.floor(rng() * 1e9).toString(36)}` }).tasks;
    const assigned = table.listTasks({ state: "assigned", limit: 5, after: `t-${Math.floor(rng() * 1e9).toString(36)}` }).tasks;
    const p = pending[0];
    const a = assigned[0];
    if (roll < 0.45 && p) yield { type: "assign", assignments: [{ taskId: p.id, worker, attempt: p.attempt + 1 }], rrCursor: worker };
    else if (roll < 0.7 && a) yield { type: "complete", id: a.id, attempt: a.attempt, result: { k } };
    else if (roll < 0.85 && a) yield { type: "fail", id: a.id, attempt: a.attempt, error: `e${k}`, retryAtMs: k };
    else if (roll < 0.95 && (p ?? a)) yield { type: "cancel", id: (p ?? a)!.id };
    else if (a) yield { type: "complete", id: a.id, attempt: a.attempt + 1 }; // stale
  }
}

const same = (a: Uint8Array, b: Uint8Array): boolean => Buffer.from(a.buffer, a.byteOffset, a.byteLength).equals(b);

describe("snapshot format", () => {
  it.each([0, 3, 15, 16, 300, 70_000])("snapshot() of %i tasks is the one-call msgpack encoding (array header forms)", (n) => {
    const { table } = buildTable(n);
    const bytes = table.snapshot();
    expect(same(bytes, referenceEncoding(table))).toBe(true);
    expect(same(TaskTable.restore(bytes).snapshot(), bytes)).toBe(true);
  });

  it("carries smooth weighted round-robin's current weights through a round trip", () => {
    const { table } = buildTable(300);
    const weights = table.currentWeights();
    expect([...weights.values()].some((w) => w !== 0)).toBe(true); // assignments moved them
    const restored = TaskTable.restore(table.snapshot());
    expect(restored.currentWeights()).toEqual(weights);
  });

  it("still reads format 2 (before the extras existed) and writes it back as format 3", () => {
    const { table } = buildTable(300);
    const restored = TaskTable.restore(referenceEncoding(table, 2));
    expect(restored.currentWeights()).toEqual(table.currentWeights());
    expect(restored.listTasks({ limit: 1000 })).toEqual(table.listTasks({ limit: 1000 }));
    expect(same(restored.snapshot(), table.snapshot())).toBe(true);
  });

  it("carries task, worker and table extras through a round trip, keys sorted, and refuses unknown fields", () => {
    const { table } = buildTable(20);
    const packr = new Packr({ useRecords: false, moreTypes: false });
    const root = packr.unpack(table.snapshot()) as unknown[];
    const workers = root[4] as unknown[][];
    workers[0]![5] = { tags: ["gpu"], kind: "external" };
    const tasks = root[6] as unknown[][];
    tasks[0]![14] = { timeoutMs: 5000, requires: ["gpu"] };
    const bytes = packr.pack(root);
    const restored = TaskTable.restore(bytes);
    const view = restored.beginSnapshot();
    expect(view.workers[0]!.extras).toEqual({ kind: "external", tags: ["gpu"] });
    expect(view.tasks.blocks.flat()[0]!.extras).toEqual({ requires: ["gpu"], timeoutMs: 5000 });
    // Written back with sorted keys: decode → encode is stable from then on.
    const again = restored.snapshot();
    expect(same(TaskTable.restore(again).snapshot(), again)).toBe(true);
    const rows = (packr.unpack(again) as unknown[])[6] as unknown[][];
    expect(Object.keys(rows[0]![14] as object)).toEqual(["requires", "timeoutMs"]);
    tasks[0]![14] = { fromTheFuture: 1 };
    expect(() => TaskTable.restore(packr.pack(root))).toThrow(/unknown field fromTheFuture/);
    tasks[0]![14] = { timeoutMs: "soon" };
    expect(() => TaskTable.restore(packr.pack(root))).toThrow(/timeoutMs/);
  });

  it("still reads format 1 (before the weights existed), every current weight 0", () => {
    const { table } = buildTable(300);
    const restored = TaskTable.restore(referenceEncoding(table, 1));
    expect([...restored.currentWeights().values()]).toEqual(WORKERS.map(() => 0));
    expect(restored.listTasks({ limit: 1000 })).toEqual(table.listTasks({ limit: 1000 }));
    expect(restored.workers()).toEqual(table.workers());
    // Written again in the current format, with the weights and extras columns.
    expect(same(restored.snapshot(), referenceEncoding(restored))).toBe(true);
  });
});

describe("snapshotAsync", () => {
  it("returns the bytes of the moment it was called while apply() goes on between its slices", async () => {
    for (const seed of [1, 2, 3]) {
      const { table, next } = buildTable(5000, seed);
      const rng = makePrng(100 + seed);
      const pending = table.snapshotAsync({ sliceMs: 0 }); // every slice is one small unit of work
      const atCapture = table.snapshot();
      const capturedIndex = table.lastAppliedIndex;
      let applied = 0;
      let done = false;
      void pending.finally(() => (done = true));
      // Keep applying between the serializer's slices, each change touching records the snapshot still has to write.
      while (!done) {
        for (const cmd of randomCommands(table, rng, 20)) {
          table.apply(next(), cmd);
          applied++;
        }
        await new Promise((r) => setImmediate(r));
      }
      const bytes = await pending;
      expect(applied).toBeGreaterThan(200); // it really was interleaved
      expect(same(table.snapshot(), atCapture)).toBe(false); // and the table really changed meanwhile
      expect(same(bytes, atCapture)).toBe(true);
      const restored = TaskTable.restore(bytes);
      expect(restored.lastAppliedIndex).toBe(capturedIndex);
      expect(same(restored.snapshot(), bytes)).toBe(true);
    }
  });

  it("two snapshots in flight at once each keep their own moment", async () => {
    const { table, next } = buildTable(3000, 7);
    const rng = makePrng(9);
    const first = table.snapshotAsync({ sliceMs: 0 });
    const firstBytes = table.snapshot();
    for (const cmd of randomCommands(table, rng, 500)) table.apply(next(), cmd);
    const second = table.snapshotAsync({ sliceMs: 0 });
    const secondBytes = table.snapshot();
    for (const cmd of randomCommands(table, rng, 500)) table.apply(next(), cmd);
    expect(same(firstBytes, secondBytes)).toBe(false);
    expect(same(await first, firstBytes)).toBe(true);
    expect(same(await second, secondBytes)).toBe(true);
  });

  it("packs big payloads in small batches and still writes the same bytes", async () => {
    const table = new TaskTable();
    let index = 0;
    const big = "x".repeat(200_000);
    for (let i = 0; i < 40; i++) {
      table.apply(++index, { type: "submit", id: `big-${String(i).padStart(2, "0")}`, payload: i % 3 === 0 ? { big } : { i }, priority: 0, maxAttempts: 1, nowMs: 0 });
    }
    const bytes = await table.snapshotAsync({ sliceMs: 0 });
    expect(same(bytes, referenceEncoding(table))).toBe(true);
    expect(same(bytes, table.snapshot())).toBe(true);
  });

  it("yields to the event loop: timers run while a large table serializes", async () => {
    const { table } = buildTable(60_000, 4);
    let timerRuns = 0;
    const timer = setInterval(() => timerRuns++, 1);
    try {
      const bytes = await table.snapshotAsync({ sliceMs: 2 });
      expect(same(bytes, table.snapshot())).toBe(true);
    } finally {
      clearInterval(timer);
    }
    expect(timerRuns).toBeGreaterThan(1);
  });
});
