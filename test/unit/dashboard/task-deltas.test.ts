// What the dashboard's stream sends about tasks: one row per changed task (its newest state), nothing for a
// command that changed nothing, and never more than MAX_DELTAS_PER_FRAME rows a frame.
import { describe, expect, it } from "vitest";
import { MAX_DELTAS_PER_FRAME, TaskDeltas, touchedTaskIds } from "../../../src/dashboard/task-deltas.js";
import type { Task } from "../../../src/scheduler/types.js";

function task(id: string, updatedIndex: number, state: Task["state"] = "pending"): Task {
  return { id, state, worker: null, attempt: 0, payload: { big: "x".repeat(100) }, priority: 0, maxAttempts: 3, createdIndex: 1, updatedIndex, requires: [], timeoutMs: null, runAt: null };
}

describe("TaskDeltas", () => {
  it("keeps each task's newest row, newest change first, without payloads", () => {
    const d = new TaskDeltas();
    expect(d.note(task("a", 5))).toBe(true);
    expect(d.note(task("b", 6))).toBe(true);
    expect(d.note(task("a", 7, "assigned"))).toBe(true);
    const rows = d.take();
    expect(rows.map((r) => [r.id, r.state])).toEqual([["a", "assigned"], ["b", "pending"]]);
    expect(rows[0]).not.toHaveProperty("payload");
    expect(d.take()).toEqual([]);
  });

  it("notes every task one entry changed (an assign of several), once", () => {
    const d = new TaskDeltas();
    expect(d.note(task("a", 9, "assigned"))).toBe(true);
    expect(d.note(task("b", 9, "assigned"))).toBe(true);
    expect(d.note(task("a", 9, "assigned"))).toBe(false); // the same task again at the same index: no change
  });

  it("ignores a command that left the task as it was (a cancel of a finished task answers its old index)", () => {
    const d = new TaskDeltas();
    d.note(task("a", 10, "completed"));
    d.note(task("b", 11));
    d.take();
    expect(d.note(task("a", 10, "completed"))).toBe(false);
    expect(d.size).toBe(0);
  });

  it("holds at most MAX_DELTAS_PER_FRAME rows, the newest", () => {
    const d = new TaskDeltas();
    for (let i = 1; i <= MAX_DELTAS_PER_FRAME + 30; i++) d.note(task(`t${i}`, i));
    const rows = d.take();
    expect(rows.length).toBe(MAX_DELTAS_PER_FRAME);
    expect(rows[0]!.id).toBe(`t${MAX_DELTAS_PER_FRAME + 30}`);
    expect(rows.at(-1)!.id).toBe("t31");
  });
});

describe("touchedTaskIds", () => {
  it("lists the addressed task, the assigned and the requeued ones; nothing for a refusal", () => {
    expect(touchedTaskIds({ ok: true, task: task("a", 1), assigned: [{ taskId: "b", worker: "n1", attempt: 1 }], requeued: ["c"] })).toEqual(["a", "b", "c"]);
    expect(touchedTaskIds({ ok: false, code: "STALE_ATTEMPT", message: "old" })).toEqual([]);
  });
});
