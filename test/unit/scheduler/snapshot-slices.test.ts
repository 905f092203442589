// Issue #18 item 2: the snapshot path's turns of the event loop are bounded by work, not by table size: the final
// assembly copies at most ASSEMBLE_BYTES_PER_CHECK (+ one packed batch) per step, and a wrapper's header goes
// in front of the table in the same buffer (no second whole-snapshot copy in one turn).
import { describe, expect, it } from "vitest";
import { ASSEMBLE_BYTES_PER_CHECK, encodeInSlices, SnapshotEncoder } from "../../../src/scheduler/snapshot.js";
import { TaskTable } from "../../../src/scheduler/table.js";

/** ~1.5 KB tasks, as the load test submits: n of them make a table of about n × 1.55 KB. */
function tableOf(n: number): TaskTable {
  const table = new TaskTable();
  const pad = "x".repeat(1500);
  for (let i = 0; i < n; i++) {
    table.apply(i + 1, { type: "submit", id: `t-${i.toString(36).padStart(6, "0")}`, payload: { pad, i }, priority: i % 7, maxAttempts: 2, nowMs: i });
  }
  return table;
}

const same = (a: Uint8Array, b: Uint8Array): boolean => Buffer.from(a.buffer, a.byteOffset, a.byteLength).equals(b);

describe("snapshot encoder slices", () => {
  it("assembles a multi-MiB table in steps of at most ~1 MiB of copying each", () => {
    const table = tableOf(4000); // ~6 MiB
    const encoder = new SnapshotEncoder(table.beginSnapshot());
    // A deadline already passed: every step does one unit of work and returns.
    let steps = 0;
    let before = encoder.bytesAssembled;
    let largestStep = 0;
    while (!encoder.step(Number.NEGATIVE_INFINITY)) {
      largestStep = Math.max(largestStep, encoder.bytesAssembled - before);
      before = encoder.bytesAssembled;
      steps++;
    }
    largestStep = Math.max(largestStep, encoder.bytesAssembled - before);
    const bytes = encoder.result();
    expect(bytes.byteLength).toBeGreaterThan(5 * 2 ** 20);
    expect(steps).toBeGreaterThan(bytes.byteLength / (ASSEMBLE_BYTES_PER_CHECK + 512 * 1024));
    // One step copies up to the bound plus the chunk that crossed it (a batch packs ~256 KiB).
    expect(largestStep).toBeLessThanOrEqual(1024 * 1024 + 512 * 1024);
    expect(same(bytes, table.snapshot())).toBe(true);
  });

  it("puts a prefix in front of the same table bytes, in one buffer, and a finished encoder stays finished", () => {
    const table = tableOf(300);
    const prefix = Uint8Array.of(1, 2, 3, 4, 5);
    const encoder = new SnapshotEncoder(table.beginSnapshot(), { prefix });
    prefix.fill(9); // the encoder took its own copy
    while (!encoder.step(Number.NEGATIVE_INFINITY));
    expect(encoder.step(Number.NEGATIVE_INFINITY)).toBe(true);
    const bytes = encoder.result();
    expect([...bytes.subarray(0, 5)]).toEqual([1, 2, 3, 4, 5]);
    expect(same(bytes.subarray(5), table.snapshot())).toBe(true);
    expect(encoder.bytesAssembled).toBe(bytes.byteLength);
  });

  it("encodeInSlices gives the bytes of the moment of capture, with or without a rest between slices", async () => {
    const table = tableOf(500);
    const atCapture = table.snapshot();
    const rested = encodeInSlices(new SnapshotEncoder(table.beginSnapshot()), { sliceMs: 0, restMs: 1 });
    const yielded = encodeInSlices(new SnapshotEncoder(table.beginSnapshot()), { sliceMs: 0, restMs: 0 });
    table.apply(10_000, { type: "submit", id: "late", payload: null, priority: 0, maxAttempts: 1, nowMs: 1 });
    expect(same(await rested, atCapture)).toBe(true);
    expect(same(await yielded, atCapture)).toBe(true);
    expect(same(TaskTable.restore(await rested).snapshot(), atCapture)).toBe(true);
  });
});
