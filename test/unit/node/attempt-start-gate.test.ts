// The start gate and slot rule of issue #17 (src/node/attempt-start-gate.ts), and the executor that uses them.
import pino from "pino";
import { describe, expect, it } from "vitest";
import { attemptStartGate, freeSlots, mayStartTaskHere } from "../../../src/node/attempt-start-gate.js";
import { TaskExecutor, type TaskHandler } from "../../../src/node/task-executor.js";
import type { Task } from "../../../src/scheduler/types.js";

describe("attemptStartGate", () => {
  it("stays shut until the leader confirmed a commit index in this term and it is applied", () => {
    expect(attemptStartGate({ confirmed: null, appliedIndex: 50, currentTerm: 3 })).toMatchObject({ open: false, askLeader: true });
    expect(attemptStartGate({ confirmed: { index: 60, term: 3 }, appliedIndex: 50, currentTerm: 3 })).toMatchObject({ open: false, askLeader: false });
    expect(attemptStartGate({ confirmed: { index: 60, term: 3 }, appliedIndex: 60, currentTerm: 3 })).toEqual({ open: true });
    expect(attemptStartGate({ confirmed: { index: 60, term: 2 }, appliedIndex: 70, currentTerm: 3 })).toMatchObject({ open: false, askLeader: true });
  });

  it("counts aborted handlers that have not returned as taken slots", () => {
    expect(freeSlots({ capacity: 2, running: 1, draining: 1 })).toBe(0);
    expect(freeSlots({ capacity: 2, running: 0, draining: 3 })).toBe(0);
    expect(freeSlots({ capacity: 4, running: 1, draining: 1 })).toBe(2);
    expect(mayStartTaskHere("t1", new Set(["t1"]))).toBe(false);
    expect(mayStartTaskHere("t2", new Set(["t1"]))).toBe(true);
  });
});

function task(id: string, attempt: number): Task {
  return { id, state: "assigned", worker: "n1", attempt, payload: {}, priority: 0, maxAttempts: 3, requires: [], timeoutMs: null, runAt: null, createdIndex: 1, updatedIndex: 2 };
}

const tick = () => new Promise((r) => setImmediate(r));

describe("TaskExecutor with the gate and slots", () => {
  it("starts nothing from its table until the leader's commit index is confirmed and applied", async () => {
    const started: string[] = [];
    let confirm!: (c: { index: number; term: number }) => void;
    let applied = 5;
    const table = new Map([["t1", task("t1", 1)]]);
    const ex = new TaskExecutor({
      selfId: "n1",
      capacity: 2,
      logger: pino({ level: "silent" }),
      assignedToMe: () => [...table.values()].filter((t) => t.state === "assigned" && t.worker === "n1"),
      lookup: (id) => table.get(id),
      report: async () => {},
      confirmCommit: () => new Promise((r) => (confirm = r)),
      currentTerm: () => 4,
      appliedIndex: () => applied,
    });
    ex.setHandler((t) => {
      started.push(`${t.id}#${t.attempt}`);
      return new Promise(() => {});
    });
    ex.reconcile();
    expect(started).toEqual([]);
    // The leader's answer shows the node is behind: catching up, it learns t1 went elsewhere.
    confirm({ index: 9, term: 4 });
    await tick();
    ex.reconcile();
    expect(started).toEqual([]);
    table.set("t1", { ...task("t1", 2), worker: "n2" });
    table.set("t2", task("t2", 1));
    applied = 9;
    ex.reconcile();
    expect(started).toEqual(["t2#1"]);
    ex.stop();
  });

  it("keeps an aborted handler's slot until it returns, and no second attempt of its task starts meanwhile", async () => {
    const started: string[] = [];
    const returns = new Map<string, () => void>();
    const table = new Map([
      ["a", task("a", 1)],
      ["b", task("b", 1)],
    ]);
    const ex = new TaskExecutor({
      selfId: "n1",
      capacity: 2,
      logger: pino({ level: "silent" }),
      assignedToMe: () => [...table.values()].filter((t) => t.state === "assigned" && t.worker === "n1"),
      lookup: (id) => table.get(id),
      report: async () => {},
    });
    const handler: TaskHandler = (t) => {
      const key = `${t.id}#${t.attempt}`;
      started.push(key);
      // Returns only when the test says so, even after the abort (a handler cleaning up).
      return new Promise((resolve) => returns.set(key, () => resolve(null)));
    };
    ex.setHandler(handler);
    ex.reconcile();
    expect(started).toEqual(["a#1", "b#1"]);
    // "a" is cancelled and "c" arrives; then "b" comes back to us as attempt 2.
    table.set("a", { ...task("a", 1), state: "cancelled" });
    table.set("c", task("c", 1));
    table.set("b", task("b", 2));
    ex.reconcile();
    expect(ex.active).toBe(2);
    expect(started).toEqual(["a#1", "b#1"]);
    returns.get("a#1")!();
    await tick();
    await tick();
    ex.reconcile();
    // One slot free: "b" attempt 2 must still wait for attempt 1, so "c" takes it.
    expect(started).toEqual(["a#1", "b#1", "c#1"]);
    returns.get("b#1")!();
    returns.get("c#1")!();
    await tick();
    await tick();
    ex.reconcile();
    expect(started).toEqual(["a#1", "b#1", "c#1", "b#2"]);
    ex.stop();
  });
});
