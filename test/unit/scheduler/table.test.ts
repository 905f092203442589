import { describe, expect, it } from "vitest";
import { encodeCommand } from "../../../src/scheduler/commands.js";
import { TableError, TaskTable } from "../../../src/scheduler/table.js";
import { Log } from "./helpers.js";

function task(log: Log, id: string) {
  const t = log.table.getTask(id);
  if (t === undefined) throw new Error(`no task ${id}`);
  return t;
}

describe("submit", () => {
  it("creates a pending task with the contract's fields", () => {
    const log = new Log();
    const r = log.submit("a", { priority: 2, maxAttempts: 5, payload: { sleepMs: 1 } });
    expect(r).toMatchObject({ ok: true, created: true });
    expect(task(log, "a")).toEqual({
      id: "a",
      state: "pending",
      worker: null,
      attempt: 0,
      payload: { sleepMs: 1 },
      priority: 2,
      maxAttempts: 5,
      requires: [],
      timeoutMs: null,
      runAt: null,
      createdIndex: 1,
      updatedIndex: 1,
    });
    expect(Object.keys(task(log, "a"))).toEqual([
      "id", "state", "worker", "attempt", "payload", "priority", "maxAttempts", "requires", "timeoutMs", "runAt",
      "createdIndex", "updatedIndex",
    ]);
  });

  it("deduplicates by id: the same id again changes nothing and says so", () => {
    const log = new Log();
    log.submit("a", { payload: 1 });
    const before = log.table.snapshot();
    const r = log.submit("a", { payload: 2, priority: 9 });
    expect(r).toMatchObject({ ok: true, created: false, task: { id: "a", payload: 1, priority: 0, createdIndex: 1 } });
    expect(log.table.counts().total).toBe(1);
    // Only the applied index moved.
    const again = TaskTable.restore(before);
    expect(again.getTask("a")).toEqual(log.table.getTask("a"));
  });
});

describe("assign", () => {
  it("moves pending to assigned with attempt 1 and counts the worker's active tasks", () => {
    const log = new Log();
    log.up("n1", 2);
    log.submit("a");
    const r = log.assign("a", "n1", 1);
    expect(r).toEqual({ ok: true, assigned: [{ taskId: "a", worker: "n1", attempt: 1 }] });
    expect(task(log, "a")).toMatchObject({ state: "assigned", worker: "n1", attempt: 1, updatedIndex: 3 });
    expect(log.table.getWorker("n1")).toMatchObject({ active: 1, capacity: 2, alive: true });
    expect(log.table.counts()).toMatchObject({ pending: 0, assigned: 1 });
  });

  it("skips, deterministically, entries that no longer apply", () => {
    const log = new Log();
    log.up("n1", 1);
    log.up("n2", 1);
    log.up("gone", 4);
    log.run({ type: "workerDead", worker: "gone", nowMs: 0 });
    for (const id of ["a", "b", "c", "d", "e"]) log.submit(id);
    log.run({ type: "cancel", id: "e" });
    const r = log.run({
      type: "assign",
      assignments: [
        { taskId: "a", worker: "n1", attempt: 1 },
        { taskId: "a", worker: "n2", attempt: 1 }, // already assigned by the entry above
        { taskId: "b", worker: "n1", attempt: 1 }, // n1 is full now
        { taskId: "c", worker: "n2", attempt: 2 }, // wrong attempt
        { taskId: "d", worker: "gone", attempt: 1 }, // dead worker
        { taskId: "d", worker: "nobody", attempt: 1 }, // unknown worker
        { taskId: "e", worker: "n2", attempt: 1 }, // cancelled
        { taskId: "zz", worker: "n2", attempt: 1 }, // unknown task
        { taskId: "b", worker: "n2", attempt: 1 },
      ],
    });
    expect(r).toEqual({
      ok: true,
      assigned: [
        { taskId: "a", worker: "n1", attempt: 1 },
        { taskId: "b", worker: "n2", attempt: 1 },
      ],
    });
    expect(log.table.counts()).toMatchObject({ pending: 2, assigned: 2, cancelled: 1 });
  });

  it("records the round-robin cursor only when the command carries one", () => {
    const log = new Log();
    expect(log.table.rrCursor).toBeNull();
    log.run({ type: "assign", assignments: [], rrCursor: "n2" });
    expect(log.table.rrCursor).toBe("n2");
    log.run({ type: "assign", assignments: [] });
    expect(log.table.rrCursor).toBe("n2");
  });
});

describe("complete and fail", () => {
  function assigned(maxAttempts = 3): Log {
    const log = new Log();
    log.up("n1");
    log.up("n2");
    log.submit("a", { maxAttempts });
    log.assign("a", "n1", 1);
    return log;
  }

  it("completes the current attempt and stores the result", () => {
    const log = assigned();
    const r = log.run({ type: "complete", id: "a", attempt: 1, result: { out: 42 } });
    expect(r).toMatchObject({ ok: true, task: { state: "completed", worker: "n1", attempt: 1, result: { out: 42 } } });
    expect(log.table.getWorker("n1")!.active).toBe(0);
  });

  it("answers a repeated completion of the same attempt, refuses other attempts", () => {
    const log = assigned();
    log.run({ type: "complete", id: "a", attempt: 1, result: 1 });
    expect(log.run({ type: "complete", id: "a", attempt: 1, result: 2 })).toMatchObject({ ok: true, task: { result: 1 } });
    expect(log.run({ type: "complete", id: "a", attempt: 2 })).toMatchObject({ ok: false, code: "STALE_ATTEMPT" });
    expect(log.run({ type: "fail", id: "a", attempt: 1, retryAtMs: 0 })).toMatchObject({ ok: false, code: "STALE_ATTEMPT" });
  });

  it("refuses a stale attempt after a reassignment (fencing)", () => {
    const log = assigned();
    log.run({ type: "workerDead", worker: "n1", nowMs: 1 });
    log.assign("a", "n2", 2);
    const before = log.table.snapshot();
    const r = log.run({ type: "complete", id: "a", attempt: 1, result: "late" });
    expect(r).toMatchObject({ ok: false, code: "STALE_ATTEMPT", task: { state: "assigned", worker: "n2", attempt: 2 } });
    expect(log.run({ type: "fail", id: "a", attempt: 1, retryAtMs: 0 })).toMatchObject({ ok: false, code: "STALE_ATTEMPT" });
    expect(TaskTable.restore(before).getTask("a")).toEqual(log.table.getTask("a"));
    expect(log.run({ type: "complete", id: "a", attempt: 2, result: "ok" })).toMatchObject({
      ok: true,
      task: { state: "completed", worker: "n2", attempt: 2, result: "ok" },
    });
  });

  it("refuses completion of a pending task (not assigned) and of unknown tasks", () => {
    const log = new Log();
    log.submit("a");
    expect(log.run({ type: "complete", id: "a", attempt: 1 })).toMatchObject({ ok: false, code: "STALE_ATTEMPT" });
    expect(log.run({ type: "complete", id: "nope", attempt: 1 })).toMatchObject({ ok: false, code: "NOT_FOUND" });
    expect(log.run({ type: "fail", id: "nope", attempt: 1, retryAtMs: 0 })).toMatchObject({ ok: false, code: "NOT_FOUND" });
  });

  it("retries a failed attempt with the leader's retry time, then goes dead with the last error", () => {
    const log = assigned(2);
    const r1 = log.run({ type: "fail", id: "a", attempt: 1, error: "first", retryAtMs: 5000 });
    expect(r1).toMatchObject({ ok: true, task: { state: "pending", worker: null, attempt: 1, error: "first" } });
    expect([...log.table.pendingEntries()].map((e) => [e.id, e.retryAtMs])).toEqual([["a", 5000]]);
    expect(log.table.getWorker("n1")!.active).toBe(0);
    log.assign("a", "n2", 2);
    const r2 = log.run({ type: "fail", id: "a", attempt: 2, error: { reason: "second" }, retryAtMs: 9000 });
    expect(r2).toMatchObject({ ok: true, task: { state: "dead", worker: "n2", attempt: 2, error: { reason: "second" } } });
    expect(log.table.pendingQueue()).toEqual([]);
    expect(log.table.getWorker("n2")!.active).toBe(0);
    // A repeated failure report of the last attempt is answered with the dead task.
    expect(log.run({ type: "fail", id: "a", attempt: 2, retryAtMs: 0 })).toMatchObject({ ok: true, task: { state: "dead" } });
    expect(log.run({ type: "complete", id: "a", attempt: 2 })).toMatchObject({ ok: false, code: "STALE_ATTEMPT" });
  });

  it("a dead task carries its last error as lastError (and, for now, as error too)", () => {
    const log = assigned(1);
    const r = log.run({ type: "fail", id: "a", attempt: 1, error: { code: "E", message: "m" }, retryAtMs: 0 });
    expect(r.ok && r.task).toMatchObject({ state: "dead", lastError: { code: "E", message: "m" }, error: { code: "E", message: "m" } });
    expect(log.table.getTask("a")).toMatchObject({ lastError: { code: "E", message: "m" } });
  });

  it("maxAttempts 1: the first failure is final", () => {
    const log = assigned(1);
    expect(log.run({ type: "fail", id: "a", attempt: 1, retryAtMs: 0 })).toMatchObject({ ok: true, task: { state: "dead" } });
  });

  it("a completion after a failure clears the error", () => {
    const log = assigned();
    log.run({ type: "fail", id: "a", attempt: 1, error: "x", retryAtMs: 0 });
    log.assign("a", "n1", 2);
    const r = log.run({ type: "complete", id: "a", attempt: 2 });
    expect(r.ok && r.task).not.toHaveProperty("error");
    expect(r.ok && r.task).not.toHaveProperty("lastError");
    expect(r.ok && r.task).not.toHaveProperty("result");
  });
});

describe("cancel", () => {
  it("cancels pending and assigned tasks, leaves terminal ones unchanged, NOT_FOUND for unknown", () => {
    const log = new Log();
    log.up("n1");
    log.submit("p");
    log.submit("a");
    log.submit("c");
    log.assign("a", "n1", 1);
    log.assign("c", "n1", 1);
    log.run({ type: "complete", id: "c", attempt: 1 });
    expect(log.run({ type: "cancel", id: "p" })).toMatchObject({ ok: true, task: { state: "cancelled", worker: null } });
    expect(log.run({ type: "cancel", id: "a" })).toMatchObject({ ok: true, task: { state: "cancelled", worker: "n1", attempt: 1 } });
    expect(log.table.getWorker("n1")!.active).toBe(0);
    const completed = log.table.getTask("c");
    expect(log.run({ type: "cancel", id: "c" })).toEqual({ ok: true, task: completed });
    expect(log.run({ type: "cancel", id: "zz" })).toMatchObject({ ok: false, code: "NOT_FOUND" });
    // The worker of a cancelled attempt is fenced off.
    expect(log.run({ type: "complete", id: "a", attempt: 1 })).toMatchObject({ ok: false, code: "STALE_ATTEMPT" });
    expect(log.table.pendingQueue()).toEqual([]);
  });
});

describe("workers", () => {
  it("worker dead → its tasks pending (attempt unchanged) → reassigned with attempt + 1", () => {
    const log = new Log();
    log.up("n1");
    log.up("n2");
    log.submit("a");
    log.submit("b");
    log.submit("c");
    log.assign("a", "n1", 1);
    log.assign("b", "n1", 1);
    log.assign("c", "n2", 1);
    const r = log.run({ type: "workerDead", worker: "n1", nowMs: 77 });
    expect(r).toEqual({ ok: true, requeued: ["a", "b"] });
    expect(task(log, "a")).toMatchObject({ state: "pending", worker: null, attempt: 1 });
    expect(log.table.getWorker("n1")).toEqual({ id: "n1", alive: false, active: 0, capacity: 4, changedAtMs: 77, tags: [] });
    expect(log.table.workersWithUnfinishedTasks()).toEqual(["n2"]);
    expect(log.assign("a", "n2", 1)).toEqual({ ok: true, assigned: [] });
    expect(log.assign("a", "n2", 2)).toMatchObject({ assigned: [{ taskId: "a", worker: "n2", attempt: 2 }] });
    expect(log.table.assignedTaskIds("n2")).toEqual(["a", "c"]);
    // A dead worker gets nothing until it is up again.
    expect(log.assign("b", "n1", 2)).toEqual({ ok: true, assigned: [] });
    log.up("n1", 8);
    expect(log.table.getWorker("n1")).toMatchObject({ alive: true, capacity: 8 });
    expect(log.assign("b", "n1", 2)).toMatchObject({ assigned: [{ taskId: "b", worker: "n1", attempt: 2 }] });
  });

  it("worker removed: its tasks go pending and it disappears from the list", () => {
    const log = new Log();
    log.up("n1");
    log.up("n2");
    log.submit("a");
    log.assign("a", "n1", 1);
    expect(log.run({ type: "workerRemoved", worker: "n1" })).toEqual({ ok: true, requeued: ["a"] });
    expect(log.table.workers().map((w) => w.id)).toEqual(["n2"]);
    expect(log.run({ type: "workerRemoved", worker: "n1" })).toMatchObject({ ok: false, code: "NOT_FOUND" });
    expect(log.run({ type: "workerDead", worker: "n1", nowMs: 0 })).toMatchObject({ ok: false, code: "NOT_FOUND" });
  });

  it("lists workers in id order whatever the registration order", () => {
    const log = new Log();
    for (const id of ["n3", "n10", "n1"]) log.up(id);
    expect(log.table.workers().map((w) => w.id)).toEqual(["n1", "n10", "n3"]);
  });
});

describe("queries", () => {
  it("orders the pending queue by priority desc then FIFO; retried tasks keep their place", () => {
    const log = new Log();
    log.up("n1");
    log.submit("low1", { priority: 0 });
    log.submit("high", { priority: 5 });
    log.submit("low2", { priority: 0 });
    log.submit("neg", { priority: -1 });
    log.submit("high2", { priority: 5 });
    expect(log.table.pendingQueue().map((t) => t.id)).toEqual(["high", "high2", "low1", "low2", "neg"]);
    log.assign("low1", "n1", 1);
    expect(log.table.pendingQueue(2).map((t) => t.id)).toEqual(["high", "high2"]);
    log.run({ type: "fail", id: "low1", attempt: 1, retryAtMs: 0 });
    expect(log.table.pendingQueue().map((t) => t.id)).toEqual(["high", "high2", "low1", "low2", "neg"]);
  });

  it("pages through tasks in id order with filters by state and worker", () => {
    const log = new Log();
    log.up("n1", 100);
    log.up("n2", 100);
    const ids = Array.from({ length: 250 }, (_, i) => `t${String(i).padStart(3, "0")}`);
    for (const id of [...ids].reverse()) log.submit(id);
    ids.forEach((id, i) => {
      if (i % 3 === 0) log.assign(id, "n1", 1);
      else if (i % 3 === 1) log.assign(id, "n2", 1);
    });
    for (const id of ids.filter((_, i) => i % 6 === 0)) log.run({ type: "complete", id, attempt: 1 });

    const collect = (opts: { state?: "pending" | "assigned" | "completed"; worker?: string; limit?: number }) => {
      const out: string[] = [];
      let after: string | undefined;
      for (;;) {
        const page = log.table.listTasks({ ...opts, ...(after === undefined ? {} : { after }) });
        expect(page.tasks.length).toBeLessThanOrEqual(opts.limit ?? 100);
        out.push(...page.tasks.map((t) => t.id));
        if (page.next === null) return out;
        after = page.next;
      }
    };
    expect(collect({})).toEqual(ids);
    expect(collect({ limit: 7 })).toEqual(ids);
    expect(collect({ state: "pending", limit: 10 })).toEqual(ids.filter((_, i) => i % 3 === 2));
    expect(collect({ worker: "n1", limit: 9 })).toEqual(ids.filter((_, i) => i % 3 === 0));
    expect(collect({ worker: "n1", state: "assigned", limit: 9 })).toEqual(ids.filter((_, i) => i % 3 === 0 && i % 6 !== 0));
    expect(collect({ state: "completed" })).toEqual(ids.filter((_, i) => i % 6 === 0));
    expect(log.table.listTasks({ worker: "nobody" })).toEqual({ tasks: [], next: null });
    expect(log.table.listTasks({ limit: 5000 }).tasks.length).toBe(250);
    expect(log.table.listTasks({ limit: 0 }).tasks.length).toBe(1);
    const last = log.table.listTasks({ limit: 250 });
    expect(last.next).toBeNull();
    expect(log.table.listTasks({ after: "t100", limit: 1 }).tasks[0]!.id).toBe("t101");
    expect(log.table.listTasks({ after: "t100x", limit: 1 }).tasks[0]!.id).toBe("t101");
  });

  it("counts tasks by state", () => {
    const log = new Log();
    log.up("n1");
    log.submit("a");
    log.submit("b");
    log.assign("a", "n1", 1);
    expect(log.table.counts()).toEqual({ pending: 1, assigned: 1, completed: 0, dead: 0, cancelled: 0, total: 2 });
  });

  it("returns copies: changing an answer does not change the table", () => {
    const log = new Log();
    log.submit("a");
    const t = log.table.getTask("a") as { state: string };
    t.state = "completed";
    expect(log.table.getTask("a")!.state).toBe("pending");
  });
});

describe("apply order and bad entries", () => {
  it("throws APPLY_ORDER on a repeated or decreasing index", () => {
    const table = new TaskTable();
    table.apply(5, { type: "cancel", id: "x" });
    expect(() => table.apply(5, { type: "cancel", id: "x" })).toThrow(TableError);
    expect(() => table.apply(3, { type: "cancel", id: "x" })).toThrow(/APPLY_ORDER|after index 5/);
    expect(table.lastAppliedIndex).toBe(5);
  });

  it("applies undecodable entry data as a BAD_COMMAND no-op", () => {
    const table = new TaskTable();
    expect(table.applyEntry(1, new Uint8Array([0xc1]))).toMatchObject({ ok: false, code: "BAD_COMMAND" });
    expect(table.applyEntry(2, encodeCommand({ type: "submit", id: "a", payload: 1, priority: 0, maxAttempts: 1, nowMs: 0 }))).toMatchObject({
      ok: true,
      created: true,
    });
    expect(table.lastAppliedIndex).toBe(2);
    expect(() => table.applyEntry(2, new Uint8Array([0xc1]))).toThrow(TableError);
  });
});
