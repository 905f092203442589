// Issue 14.3: a snapshot restore was one msgpack unpack of the whole table plus the index build, in one turn of the
// event loop (1M tasks: ~5 s during which a follower heard no heartbeat). The restorer decodes the task rows in
// steps of at most RESTORE_ROWS_PER_STEP rows / ~RESTORE_BYTES_PER_STEP bytes; counted here, not timed.
import { describe, expect, it } from "vitest";
import { TaskTable } from "../../../src/scheduler/table.js";
import { decodeSnapshot } from "../../../src/scheduler/snapshot.js";
import { RESTORE_BYTES_PER_STEP, RESTORE_ROWS_PER_STEP, TableRestorer } from "../../../src/scheduler/table-restore-slices.js";
import { restoreTableInSlices } from "../../../src/scheduler/table-restore-async.js";

/** n pending tasks, then every seventh assigned, of those every other completed, some cancelled, some failed. */
function tableOf(n: number, payload: (i: number) => unknown = (i) => ({ sleepMs: i % 100, image: `img/${i}.png` })): TaskTable {
  const t = new TaskTable();
  let index = 0;
  t.apply(++index, { type: "workerUp", worker: "w1", capacity: 1_000_000, nowMs: 1 });
  t.apply(++index, { type: "workerUp", worker: "w2", capacity: 1_000_000, nowMs: 1 });
  const id = (i: number): string => `task-${((i * 7919) % n).toString(36).padStart(5, "0")}-${i}`;
  for (let i = 0; i < n; i++) t.apply(++index, { type: "submit", id: id(i), payload: payload(i) as never, priority: i % 5, maxAttempts: 2, nowMs: i });
  const assignments = [];
  for (let i = 0; i < n; i += 7) assignments.push({ taskId: id(i), worker: i % 2 ? "w1" : "w2", attempt: 1 });
  for (let k = 0; k < assignments.length; k += 1000) t.apply(++index, { type: "assign", assignments: assignments.slice(k, k + 1000) });
  for (let i = 0; i < n; i += 14) t.apply(++index, { type: "complete", id: id(i), attempt: 1, result: { ok: i }, nowMs: 5 });
  for (let i = 3; i < n; i += 29) t.apply(++index, { type: "cancel", id: id(i), nowMs: 6 });
  for (let i = 7; i < n; i += 98) t.apply(++index, { type: "fail", id: id(i), attempt: 1, error: "x", retryAtMs: 9, nowMs: 7 });
  return t;
}

const same = (a: Uint8Array, b: Uint8Array): boolean => Buffer.from(a.buffer, a.byteOffset, a.byteLength).equals(b);

describe("restoring a table in steps", () => {
  it("restores 200k tasks in steps of a bounded number of rows and bytes, to the same table", () => {
    const table = tableOf(200_000);
    const bytes = table.snapshot();
    const restorer = new TableRestorer(bytes);
    let steps = 0;
    let maxRows = 0;
    let maxBytes = 0;
    // A deadline already passed: each step does one unit of work and returns.
    while (!restorer.step(Number.NEGATIVE_INFINITY)) {
      steps++;
      maxRows = Math.max(maxRows, restorer.lastStep.rows);
      maxBytes = Math.max(maxBytes, restorer.lastStep.bytes);
    }
    expect(steps).toBeGreaterThanOrEqual(200_000 / RESTORE_ROWS_PER_STEP);
    expect(maxRows).toBeLessThanOrEqual(RESTORE_ROWS_PER_STEP);
    expect(maxBytes).toBeLessThanOrEqual(RESTORE_BYTES_PER_STEP + 1024);
    const restored = TaskTable.fromRestorer(restorer);
    expect(same(restored.snapshot(), bytes)).toBe(true);
    expect(restored.counts()).toEqual(table.counts());
    expect(restored.pendingQueue(50)).toEqual(table.pendingQueue(50));
  });

  it("ends a step at the byte bound when payloads are large", () => {
    const table = tableOf(40, () => "p".repeat(100_000));
    const restorer = new TableRestorer(table.snapshot());
    let steps = 0;
    while (!restorer.step(Number.NEGATIVE_INFINITY)) steps++;
    expect(steps).toBeGreaterThanOrEqual(Math.floor((40 * 100_000) / (RESTORE_BYTES_PER_STEP + 100_000)));
  });

  it("gives every index what the one-shot decode gave, and the async restore the same table", async () => {
    const table = tableOf(3_000);
    const bytes = table.snapshot();
    const restored = await restoreTableInSlices(bytes, { sliceMs: 0 });
    expect(same(restored.snapshot(), bytes)).toBe(true);
    const decoded = decodeSnapshot(bytes);
    for (const state of ["pending", "assigned", "completed", "dead", "cancelled"] as const) {
      expect(restored.listTasks({ state, limit: 1000 }).tasks).toEqual(table.listTasks({ state, limit: 1000 }).tasks);
    }
    expect(restored.listTasks({ worker: "w1", limit: 1000 })).toEqual(table.listTasks({ worker: "w1", limit: 1000 }));
    expect(restored.listTasks({ limit: 1000 }).tasks.map((t) => t.id)).toEqual(decoded.tasks.slice(0, 1000).map((t) => t.id));
  });

  it("refuses truncated bytes, trailing bytes and garbage with BAD_SNAPSHOT", () => {
    const bytes = tableOf(100).snapshot();
    for (const bad of [bytes.subarray(0, bytes.byteLength - 3), Buffer.concat([bytes, Uint8Array.of(0xc0)]), Uint8Array.of(0x97, 1, 2), Uint8Array.of(1)]) {
      expect(() => TaskTable.restore(bad)).toThrow(expect.objectContaining({ code: "BAD_SNAPSHOT" }));
    }
  });
});
