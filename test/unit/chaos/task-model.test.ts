import fc from "fast-check";
import { describe, expect, it } from "vitest";
import { toOperations, type Operation } from "../../../src/chaos/history.js";
import { checkHistory, checkOperations, formatCounterexample } from "../../../src/chaos/linearizability.js";
import { taskModel, TaskModelError, type TaskInput, type TaskOutput, type TaskView } from "../../../src/chaos/task-model.js";
import { classifyTaskOutcome, taskOutcomeClassifier, taskOutputFromResponse } from "../../../src/chaos/task-outcome.js";
import { simulateWorkload } from "./task-sim.js";

type Op = Operation<TaskInput, TaskOutput>;
let nextOpId = 0;
/** One operation on task "t" (unless the input names another); ret null = outcome unknown. */
function op(call: number, ret: number | null, input: Partial<TaskInput> & { type: TaskInput["type"] }, output?: TaskOutput): Op {
  const opId = nextOpId++;
  const full = { id: "t", ...input } as TaskInput;
  if (ret === null) return { opId, clientId: opId, call, ret: Infinity, input: full };
  return { opId, clientId: opId, call, ret, input: full, output: output! };
}
const pending = (attempt: number): TaskView => ({ state: "pending", attempt, worker: null });
const assigned = (attempt: number, worker: string): TaskView => ({ state: "assigned", attempt, worker });
const completed = (attempt: number, worker: string): TaskView => ({ state: "completed", attempt, worker });
const created = (task: TaskView): TaskOutput => ({ status: 201, task });
const found = (task: TaskView): TaskOutput => ({ status: 200, task });
const notFound: TaskOutput = { status: 404, code: "NOT_FOUND" };
const stale: TaskOutput = { status: 409, code: "STALE_ATTEMPT" };
const submit = { type: "submit" } as const;
const get = { type: "get" } as const;
const complete = (attempt: number) => ({ type: "complete", attempt }) as const;
const fail = (attempt: number) => ({ type: "fail", attempt }) as const;
const cancel = { type: "cancel" } as const;

function verdict(ops: Op[]): boolean | "unknown" {
  return checkOperations(taskModel, ops).ok;
}

describe("task model: linearizable histories pass", () => {
  it("concurrent submits of one id: one 201, one 200 (in either answer order)", () => {
    expect(verdict([op(0, 10, submit, created(pending(0))), op(1, 5, submit, found(pending(0)))])).toBe(true);
    // The 200 may even be answered first: the 201's effect happened before it, its answer came later.
    expect(verdict([op(0, 10, submit, found(pending(0))), op(1, 12, submit, created(pending(0)))])).toBe(true);
  });

  it("an unknown submit: a later read may find the task, or not, or not yet", () => {
    expect(verdict([op(0, null, submit), op(5, 6, get, found(pending(0)))])).toBe(true);
    expect(verdict([op(0, null, submit), op(5, 6, get, notFound)])).toBe(true);
    expect(verdict([op(0, null, submit), op(5, 6, get, notFound), op(7, 8, get, found(assigned(1, "n1")))])).toBe(true);
    // A retry with the same id after a timeout answers 200: the first attempt had taken effect.
    expect(verdict([op(0, null, submit), op(5, 6, submit, found(pending(0)))])).toBe(true);
  });

  it("reads during assignment, reassignment and worker loss", () => {
    expect(
      verdict([
        op(0, 1, submit, created(pending(0))),
        op(2, 3, get, found(pending(0))),
        op(4, 5, get, found(assigned(1, "n1"))),
        op(6, 7, get, found(assigned(1, "n1"))),
        op(8, 9, get, found(pending(1))), // n1 died, task requeued
        op(10, 11, get, found(assigned(3, "n2"))), // two more assignments, unseen
        op(12, 13, complete(3), found(completed(3, "n2"))),
        op(14, 15, get, found(completed(3, "n2"))),
        op(16, 17, complete(3), stale), // a repeated completion of a finished attempt may be refused
      ]),
    ).toBe(true);
  });

  it("a submit's answer may already show the task assigned; a read may miss a concurrent assignment", () => {
    expect(verdict([op(0, 5, submit, created(assigned(1, "n2"))), op(6, 7, get, found(assigned(1, "n2")))])).toBe(true);
    expect(verdict([op(0, 1, submit, created(pending(0))), op(2, 10, get, found(pending(0))), op(3, 4, get, found(assigned(1, "n1")))])).toBe(true);
  });

  it("a stale worker's completion is refused, the current one accepted", () => {
    expect(
      verdict([
        op(0, 1, submit, created(pending(0))),
        op(2, 3, get, found(assigned(2, "n2"))),
        op(4, 5, complete(1), stale),
        op(6, 7, complete(2), found(completed(2, "n2"))),
      ]),
    ).toBe(true);
  });

  it("an unknown completion may or may not have taken effect", () => {
    const prefix = [op(0, 1, submit, created(pending(0))), op(2, 3, get, found(assigned(1, "n1"))), op(4, null, complete(1))];
    expect(verdict([...prefix, op(10, 11, get, found(completed(1, "n1")))])).toBe(true);
    expect(verdict([...prefix, op(10, 11, get, found(assigned(2, "n3")))])).toBe(true);
  });

  it("fail sends the task back for a retry or kills it; cancel stops it", () => {
    expect(
      verdict([
        op(0, 1, submit, created(pending(0))),
        op(2, 3, get, found(assigned(1, "n1"))),
        op(4, 5, fail(1), found(pending(1))),
        op(6, 7, get, found(assigned(2, "n2"))),
        op(8, 9, cancel, found({ state: "cancelled", attempt: 2, worker: "n2" })),
        op(10, 11, cancel, { status: 409, code: "FINISHED" }),
        op(12, 13, get, found({ state: "cancelled", attempt: 2, worker: "n2" })),
      ]),
    ).toBe(true);
  });

  it("an unknown cancel may have hit the task at any later attempt", () => {
    expect(
      verdict([
        op(0, 1, submit, created(pending(0))),
        op(2, null, cancel),
        op(5, 6, get, found(assigned(3, "n1"))),
        op(7, 8, get, found({ state: "cancelled", attempt: 3, worker: "n1" })),
      ]),
    ).toBe(true);
  });

  it("a 409 on complete proves the task had moved on, which a later read may confirm", () => {
    expect(
      verdict([
        op(0, 1, submit, created(pending(0))),
        op(2, 3, get, found(assigned(1, "n1"))),
        op(4, 5, complete(1), stale),
        op(6, 7, get, found(assigned(2, "n2"))),
      ]),
    ).toBe(true);
  });
});

describe("task model: planted anomalies are caught", () => {
  function caught(ops: Op[]): string {
    const result = checkOperations(taskModel, ops);
    expect(result.ok).toBe(false);
    return result.ok === false ? formatCounterexample(taskModel, result.counterexample) : "";
  }

  it("a read that misses an acknowledged submit", () => {
    const text = caught([op(0, 1, submit, created(pending(0))), op(2, 3, get, notFound)]);
    expect(text).toMatch(/cannot be placed next: .*get t -> 404/);
    // Also when the acknowledgement was a 200 to a retry, or the task was only ever seen by a read.
    caught([op(0, null, submit), op(1, 2, submit, found(pending(0))), op(3, 4, get, notFound)]);
    caught([op(0, null, submit), op(1, 2, get, found(pending(0))), op(3, 4, get, notFound)]);
  });

  it("a completion accepted for a stale attempt", () => {
    caught([
      op(0, 1, submit, created(pending(0))),
      op(2, 3, get, found(assigned(2, "n2"))),
      op(4, 5, complete(1), found(completed(1, "n1"))),
    ]);
    caught([op(0, 1, submit, created(pending(0))), op(2, 3, get, found(assigned(2, "n2"))), op(4, 5, fail(1), found(pending(1)))]);
    // Two completions of different attempts both accepted.
    caught([
      op(0, 1, submit, created(pending(0))),
      op(2, 3, complete(1), found(completed(1, "n1"))),
      op(4, 5, complete(2), found(completed(2, "n2"))),
    ]);
  });

  it("a task created twice", () => {
    caught([op(0, 10, submit, created(pending(0))), op(1, 11, submit, created(pending(0)))]);
    caught([op(0, 1, submit, created(pending(0))), op(2, 3, get, found(pending(0))), op(4, 5, submit, created(pending(0)))]);
    // A 200 "existing" for a task that nobody created.
    caught([op(0, 1, submit, found(pending(0)))]);
  });

  it("a read that goes backwards", () => {
    caught([op(0, 1, submit, created(pending(0))), op(2, 3, get, found(assigned(2, "n1"))), op(4, 5, get, found(assigned(1, "n1")))]);
    caught([op(0, 1, submit, created(pending(0))), op(2, 3, get, found(completed(1, "n1"))), op(4, 5, get, found(assigned(1, "n1")))]);
    // Assigned again without a new attempt.
    caught([op(0, 1, submit, created(pending(0))), op(2, 3, get, found(pending(1))), op(4, 5, get, found(assigned(1, "n1")))]);
  });

  it("two current attempts: one attempt on two workers", () => {
    caught([op(0, 1, submit, created(pending(0))), op(2, 3, get, found(assigned(1, "n1"))), op(4, 5, get, found(assigned(1, "n2")))]);
  });

  it("the current attempt's completion refused", () => {
    caught([
      op(0, 1, submit, created(pending(0))),
      op(2, 3, get, found(assigned(1, "n1"))),
      op(4, 5, complete(1), stale),
      op(6, 7, get, found(assigned(1, "n1"))),
    ]);
  });

  it("a cancelled task nobody cancelled, and a wrong payload", () => {
    caught([op(0, 1, submit, created(pending(0))), op(2, 3, get, found({ state: "cancelled", attempt: 0 }))]);
    caught([
      op(0, 1, { type: "submit", payload: { n: 1 } }, created({ state: "pending", attempt: 0, payload: { n: 1 } })),
      op(2, 3, { type: "submit", payload: { n: 2 } }, found({ state: "pending", attempt: 0, payload: { n: 2 } })),
    ]);
  });

  it("the anomaly in one task id does not hide behind healthy ones", () => {
    const healthy = Array.from({ length: 50 }, (_, i) => op(i, i + 1, { type: "submit", id: `ok${i}` }, created(pending(0))));
    const bad = [op(0, 1, { type: "submit", id: "bad" }, created(pending(0))), op(2, 3, { type: "get", id: "bad" }, notFound)];
    const result = checkOperations(taskModel, [...healthy, ...bad]);
    expect(result.ok).toBe(false);
    if (result.ok === false) expect(result.counterexample.partition.map((o) => o.input.id)).toEqual(["bad", "bad"]);
  });
});

describe("task outcomes", () => {
  it("classifies answers: 400/401/413 dropped, 5xx and no answer unknown, the rest observed", () => {
    const input: TaskInput = { type: "get", id: "t" };
    expect(classifyTaskOutcome(input, { status: 401 })).toBe("drop");
    expect(classifyTaskOutcome(input, { status: 400 })).toBe("drop");
    expect(classifyTaskOutcome(input, { status: 503, code: "NO_LEADER" })).toBe("unknown");
    expect(classifyTaskOutcome(input, { status: 0 })).toBe("unknown");
    expect(classifyTaskOutcome(input, { status: 409 })).toBe("observed");
    expect(taskOutcomeClassifier({ notExecuted503Codes: ["NO_LEADER"] })(input, { status: 503, code: "NO_LEADER" })).toBe("drop");
  });

  it("refuses to judge an answer the classifier should have handled", () => {
    expect(() => checkOperations(taskModel, [op(0, 1, submit, { status: 503 })])).toThrow(TaskModelError);
  });

  it("extracts the task view or the error code from an HTTP answer", () => {
    const body = { id: "t", state: "assigned", attempt: 2, worker: "n1", payload: { a: 1 }, priority: 0 };
    expect(taskOutputFromResponse(200, body)).toEqual({ status: 200, task: { state: "assigned", attempt: 2, worker: "n1", payload: { a: 1 } } });
    expect(taskOutputFromResponse(200, body, { includePayload: false })).toEqual({
      status: 200,
      task: { state: "assigned", attempt: 2, worker: "n1" },
    });
    expect(taskOutputFromResponse(409, { error: { code: "STALE_ATTEMPT", message: "x" } })).toEqual({ status: 409, code: "STALE_ATTEMPT", message: "x" });
    expect(taskOutputFromResponse(0, undefined)).toEqual({ status: 0 });
  });
});

describe("task model on simulated workloads", () => {
  it("accepts every history of a linearizable reference cluster", () => {
    fc.assert(
      fc.property(fc.integer({ min: 0, max: 2 ** 31 - 1 }), (seed) => {
        const { events } = simulateWorkload({ seed, operations: 300, ids: 20, clients: 6, giveUpRate: 0.08 });
        const result = checkHistory(taskModel, events, { classify: classifyTaskOutcome });
        if (result.ok !== true) {
          throw new Error(
            result.ok === false ? formatCounterexample(taskModel, result.counterexample) : "checker timed out",
          );
        }
      }),
      { numRuns: 60 },
    );
  });

  it("catches a planted lost task or backwards read in an otherwise linearizable history", () => {
    fc.assert(
      fc.property(fc.integer({ min: 0, max: 2 ** 31 - 1 }), fc.boolean(), (seed, lose) => {
        const { events } = simulateWorkload({ seed, operations: 200, ids: 10, clients: 5, giveUpRate: 0.05 });
        const ops = toOperations(events, { classify: classifyTaskOutcome });
        // Plant after the last answered observation of some task: a 404, or the attempt before.
        const seen = ops.filter((o) => o.output?.task !== undefined && o.ret !== Infinity);
        const target = seen[seen.length - 1];
        if (target === undefined) return;
        const end = Math.max(...ops.map((o) => (o.ret === Infinity ? o.call : o.ret)));
        const shown = target.output!.task!;
        const planted: Op = {
          opId: -1,
          clientId: "planted",
          call: end + 1,
          ret: end + 2,
          input: { type: "get", id: target.input.id },
          output: lose || shown.attempt === 0 ? notFound : found({ state: "pending", attempt: shown.attempt - 1 }),
        };
        expect(checkOperations(taskModel, ops).ok).toBe(true);
        expect(checkOperations(taskModel, [...ops, planted]).ok).toBe(false);
      }),
      { numRuns: 40 },
    );
  });

  it("checks 10,000 operations over 500 task ids quickly", () => {
    const { events } = simulateWorkload({ seed: 42, operations: 10_000, ids: 500, clients: 40, giveUpRate: 0.03 });
    const started = performance.now();
    const result = checkHistory(taskModel, events, { classify: classifyTaskOutcome });
    const elapsedMs = performance.now() - started;
    expect(result.ok).toBe(true);
    expect(result.stats.operations).toBeGreaterThan(9_000); // unanswered reads are dropped
    console.log(
      `linearizability: ${result.stats.operations} ops in ${result.stats.partitions} partitions ` +
        `(largest ${result.stats.largestPartition}) checked in ${elapsedMs.toFixed(0)} ms`,
    );
  });
});

describe("task model: a retried failure of the final attempt", () => {
  const dead = (attempt: number, worker: string): TaskView => ({ state: "dead", attempt, worker });
  it("may answer 200 showing the task dead, unchanged (the table answers retries, as for complete)", () => {
    expect(
      verdict([
        op(0, 1, submit, created(pending(0))),
        op(2, 3, get, found(assigned(3, "n3"))),
        op(4, 5, get, found(dead(3, "n3"))),
        op(6, 7, fail(3), found(dead(3, "n3"))),
        op(8, 9, fail(3), stale),
      ]),
    ).toBe(true);
  });

  it("still catches a fail of an older attempt accepted after the task died", () => {
    expect(
      verdict([
        op(0, 1, submit, created(pending(0))),
        op(2, 3, get, found(dead(3, "n3"))),
        op(4, 5, fail(2), found(dead(3, "n3"))),
      ]),
    ).toBe(false);
  });
});
