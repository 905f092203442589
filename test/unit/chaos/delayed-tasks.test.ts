// The chaos run's delayed-task check (src/chaos/delayed-tasks.ts, issue 13): a history where every delayed task
// was seen assigned only after its runAt passes; broken runs — a delayed task seen assigned early (in an answer or
// on the watch stream), a runAt that changed between answers (a new leader recomputed it), a runAt other than
// asked — make it fire.
import { describe, expect, it } from "vitest";
import { checkDelayedTasks, delayedViolations, pickDelay, type ReceivedEvent } from "../../../src/chaos/delayed-tasks.js";
import { HistoryRecorder } from "../../../src/chaos/history.js";
import { makePrng } from "../../../src/raft/prng.js";
import type { TaskInput, TaskOutput, TaskView } from "../../../src/chaos/task-model-types.js";

const T0 = 1_800_000_000_000;

/** A history built by hand: each call is one op answered at `at` (wall ms) with the task view given. */
function history(ops: Array<{ input: TaskInput; status: number; task?: TaskView; at: number }>): HistoryRecorder<TaskInput, TaskOutput> {
  let now = 0;
  const h = new HistoryRecorder<TaskInput, TaskOutput>(() => now++);
  for (const o of ops) {
    const id = h.invoke("c0", o.input);
    h.ok(id, { status: o.status, ...(o.task ? { task: o.task } : {}), receivedAtWallMs: o.at });
  }
  return h;
}

const submit = (extra: Partial<Extract<TaskInput, { type: "submit" }>>): TaskInput => ({ type: "submit", id: "d1", payload: {}, sentAtWallMs: T0, ...extra });
const get: TaskInput = { type: "get", id: "d1" };
const view = (state: TaskView["state"], attempt: number, runAt: number | null): TaskView => ({ state, attempt, worker: attempt > 0 ? "n1" : null, runAt });

function check(h: HistoryRecorder<TaskInput, TaskOutput>, watched: ReceivedEvent[] = []) {
  const f = checkDelayedTasks(h.events(), watched, new Set());
  return { f, violations: delayedViolations(f) };
}

describe("chaos: delayed tasks", () => {
  it("a delayMs task assigned after its runAt passes; runAt lies in [send + delay, answer + delay]", () => {
    const h = history([
      { input: submit({ delayMs: 500 }), status: 201, task: view("pending", 0, T0 + 505), at: T0 + 10 },
      { input: get, status: 200, task: view("pending", 0, T0 + 505), at: T0 + 300 },
      { input: get, status: 200, task: view("assigned", 1, T0 + 505), at: T0 + 505 },
      { input: get, status: 200, task: view("completed", 1, T0 + 505), at: T0 + 900 },
    ]);
    const { f, violations } = check(h, [{ index: 9, id: "d1", state: "assigned", attempt: 1, receivedAtWallMs: T0 + 506 }]);
    expect(violations).toEqual([]);
    expect(f).toMatchObject({ delayed: 1, seenRunning: 1 });
  });

  it("BROKEN RUN: a delayed task read assigned before its runAt fires", () => {
    const h = history([
      { input: submit({ runAt: T0 + 1000 }), status: 201, task: view("pending", 0, T0 + 1000), at: T0 + 10 },
      { input: get, status: 200, task: view("assigned", 1, T0 + 1000), at: T0 + 400 },
    ]);
    const { f, violations } = check(h);
    expect(f.early).toEqual([{ id: "d1", runAt: T0 + 1000, seenAtWallMs: T0 + 400, state: "assigned", attempt: 1, by: "answer" }]);
    expect(violations[0]).toMatch(/1 delayed tasks seen assigned before their runAt/);
  });

  it("BROKEN RUN: the watch stream showing the assignment before runAt fires, although no read saw it", () => {
    const h = history([{ input: submit({ delayMs: 1000 }), status: 201, task: view("pending", 0, T0 + 1005), at: T0 + 10 }]);
    const { f } = check(h, [{ index: 7, id: "d1", state: "assigned", attempt: 1, receivedAtWallMs: T0 + 200 }]);
    expect(f.early).toHaveLength(1);
    expect(f.early[0]!.by).toBe("watch");
  });

  it("BROKEN RUN: a runAt recomputed by a new leader (two values) fires, as does one outside the delayMs window", () => {
    const changed = history([
      { input: submit({ delayMs: 500 }), status: 201, task: view("pending", 0, T0 + 505), at: T0 + 10 },
      { input: get, status: 200, task: view("pending", 0, T0 + 2000), at: T0 + 1500 },
    ]);
    expect(check(changed).f.runAtChanged).toEqual(["d1"]);
    const outside = history([{ input: submit({ delayMs: 500 }), status: 201, task: view("pending", 0, T0 + 100), at: T0 + 10 }]);
    expect(check(outside).f.runAtNotAsked).toHaveLength(1);
    const notAsked = history([{ input: submit({ runAt: T0 + 700 }), status: 201, task: view("pending", 0, T0 + 701), at: T0 + 10 }]);
    expect(check(notAsked).violations.join()).toMatch(/runAt other than asked/);
  });

  it("a task a client deleted is not held to one runAt (an in-flight submit may create it anew)", () => {
    const h = history([
      { input: submit({ delayMs: 500 }), status: 201, task: view("pending", 0, T0 + 505), at: T0 + 10 },
      { input: get, status: 200, task: view("pending", 0, T0 + 3000), at: T0 + 2600 },
    ]);
    expect(checkDelayedTasks(h.events(), [], new Set(["d1"])).runAtChanged).toEqual([]);
  });

  it("pickDelay delays about one submit in five, by 0.1–2.5 s, as delayMs or an absolute runAt", () => {
    const rng = makePrng(3);
    const picks = Array.from({ length: 2000 }, () => pickDelay(rng, T0));
    const delayed = picks.filter((p) => p !== null);
    expect(delayed.length).toBeGreaterThan(300);
    expect(delayed.length).toBeLessThan(500);
    for (const p of delayed) {
      const ms = "delayMs" in p! ? p.delayMs : p!.runAt - T0;
      expect(ms).toBeGreaterThanOrEqual(100);
      expect(ms).toBeLessThan(2500);
    }
    expect(delayed.some((p) => "runAt" in p!)).toBe(true);
  });
});
