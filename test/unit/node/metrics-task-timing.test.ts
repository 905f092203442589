// Submit→assignment and run-time intervals from applied results: each closes once, requeues and cancels drop the
// open ones, a stale attempt's result reports nothing, and the maps stay within their bound.
import { describe, expect, it } from "vitest";
import { TaskTiming } from "../../../src/node/metrics-task-timing.js";
import type { Task } from "../../../src/scheduler/types.js";

function task(id: string, state: Task["state"], attempt: number): Task {
  return { id, state, worker: state === "pending" ? null : "n1", attempt, payload: null, priority: 0, maxAttempts: 3, requires: [], timeoutMs: null, runAt: null, createdIndex: 1, updatedIndex: 1 };
}
const assign = (taskId: string, attempt: number) => ({ ok: true as const, assigned: [{ taskId, worker: "n1", attempt }] });

describe("TaskTiming", () => {
  it("reports the wait for the first assignment and each attempt's run", () => {
    const t = new TaskTiming();
    expect(t.onApplied({ ok: true, task: task("a", "pending", 0), created: true }, 1000)).toEqual({ assignDelays: [], runs: [] });
    expect(t.onApplied(assign("a", 1), 1250).assignDelays).toEqual([0.25]);
    expect(t.onApplied({ ok: true, task: task("a", "pending", 1) }, 1750).runs).toEqual([{ seconds: 0.5, outcome: "failed" }]);
    // The retry: a run, but no second assignment delay.
    expect(t.onApplied(assign("a", 2), 2000).assignDelays).toEqual([]);
    expect(t.onApplied({ ok: true, task: task("a", "completed", 2) }, 2100).runs).toEqual([{ seconds: 0.1, outcome: "completed" }]);
    expect(t.tracked).toEqual({ submitted: 0, assigned: 0 });
  });

  it("a repeated submit (created false), a stale result and a requeue report nothing", () => {
    const t = new TaskTiming();
    t.onApplied({ ok: true, task: task("a", "pending", 0), created: true }, 0);
    expect(t.onApplied({ ok: true, task: task("a", "pending", 0), created: false }, 10)).toEqual({ assignDelays: [], runs: [] });
    t.onApplied(assign("a", 1), 20);
    expect(t.onApplied({ ok: true, task: task("a", "completed", 0) }, 30).runs).toEqual([]);
    t.onApplied({ ok: true, requeued: ["a"] }, 40);
    expect(t.tracked.assigned).toBe(0);
  });

  it("a cancel forgets the task; the bound drops the oldest", () => {
    const t = new TaskTiming(2);
    for (const id of ["a", "b", "c"]) t.onApplied({ ok: true, task: task(id, "pending", 0), created: true }, 0);
    expect(t.tracked.submitted).toBe(2);
    expect(t.onApplied(assign("a", 1), 5).assignDelays).toEqual([]); // "a" was the oldest, forgotten
    t.onApplied({ ok: true, task: task("b", "cancelled", 0) }, 6);
    expect(t.tracked.submitted).toBe(1);
  });
});
