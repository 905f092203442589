// The task fields requires/timeoutMs/runAt and worker tags (CONTRACT "Task fields added"): their checks, the
// commands that carry them, the table that keeps them, and placement that honours them in every strategy.
import { describe, expect, it } from "vitest";
import { decodeCommand, encodeCommand, type Command } from "../../../src/scheduler/commands.js";
import { planAssignments, planAssignmentsWithDue } from "../../../src/scheduler/planner.js";
import { STRATEGIES } from "../../../src/scheduler/strategies.js";
import { TaskTable } from "../../../src/scheduler/table.js";
import {
  MAX_DELAY_MS,
  carriesAll,
  resolveRunAt,
  runAtProblem,
  tagListProblem,
  waitingReason,
} from "../../../src/scheduler/task-fields.js";
import { makePrng } from "../../../src/raft/prng.js";
import { Log } from "./helpers.js";

const NOW = 1_000_000_000_000;
const opts = { nowMs: NOW, strategy: "least-loaded" as const, rng: makePrng(1) };

function submitWith(log: Log, id: string, fields: { requires?: string[]; timeoutMs?: number; runAt?: number }) {
  return log.run({ type: "submit", id, payload: null, priority: 0, maxAttempts: 3, nowMs: NOW, ...fields });
}

function upWith(log: Log, worker: string, capacity: number, tags?: string[]) {
  return log.run({ type: "workerUp", worker, capacity, nowMs: NOW, ...(tags ? { tags } : {}) });
}

describe("field checks", () => {
  it.each([
    [["gpu"], null],
    [[], null],
    [["a.b:c-d_e"], null],
    ["gpu", "must be an array of tags"],
    [[""], "each tag"],
    [["x".repeat(65)], "each tag"],
    [["has space"], "each tag"],
    [[1], "each tag"],
    [Array.from({ length: 17 }, (_, i) => `t${i}`), "at most 16 tags"],
    [["gpu", "gpu"], "must not repeat"],
  ])("tags %j → %s", (value, problem) => {
    const got = tagListProblem(value);
    if (problem === null) expect(got).toBeNull();
    else expect(got).toContain(problem);
  });

  it("runAt/delayMs: both, far past, beyond a year and bad numbers are refused with the field named", () => {
    expect(runAtProblem({}, NOW)).toBeNull();
    expect(runAtProblem({ runAt: NOW - 1000 }, NOW)).toBeNull(); // a little in the past means now
    expect(runAtProblem({ runAt: NOW + MAX_DELAY_MS }, NOW)).toBeNull();
    expect(runAtProblem({ delayMs: 0 }, NOW)).toBeNull();
    expect(runAtProblem({ runAt: NOW, delayMs: 5 }, NOW)?.[0]).toBe("delayMs");
    expect(runAtProblem({ runAt: NOW - 2 * 24 * 3600_000 }, NOW)?.[0]).toBe("runAt");
    expect(runAtProblem({ runAt: Math.floor(NOW / 1000) }, NOW)?.[0]).toBe("runAt"); // seconds, not ms
    expect(runAtProblem({ runAt: NOW + MAX_DELAY_MS + 1 }, NOW)?.[0]).toBe("runAt");
    expect(runAtProblem({ runAt: 1.5 }, NOW)?.[0]).toBe("runAt");
    expect(runAtProblem({ delayMs: -1 }, NOW)?.[0]).toBe("delayMs");
    expect(runAtProblem({ delayMs: MAX_DELAY_MS + 1 }, NOW)?.[0]).toBe("delayMs");
  });

  it("the leader turns delayMs into runAt on its own clock, once", () => {
    expect(resolveRunAt({ delayMs: 250 }, NOW)).toBe(NOW + 250);
    expect(resolveRunAt({ runAt: NOW + 7 }, 0)).toBe(NOW + 7);
    expect(resolveRunAt({ delayMs: 0 }, NOW)).toBeUndefined();
    expect(resolveRunAt({}, NOW)).toBeUndefined();
  });

  it("a worker may run a task only when it carries every required tag", () => {
    expect(carriesAll(undefined, [])).toBe(true);
    expect(carriesAll(["gpu", "ssd"], ["gpu"])).toBe(true);
    expect(carriesAll(["gpu"], ["gpu", "ssd"])).toBe(false);
    expect(carriesAll(undefined, ["gpu"])).toBe(false);
  });

  it("waiting names the tags while no live worker with room to run anything carries them", () => {
    expect(waitingReason(["gpu"], [{ alive: true, capacity: 2 }])).toBe("no live worker with tags [gpu]");
    expect(waitingReason(["gpu"], [{ alive: false, capacity: 2, tags: ["gpu"] }])).toBe("no live worker with tags [gpu]");
    expect(waitingReason(["gpu"], [{ alive: true, capacity: 0, tags: ["gpu"] }])).toBe("no live worker with tags [gpu]");
    expect(waitingReason(["gpu"], [{ alive: true, capacity: 1, tags: ["gpu"] }])).toBeNull();
    expect(waitingReason([], [])).toBeNull();
  });
});

describe("commands", () => {
  it("carry the fields through encode/decode, and an entry written before them decodes the same", () => {
    const full: Command = { type: "submit", id: "a", payload: 1, priority: 0, maxAttempts: 3, nowMs: 5, requires: ["gpu"], timeoutMs: 100, runAt: 9 };
    expect(decodeCommand(encodeCommand(full))).toEqual({ ok: true, command: full });
    const old: Command = { type: "submit", id: "a", payload: 1, priority: 0, maxAttempts: 3, nowMs: 5 };
    expect(decodeCommand(encodeCommand(old))).toEqual({ ok: true, command: old });
    const up: Command = { type: "workerUp", worker: "w", capacity: 1, nowMs: 1, tags: ["gpu"] };
    expect(decodeCommand(encodeCommand(up))).toEqual({ ok: true, command: up });
  });

  it.each([
    [{ requires: ["bad tag"] }, "requires"],
    [{ requires: "gpu" }, "requires"],
    [{ timeoutMs: 0 }, "timeoutMs"],
    [{ timeoutMs: 24 * 3600_000 + 1 }, "timeoutMs"],
    [{ runAt: -1 }, "runAt"],
  ])("refuses a submit with %j", (fields, name) => {
    const cmd = { type: "submit", id: "a", payload: 1, priority: 0, maxAttempts: 3, nowMs: 5, ...fields } as unknown as Command;
    expect(() => encodeCommand(cmd)).toThrow(name);
  });
});

describe("the table", () => {
  it("keeps the fields on the task object, with defaults when absent, and through a snapshot", () => {
    const log = new Log();
    submitWith(log, "a", { requires: ["ssd", "gpu"], timeoutMs: 500, runAt: NOW + 10 });
    submitWith(log, "b", {});
    expect(log.table.getTask("a")).toMatchObject({ requires: ["gpu", "ssd"], timeoutMs: 500, runAt: NOW + 10 });
    expect(log.table.getTask("b")).toMatchObject({ requires: [], timeoutMs: null, runAt: null });
    const restored = TaskTable.restore(log.table.snapshot());
    expect(restored.getTask("a")).toEqual(log.table.getTask("a"));
    expect(restored.snapshot()).toEqual(log.table.snapshot());
  });

  it("a worker's tags come with its workerUp, replace the earlier ones, and survive a snapshot", () => {
    const log = new Log();
    upWith(log, "w1", 2, ["gpu"]);
    expect(log.table.getWorker("w1")?.tags).toEqual(["gpu"]);
    upWith(log, "w1", 2, ["ssd", "arm"]);
    expect(log.table.getWorker("w1")?.tags).toEqual(["arm", "ssd"]);
    expect(TaskTable.restore(log.table.snapshot()).getWorker("w1")?.tags).toEqual(["arm", "ssd"]);
    upWith(log, "w1", 2);
    expect(log.table.getWorker("w1")?.tags).toEqual([]);
  });

  it("a pending task no live worker can take says why, and stops saying it once one can", () => {
    const log = new Log();
    upWith(log, "w1", 2);
    submitWith(log, "g", { requires: ["gpu"] });
    expect(log.table.getTask("g")?.waiting).toBe("no live worker with tags [gpu]");
    expect(log.table.listTasks().tasks[0]?.waiting).toBe("no live worker with tags [gpu]");
    upWith(log, "w2", 1, ["gpu"]);
    expect(log.table.getTask("g")?.waiting).toBeUndefined();
    log.run({ type: "workerDead", worker: "w2", nowMs: NOW });
    expect(log.table.getTask("g")?.waiting).toBe("no live worker with tags [gpu]");
  });
});

describe("placement", () => {
  it.each(STRATEGIES)("%s never places a task on a worker lacking a required tag, and places the others", (strategy) => {
    const log = new Log();
    upWith(log, "a", 4);
    upWith(log, "b", 4, ["gpu"]);
    upWith(log, "c", 4, ["gpu", "ssd"]);
    for (let i = 0; i < 6; i++) submitWith(log, `g${i}`, { requires: ["gpu"] });
    submitWith(log, "s", { requires: ["ssd", "gpu"] });
    submitWith(log, "x", { requires: ["tpu"] });
    submitWith(log, "plain", {});
    const cmd = planAssignments(log.table, { ...opts, strategy, rng: makePrng(7) })!;
    const placed = new Map(cmd.assignments.map((a) => [a.taskId, a.worker]));
    for (let i = 0; i < 6; i++) expect(["b", "c"]).toContain(placed.get(`g${i}`));
    expect(placed.get("s")).toBe("c");
    expect(placed.has("x")).toBe(false); // nobody carries tpu: it waits, the tasks behind it still go
    expect(placed.has("plain")).toBe(true);
    // Apply advances the committed weights exactly as the planner predicted (every replica's weights alike).
    const again = planAssignments(log.table, { ...opts, strategy, rng: makePrng(7) })!;
    log.run(cmd);
    expect(again).toEqual(cmd);
    expect(log.table.getTask("x")).toMatchObject({ state: "pending", waiting: "no live worker with tags [tpu]" });
  });

  it("weighted: smooth weighted round-robin over the eligible workers keeps the planner's weights equal to apply()'s", () => {
    const log = new Log();
    upWith(log, "a", 3);
    upWith(log, "b", 1, ["gpu"]);
    upWith(log, "c", 2, ["gpu"]);
    const picks: string[] = [];
    for (let round = 0; round < 12; round++) {
      submitWith(log, `t${round}`, round % 2 === 0 ? { requires: ["gpu"] } : {});
      const plan = planAssignments(log.table, { ...opts, strategy: "weighted" })!;
      log.run(plan);
      const a = plan.assignments[0]!;
      picks.push(a.worker);
      // Frees the slot at once, so every pick is a pure weights decision.
      log.run({ type: "complete", id: a.taskId, attempt: a.attempt });
      const fresh = new Log(TaskTable.restore(log.table.snapshot()));
      expect(fresh.table.currentWeights()).toEqual(log.table.currentWeights());
    }
    for (let round = 0; round < 12; round += 2) expect(["b", "c"]).toContain(picks[round]);
    expect(new Set(picks.filter((_, i) => i % 2 === 0))).toEqual(new Set(["b", "c"]));
  });

  it("a task waits until its runAt, and the plan says when the next one is due", () => {
    const log = new Log();
    upWith(log, "w", 4);
    submitWith(log, "later", { runAt: NOW + 500 });
    submitWith(log, "soon", { runAt: NOW + 100 });
    expect(planAssignmentsWithDue(log.table, opts)).toEqual({ command: null, nextDueMs: NOW + 100 });
    const at100 = planAssignmentsWithDue(log.table, { ...opts, nowMs: NOW + 100 });
    expect(at100.command?.assignments.map((a) => a.taskId)).toEqual(["soon"]);
    expect(at100.nextDueMs).toBe(NOW + 500);
    const at500 = planAssignmentsWithDue(log.table, { ...opts, nowMs: NOW + 500 });
    expect(at500.command?.assignments.map((a) => a.taskId)).toEqual(["later", "soon"]);
  });
});
