// The executor reports what the leader can accept: a handler's result or error that the API would refuse (nested
// too deep, too big) becomes a failure naming the problem, instead of a report retried forever.
import pino from "pino";
import { describe, expect, it } from "vitest";
import { MAX_OUTCOME_BYTES, type Outcome, TaskExecutor, type TaskHandler } from "../../../src/node/task-executor.js";
import type { Task } from "../../../src/scheduler/types.js";

const task: Task = { id: "t1", state: "assigned", worker: "n1", attempt: 1, payload: {}, priority: 0, maxAttempts: 3, requires: [], timeoutMs: null, runAt: null, createdIndex: 1, updatedIndex: 2 };

/** Runs `handler` on one assigned task and returns the first outcome reported. */
async function outcomeOf(handler: TaskHandler): Promise<Outcome> {
  let resolve!: (o: Outcome) => void;
  const reported = new Promise<Outcome>((r) => (resolve = r));
  const ex = new TaskExecutor({
    selfId: "n1",
    capacity: 1,
    logger: pino({ level: "silent" }),
    assignedToMe: () => [task],
    lookup: () => task,
    report: async (_id, _attempt, outcome) => resolve(outcome),
  });
  ex.setHandler(handler);
  ex.reconcile();
  try {
    return await reported;
  } finally {
    ex.stop();
  }
}

function nested(depth: number): unknown {
  let v: unknown = 1;
  for (let i = 0; i < depth; i++) v = [v];
  return v;
}

describe("TaskExecutor outcomes", () => {
  it("reports a JSON result as a completion", async () => {
    expect(await outcomeOf(async () => ({ ok: true, n: [1, 2] }))).toEqual({ kind: "complete", result: { ok: true, n: [1, 2] } });
  });

  it("reports a thrown error as a failure with its code", async () => {
    const o = await outcomeOf(async () => {
      throw Object.assign(new Error("boom"), { code: "E_BOOM" });
    });
    expect(o).toEqual({ kind: "fail", error: { code: "E_BOOM", message: "boom" } });
  });

  it("keeps the fields of a thrown non-Error object (not \"[object Object]\")", async () => {
    const o = await outcomeOf(async () => {
      throw { code: "MY_CODE", detail: 7 };
    });
    expect(o).toEqual({ kind: "fail", error: { code: "MY_CODE", detail: 7, message: "the handler threw an object that is not an Error" } });
  });

  it("turns a result nested deeper than the limit into a BAD_RESULT failure", async () => {
    const o = await outcomeOf(async () => nested(100));
    expect(o.kind).toBe("fail");
    expect(o.kind === "fail" && o.error).toMatchObject({ code: "BAD_RESULT", message: expect.stringMatching(/result.*nested deeper than 64/) });
  });

  it("turns a result too big to report into a BAD_RESULT failure", async () => {
    const o = await outcomeOf(async () => "x".repeat(MAX_OUTCOME_BYTES + 1));
    expect(o.kind === "fail" && o.error).toMatchObject({ code: "BAD_RESULT", message: expect.stringMatching(/result is \d+ bytes as JSON/) });
  });

  it("turns an error message too big to report into a BAD_RESULT failure", async () => {
    const o = await outcomeOf(async () => {
      throw new Error("y".repeat(MAX_OUTCOME_BYTES));
    });
    expect(o.kind === "fail" && o.error).toMatchObject({ code: "BAD_RESULT", message: expect.stringMatching(/error is \d+ bytes/) });
  });
});

describe("TaskExecutor aborts", () => {
  it("fires the handler's AbortSignal with code TIMEOUT when the leader failed the attempt for its timeoutMs", async () => {
    let current: Task = task;
    let reason: unknown;
    const aborted = new Promise<void>((resolve) => {
      const ex = new TaskExecutor({
        selfId: "n1",
        capacity: 1,
        logger: pino({ level: "silent" }),
        assignedToMe: () => (current.state === "assigned" ? [current] : []),
        lookup: () => current,
        report: async () => undefined,
      });
      ex.setHandler(
        (ctx) =>
          new Promise((_, reject) =>
            ctx.signal.addEventListener("abort", () => {
              reason = ctx.signal.reason;
              resolve();
              reject(ctx.signal.reason);
            }),
          ),
      );
      ex.reconcile();
      // The leader's TIMEOUT fail is applied: the task is pending again with that error, at the same attempt.
      current = { ...task, state: "pending", worker: null, lastError: { code: "TIMEOUT", message: "attempt 1 ran past timeoutMs 5" } };
      ex.reconcile();
      setTimeout(() => ex.stop(), 50);
    });
    await aborted;
    expect(reason).toMatchObject({ code: "TIMEOUT" });
  });
});
