// POST /v1/schedules input and DELETE's answers, on the API layer alone (issue 13 points 1, 4, 9).
import { describe, expect, it } from "vitest";
import { parseSchedule, TaskLifecycleApi, type LifecycleDeps } from "../../../src/api/task-lifecycle-api.js";
import type { ApplyResult, Task } from "../../../src/scheduler/types.js";

const NOW = Date.UTC(2026, 11, 7, 19, 0);
const task = (id: string, state: Task["state"]): Task => ({ id, state, worker: null, attempt: 1, payload: 1, priority: 0, maxAttempts: 3, createdIndex: 1, updatedIndex: 2, requires: [], timeoutMs: null, runAt: null });

describe("parseSchedule", () => {
  it("builds the record: defaults for the task, clock fields from now", () => {
    expect(parseSchedule({ id: "nightly", cron: "0 3 * * *", task: { payload: { job: "gc" } } }, NOW)).toEqual({
      id: "nightly",
      everyMs: null,
      cron: "0 3 * * *",
      task: { payload: { job: "gc" }, priority: 0, maxAttempts: 3 },
      createdAtMs: NOW,
      lastSlotMs: NOW,
    });
  });

  it.each([
    [{ id: "bad id!", everyMs: 1000, task: { payload: 1 } }, /^id: /],
    [{ id: "a", task: { payload: 1 } }, /^everyMs: exactly one of everyMs and cron/],
    [{ id: "a", everyMs: 1000, cron: "* * * * *", task: { payload: 1 } }, /^everyMs: exactly one/],
    [{ id: "a", everyMs: 999, task: { payload: 1 } }, /^everyMs: must be an integer from 1000/],
    [{ id: "a", cron: "0 0 30 2 *", task: { payload: 1 } }, /^cron: "0 0 30 2 \*" never fires/],
    [{ id: "a", cron: "0 25 * * *", task: { payload: 1 } }, /^cron: hour field/],
    [{ id: "a", everyMs: 1000 }, /^task: must be an object/],
    [{ id: "a", everyMs: 1000, task: {} }, /^task\.payload: is required/],
    [{ id: "a", everyMs: 1000, task: { payload: 1, maxAttempts: 0 } }, /^task\.maxAttempts: /],
    [{ id: "a", everyMs: 1000, task: { payload: 1, runAt: 5 } }, /^task\.runAt: unknown field/],
    [{ id: "a", everyMs: 1000, task: { payload: 1 }, extra: 1 }, /^extra: unknown field/],
    // The task fields a submit takes, checked as a submit's are (issue 13 point 4 with the fields of issue 12).
    [{ id: "a", everyMs: 1000, task: { payload: 1, requires: "gpu" } }, /^task\.requires: must be an array of tags/],
    [{ id: "a", everyMs: 1000, task: { payload: 1, requires: ["gpu", "gpu"] } }, /^task\.requires: tags must not repeat/],
    [{ id: "a", everyMs: 1000, task: { payload: 1, requires: ["no spaces"] } }, /^task\.requires: each tag/],
    [{ id: "a", everyMs: 1000, task: { payload: 1, timeoutMs: 0 } }, /^task\.timeoutMs: must be an integer from 1/],
    [{ id: "a", everyMs: 1000, task: { payload: 1, timeoutMs: 86_400_001 } }, /^task\.timeoutMs: /],
    [{ id: "a", everyMs: 1000, task: { payload: 1, priority: 1.5 } }, /^task\.priority: /],
    [{ id: "a", everyMs: 1000, task: { payload: 1, delayMs: 5 } }, /^task\.delayMs: unknown field/],
  ])("400 naming the field: %j", (body, message) => {
    expect(() => parseSchedule(body, NOW)).toThrow(message);
    try {
      parseSchedule(body, NOW);
    } catch (err) {
      expect((err as { code: string }).code).toBe("BAD_FIELD");
    }
  });
});

describe("parseSchedule: the task fields a submit takes", () => {
  it("keeps requires (sorted) and timeoutMs, priority and maxAttempts; an empty requires is no field at all", () => {
    const body = { id: "gpu-nightly", everyMs: 60_000, task: { payload: { job: "train" }, priority: 5, maxAttempts: 7, requires: ["zone-a", "gpu"], timeoutMs: 30_000 } };
    expect(parseSchedule(body, NOW).task).toEqual({ payload: { job: "train" }, priority: 5, maxAttempts: 7, requires: ["gpu", "zone-a"], timeoutMs: 30_000 });
    expect(parseSchedule({ id: "a", everyMs: 1000, task: { payload: 1, requires: [] } }, NOW).task).toEqual({ payload: 1, priority: 0, maxAttempts: 3 });
  });
});

describe("DELETE /v1/tasks/:id on the leader", () => {
  function api(tasks: Record<string, Task>, answer: ApplyResult = { ok: true, deleted: ["done"] }) {
    const proposed: unknown[] = [];
    const deps: LifecycleDeps = {
      getTask: (id) => tasks[id],
      schedules: () => [],
      write: (_m, _p, _b, _c, onLeader) => onLeader(),
      propose: async (cmd) => (proposed.push(cmd), answer),
      linearize: async () => undefined,
    };
    return { lifecycle: new TaskLifecycleApi(deps), proposed };
  }

  it("200 for a terminal task, proposing a delete of that id without remembering it", async () => {
    const { lifecycle, proposed } = api({ done: task("done", "completed") });
    expect(await lifecycle.deleteTask("done")).toEqual({ status: 200, body: { id: "done", deleted: true } });
    expect(proposed).toEqual([{ type: "delete", ids: ["done"] }]);
  });

  it("409 INVALID_STATE with the state for a live task, 404 for an unknown one; nothing proposed", async () => {
    const { lifecycle, proposed } = api({ run: task("run", "assigned") });
    await expect(lifecycle.deleteTask("run")).rejects.toMatchObject({ code: "INVALID_STATE", details: { state: "assigned" } });
    await expect(lifecycle.deleteTask("nope")).rejects.toMatchObject({ code: "NOT_FOUND" });
    expect(proposed).toEqual([]);
  });
});
