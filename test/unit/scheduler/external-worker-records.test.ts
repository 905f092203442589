// workerUp's optional kind/tags (external workers) in the table and the snapshot; entries without them apply as before.
import { describe, expect, it } from "vitest";
import { decodeCommand, encodeCommand } from "../../../src/scheduler/commands.js";
import { TaskTable } from "../../../src/scheduler/table.js";

describe("external worker records", () => {
  it("workerUp with kind and tags lands in the worker's extras and survives a snapshot", () => {
    const table = new TaskTable();
    table.apply(1, { type: "workerUp", worker: "w1", capacity: 3, nowMs: 5, kind: "external", tags: ["gpu"] });
    table.apply(2, { type: "workerUp", worker: "n1", capacity: 2, nowMs: 5 });
    expect(table.getWorker("w1")).toMatchObject({ capacity: 3, extras: { kind: "external", tags: ["gpu"] } });
    expect(table.getWorker("n1")?.extras).toBeUndefined();
    const restored = TaskTable.restore(table.snapshot());
    expect(restored.workers()).toEqual(table.workers());
    expect(restored.snapshot()).toEqual(table.snapshot());
    // A later registration with other tags replaces them.
    table.apply(3, { type: "workerUp", worker: "w1", capacity: 3, nowMs: 6, kind: "external", tags: [] });
    expect(table.getWorker("w1")?.extras).toEqual({ kind: "external" }); // no tags: the field is left out (canonical form)
  });

  it("a workerUp of the old form decodes and applies unchanged; bad kind/tags are refused", () => {
    const old = encodeCommand({ type: "workerUp", worker: "n1", capacity: 2, nowMs: 1 });
    expect(decodeCommand(old)).toEqual({ ok: true, command: { type: "workerUp", worker: "n1", capacity: 2, nowMs: 1 } });
    expect(() => encodeCommand({ type: "workerUp", worker: "w", capacity: 1, nowMs: 1, kind: "member" as "external" })).toThrow(/kind/);
    expect(() => encodeCommand({ type: "workerUp", worker: "w", capacity: 1, nowMs: 1, tags: [""] })).toThrow(/tag/);
  });
});
