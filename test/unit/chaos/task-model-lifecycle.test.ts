// The chaos task model's delete and retry (src/chaos/task-model-lifecycle.ts, issue 13 point 8): linearizable
// histories pass, and broken runs — a deleted task read back as present, a retry applied twice, a delete or retry
// refused although the task was in a state that allows it — make the checker answer "not linearizable".
import fc from "fast-check";
import { describe, expect, it } from "vitest";
import type { Operation } from "../../../src/chaos/history.js";
import { checkHistory, checkOperations, formatCounterexample } from "../../../src/chaos/linearizability.js";
import { taskModel, type TaskInput, type TaskOutput, type TaskView } from "../../../src/chaos/task-model.js";
import { classifyTaskOutcome } from "../../../src/chaos/task-outcome.js";
import { pickLifecycleOp } from "../../../src/chaos/lifecycle-ops.js";
import { simulateWorkload } from "./task-sim.js";

type Op = Operation<TaskInput, TaskOutput>;
let nextOpId = 0;
function op(call: number, ret: number | null, type: TaskInput["type"], output?: TaskOutput, extra: { attempt?: number } = {}): Op {
  const opId = nextOpId++;
  const input = { id: "t", type, ...extra } as TaskInput;
  if (ret === null) return { opId, clientId: opId, call, ret: Infinity, input };
  return { opId, clientId: opId, call, ret, input, output: output! };
}
const task = (state: TaskView["state"], attempt: number, worker: string | null = null): TaskOutput => ({ status: 200, task: { state, attempt, worker } });
const created: TaskOutput = { status: 201, task: { state: "pending", attempt: 0, worker: null } };
const deleted: TaskOutput = { status: 200 };
const notFound: TaskOutput = { status: 404, code: "NOT_FOUND" };
const invalid: TaskOutput = { status: 409, code: "INVALID_STATE" };
const linearizable = (ops: Op[]): boolean | "unknown" => checkOperations(taskModel, ops).ok;

/** A task submitted, run once and finished at attempt 1 on n1 (completed or dead), as reads saw it. */
function finished(state: "completed" | "dead"): Op[] {
  return [op(0, 1, "submit", created), op(2, 3, "get", task("assigned", 1, "n1")), op(4, 5, "get", task(state, 1, "n1"))];
}

describe("chaos model: delete", () => {
  it("a finished task deleted reads 404, and a submit creates the id anew", () => {
    const ops = [...finished("completed"), op(6, 7, "delete", deleted), op(8, 9, "get", notFound), op(10, 11, "submit", created), op(12, 13, "get", task("pending", 0))];
    expect(linearizable(ops)).toBe(true);
  });

  it("BROKEN RUN: a deleted task read back as present is not linearizable", () => {
    const ops = [...finished("completed"), op(6, 7, "delete", deleted), op(8, 9, "get", task("completed", 1, "n1"))];
    const result = checkOperations(taskModel, ops);
    expect(result.ok).toBe(false);
    if (result.ok === false) expect(formatCounterexample(taskModel, result.counterexample)).toMatch(/cannot be placed next: .*get t -> 200 completed\/1/);
  });

  it("BROKEN RUN: a deleted task that comes back after a 404 is not linearizable", () => {
    const ops = [...finished("dead"), op(6, null, "delete"), op(8, 9, "get", notFound), op(10, 11, "get", task("dead", 1, "n1"))];
    expect(linearizable(ops)).toBe(false);
  });

  it("an unknown delete may have happened or not; a read concurrent with the delete may see either", () => {
    expect(linearizable([...finished("completed"), op(6, null, "delete"), op(8, 9, "get", task("completed", 1, "n1"))])).toBe(true);
    expect(linearizable([...finished("completed"), op(6, null, "delete"), op(8, 9, "get", notFound)])).toBe(true);
    expect(linearizable([...finished("completed"), op(6, 10, "delete", deleted), op(7, 8, "get", task("completed", 1, "n1"))])).toBe(true);
  });

  it("a live task's delete is refused (409); a delete of a task that finished unseen may succeed", () => {
    expect(linearizable([op(0, 1, "submit", created), op(2, 3, "delete", invalid), op(4, 5, "get", task("pending", 0))])).toBe(true);
    expect(linearizable([op(0, 1, "submit", created), op(2, 3, "get", task("assigned", 1, "n1")), op(4, 5, "delete", deleted), op(6, 7, "get", notFound)])).toBe(true);
  });

  it("BROKEN RUN: a finished task's delete refused as live, or a 404 for a task that exists", () => {
    expect(linearizable([...finished("completed"), op(6, 7, "delete", invalid)])).toBe(false);
    expect(linearizable([...finished("completed"), op(6, 7, "delete", notFound)])).toBe(false);
  });
});

describe("chaos model: retry", () => {
  it("a dead task retried is pending again with its attempt kept, then runs as attempt + 1", () => {
    const ops = [...finished("dead"), op(6, 7, "retry", task("pending", 1)), op(8, 9, "get", task("assigned", 2, "n2")), op(10, 11, "complete", task("completed", 2, "n2"), { attempt: 2 })];
    expect(linearizable(ops)).toBe(true);
  });

  it("BROKEN RUN: a retry applied twice (the second finds the task pending, yet answers 200)", () => {
    const ops = [...finished("dead"), op(6, 7, "retry", task("pending", 1)), op(8, 9, "retry", task("pending", 1))];
    expect(linearizable(ops)).toBe(false);
    // Concurrent retries: exactly one may win.
    expect(linearizable([...finished("dead"), op(6, 9, "retry", task("pending", 1)), op(7, 8, "retry", invalid)])).toBe(true);
  });

  it("BROKEN RUN: a retry that resets the attempt, or retries a completed task, or is refused for a dead one", () => {
    expect(linearizable([...finished("dead"), op(6, 7, "retry", task("pending", 0))])).toBe(false);
    expect(linearizable([...finished("completed"), op(6, 7, "retry", task("pending", 1))])).toBe(false);
    expect(linearizable([...finished("dead"), op(6, 7, "retry", invalid)])).toBe(false);
  });

  it("a cancelled task (cancelled while running) can be retried; a retry of a deleted task is 404", () => {
    const cancelled = [op(0, 1, "submit", created), op(2, 3, "get", task("assigned", 1, "n1")), op(4, 5, "cancel", task("cancelled", 1, "n1"))];
    expect(linearizable([...cancelled, op(6, 7, "retry", task("pending", 1)), op(8, 9, "get", task("assigned", 2, "n3"))])).toBe(true);
    expect(linearizable([...cancelled, op(6, 7, "delete", deleted), op(8, 9, "retry", notFound)])).toBe(true);
    expect(linearizable([...cancelled, op(6, 7, "delete", deleted), op(8, 9, "retry", task("pending", 1))])).toBe(false);
  });
});

describe("chaos model on simulated workloads with deletes and retries", () => {
  it("accepts every history of a linearizable reference cluster that deletes and retries", () => {
    fc.assert(
      fc.property(fc.integer({ min: 0, max: 2 ** 31 - 1 }), (seed) => {
        const { events } = simulateWorkload({ seed, operations: 300, ids: 20, clients: 6, giveUpRate: 0.08, lifecycle: true });
        const result = checkHistory(taskModel, events, { classify: classifyTaskOutcome });
        if (result.ok !== true) throw new Error(result.ok === false ? formatCounterexample(taskModel, result.counterexample) : "checker timed out");
      }),
      { numRuns: 60 },
    );
  });
});

describe("the chaos workload's lifecycle choices", () => {
  it("deletes only finished tasks, retries only dead or cancelled ones, cancels only running ones", () => {
    let x = 0;
    const rng = () => ((x = (x + 0.013) % 1), x);
    const picks = new Map<string, Set<string>>();
    for (const state of ["pending", "assigned", "completed", "dead", "cancelled"] as const) {
      const set = new Set<string>();
      for (let i = 0; i < 200; i++) set.add(String(pickLifecycleOp(state, rng)));
      picks.set(state, set);
    }
    expect([...picks.get("pending")!]).toEqual(["null"]);
    expect([...picks.get("assigned")!].sort()).toEqual(["cancel", "null"]);
    expect([...picks.get("completed")!].sort()).toEqual(["delete", "null"]);
    expect([...picks.get("dead")!].sort()).toEqual(["delete", "null", "retry"]);
    expect([...picks.get("cancelled")!].sort()).toEqual(["delete", "null", "retry"]);
  });
});
