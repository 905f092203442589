import { describe, expect, it } from "vitest";
import { decodeSnapshotData, encodeSnapshotData, encodeSnapshotDataSliced } from "../../../src/node/snapshot-data.js";
import { TaskTable } from "../../../src/scheduler/table.js";

describe("node snapshot data", () => {
  it("round-trips member urls and the table bytes, and is the same for any map order", () => {
    const table = new Uint8Array(100_000).map((_, i) => i % 251);
    const a = encodeSnapshotData({ memberUrls: new Map([["n2", "http://127.0.0.1:2"], ["n1", "http://127.0.0.1:1"]]), table });
    const b = encodeSnapshotData({ memberUrls: new Map([["n1", "http://127.0.0.1:1"], ["n2", "http://127.0.0.1:2"]]), table });
    expect(Buffer.from(a).equals(Buffer.from(b))).toBe(true);
    const d = decodeSnapshotData(a);
    expect([...d.memberUrls]).toEqual([["n1", "http://127.0.0.1:1"], ["n2", "http://127.0.0.1:2"]]);
    expect(Buffer.from(d.table).equals(Buffer.from(table))).toBe(true);
  });

  it("treats empty data as an empty table with no urls", () => {
    const d = decodeSnapshotData(new Uint8Array(0));
    expect(d.memberUrls.size).toBe(0);
    expect(d.table.byteLength).toBe(0);
  });

  it("refuses data of another layout or with a header that does not fit, with SNAPSHOT_CORRUPT", () => {
    expect(() => decodeSnapshotData(new Uint8Array([1, 2, 3, 4, 5, 6, 7, 8, 9]))).toThrow(expect.objectContaining({ code: "SNAPSHOT_CORRUPT" }));
    const good = Buffer.from(encodeSnapshotData({ memberUrls: new Map(), table: new Uint8Array(4) }));
    good.writeUInt32BE(1_000_000, 4);
    expect(() => decodeSnapshotData(good)).toThrow(expect.objectContaining({ code: "SNAPSHOT_CORRUPT" }));
  });

  it("encodeSnapshotDataSliced writes the same bytes as wrapping the table's snapshot(), of the moment of the call", async () => {
    const table = new TaskTable();
    for (let i = 1; i <= 400; i++) table.apply(i, { type: "submit", id: `t${i}`, payload: { i }, priority: 0, maxAttempts: 1, nowMs: i });
    const members = {
      memberUrls: new Map([["n2", "http://127.0.0.1:2"], ["n1", "http://127.0.0.1:1"]]),
      memberFacts: new Map([["n2", { capacity: 3, worker: true }]]),
    };
    const expected = encodeSnapshotData({ ...members, table: table.snapshot() });
    const pending = encodeSnapshotDataSliced(members, table.beginSnapshot(), { sliceMs: 0, restMs: 0 });
    table.apply(401, { type: "submit", id: "later", payload: null, priority: 0, maxAttempts: 1, nowMs: 401 });
    const bytes = await pending;
    expect(Buffer.from(bytes).equals(Buffer.from(expected))).toBe(true);
    const d = decodeSnapshotData(bytes);
    expect(d.memberFacts?.get("n2")).toEqual({ capacity: 3, worker: true });
    expect(TaskTable.restore(d.table).lastAppliedIndex).toBe(400);
  });
});
