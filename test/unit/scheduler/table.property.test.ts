// Property tests: random command sequences (built the way a leader builds them, from the table's current state,
// with deliberate stale attempts and duplicates) keep replicas byte-identical and keep the table's invariants.
import fc from "fast-check";
import { describe, expect, it } from "vitest";
import type { Command } from "../../../src/scheduler/commands.js";
import { decodeCommand, encodeCommand } from "../../../src/scheduler/commands.js";
import { TaskTable } from "../../../src/scheduler/table.js";
import type { Task, TaskState } from "../../../src/scheduler/types.js";

const TASKS = ["t0", "t1", "t2", "t3", "t4", "t5", "t6", "t7"];
const WORKERS = ["w0", "w1", "w2"];

type Op =
  | { k: "submit"; task: number; priority: number; maxAttempts: number }
  | { k: "assign"; pairs: [number, number, number][] }
  | { k: "complete"; task: number; skew: number }
  | { k: "fail"; task: number; skew: number; retryAtMs: number }
  | { k: "cancel"; task: number }
  | { k: "up"; worker: number; capacity: number }
  | { k: "dead"; worker: number }
  | { k: "removed"; worker: number };

const task = fc.integer({ min: 0, max: TASKS.length - 1 });
const worker = fc.integer({ min: 0, max: WORKERS.length - 1 });
// skew 0 = the current attempt; others = stale or future attempts.
const skew = fc.constantFrom(0, 0, 0, -1, 1);
const opArb: fc.Arbitrary<Op> = fc.oneof(
  { weight: 3, arbitrary: fc.record({ k: fc.constant("submit" as const), task, priority: fc.integer({ min: -2, max: 2 }), maxAttempts: fc.integer({ min: 1, max: 3 }) }) },
  { weight: 4, arbitrary: fc.record({ k: fc.constant("assign" as const), pairs: fc.array(fc.tuple(task, worker, skew), { minLength: 1, maxLength: 4 }) }) },
  { weight: 2, arbitrary: fc.record({ k: fc.constant("complete" as const), task, skew }) },
  { weight: 2, arbitrary: fc.record({ k: fc.constant("fail" as const), task, skew, retryAtMs: fc.nat(10_000) }) },
  { weight: 1, arbitrary: fc.record({ k: fc.constant("cancel" as const), task }) },
  { weight: 2, arbitrary: fc.record({ k: fc.constant("up" as const), worker, capacity: fc.integer({ min: 0, max: 3 }) }) },
  { weight: 1, arbitrary: fc.record({ k: fc.constant("dead" as const), worker }) },
  { weight: 1, arbitrary: fc.record({ k: fc.constant("removed" as const), worker }) },
);

/** Turns an abstract op into a concrete command, reading the (leader's) table as a leader would. */
function concretize(op: Op, table: TaskTable, step: number): Command {
  const attemptOf = (i: number): number => table.getTask(TASKS[i]!)?.attempt ?? 0;
  switch (op.k) {
    case "submit":
      return { type: "submit", id: TASKS[op.task]!, payload: { step, tags: [op.task, null] }, priority: op.priority, maxAttempts: op.maxAttempts, nowMs: step };
    case "assign":
      return {
        type: "assign",
        assignments: op.pairs.map(([t, w, s]) => ({ taskId: TASKS[t]!, worker: WORKERS[w]!, attempt: Math.max(1, attemptOf(t) + 1 + s) })),
        ...(step % 3 === 0 ? { rrCursor: WORKERS[op.pairs[0]![1]]! } : {}),
      };
    case "complete":
      return { type: "complete", id: TASKS[op.task]!, attempt: Math.max(1, attemptOf(op.task) + op.skew), result: { step } };
    case "fail":
      return { type: "fail", id: TASKS[op.task]!, attempt: Math.max(1, attemptOf(op.task) + op.skew), error: `e${step}`, retryAtMs: op.retryAtMs };
    case "cancel":
      return { type: "cancel", id: TASKS[op.task]! };
    case "up":
      return { type: "workerUp", worker: WORKERS[op.worker]!, capacity: op.capacity, nowMs: step };
    case "dead":
      return { type: "workerDead", worker: WORKERS[op.worker]!, nowMs: step };
    case "removed":
      return { type: "workerRemoved", worker: WORKERS[op.worker]! };
  }
}

function allTasks(table: TaskTable): Task[] {
  return table.listTasks({ limit: 1000 }).tasks;
}

function expectSameBytes(actual: Uint8Array, expected: Uint8Array): void {
  expect(Buffer.from(actual.buffer, actual.byteOffset, actual.byteLength).equals(expected)).toBe(true);
}

const TERMINAL: TaskState[] = ["completed", "dead", "cancelled"];

function checkInvariants(table: TaskTable, previous: Map<string, Task>): void {
  const tasks = allTasks(table);
  const workers = new Map(table.workers().map((w) => [w.id, w]));
  for (const t of tasks) {
    // One current attempt: an assigned task names exactly one registered, alive worker; a pending one none.
    if (t.state === "assigned") {
      expect(t.worker).not.toBeNull();
      expect(workers.get(t.worker!)?.alive).toBe(true);
      expect(t.attempt).toBeGreaterThanOrEqual(1);
    }
    if (t.state === "pending") expect(t.worker).toBeNull();
    const before = previous.get(t.id);
    if (before !== undefined) {
      expect(t.attempt).toBeGreaterThanOrEqual(before.attempt);
      if (TERMINAL.includes(before.state)) expect(t).toEqual(before);
    }
  }
  // Active per worker = its assigned tasks, by the index and by a full scan.
  for (const w of workers.values()) {
    const assigned = tasks.filter((t) => t.state === "assigned" && t.worker === w.id).map((t) => t.id);
    expect(w.active).toBe(assigned.length);
    expect(table.assignedTaskIds(w.id)).toEqual(assigned);
  }
  // The pending queue holds exactly the pending tasks, in priority/FIFO order.
  const queue = table.pendingQueue(1000);
  const expected = tasks
    .filter((t) => t.state === "pending")
    .sort((a, b) => b.priority - a.priority || a.createdIndex - b.createdIndex);
  expect(queue.map((t) => t.id)).toEqual(expected.map((t) => t.id));
  const counts = table.counts();
  expect(counts.total).toBe(tasks.length);
  expect(counts.pending + counts.assigned + counts.completed + counts.dead + counts.cancelled).toBe(counts.total);
  for (const state of ["pending", "assigned", "completed", "dead", "cancelled"] as const) {
    expect(table.listTasks({ state, limit: 1000 }).tasks.map((t) => t.id)).toEqual(tasks.filter((t) => t.state === state).map((t) => t.id));
  }
  previous.clear();
  for (const t of tasks) previous.set(t.id, t);
}

describe("task table properties", () => {
  it("replicas applying the same commands stay byte-identical, across restore, and keep the invariants", () => {
    fc.assert(
      fc.property(fc.array(opArb, { minLength: 30, maxLength: 150 }), fc.nat(), (ops, cut) => {
        const leader = new TaskTable();
        const follower = new TaskTable();
        const log: { index: number; data: Uint8Array }[] = [];
        const previous = new Map<string, Task>();
        let index = 0;
        for (const [step, op] of ops.entries()) {
          const command = concretize(op, leader, step);
          index += 1 + (step % 2); // gaps, as no-op and config entries leave in the log
          const data = encodeCommand(command);
          log.push({ index, data });
          const decoded = decodeCommand(data);
          expect(decoded.ok).toBe(true);
          const r1 = leader.apply(index, command);
          const r2 = follower.applyEntry(index, data);
          expect(r2).toEqual(r1);
          checkInvariants(leader, previous);
        }
        const bytes = leader.snapshot();
        expectSameBytes(follower.snapshot(), bytes);
        expectSameBytes(TaskTable.restore(bytes).snapshot(), bytes);

        // A replica that restores a snapshot taken midway and applies the rest ends identical too.
        const at = cut % log.length;
        const partial = new TaskTable();
        for (const e of log.slice(0, at)) partial.applyEntry(e.index, e.data);
        const restored = TaskTable.restore(partial.snapshot());
        for (const e of log.slice(at)) restored.applyEntry(e.index, e.data);
        expectSameBytes(restored.snapshot(), bytes);
        expect(allTasks(restored)).toEqual(allTasks(leader));
        expect(restored.workers()).toEqual(leader.workers());
        expect(restored.pendingQueue(1000)).toEqual(leader.pendingQueue(1000));
      }),
      { numRuns: 300 },
    );
  });
});
