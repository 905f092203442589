// Each scheduler checker fed a hand-made broken history must fire, and the correct twin of that history must
// pass: checkers that cannot fail prove nothing. Tables are real TaskTables fed real commands.
import { describe, expect, it } from "vitest";
import type { Entry } from "../../src/raft/types.js";
import type { Command } from "../../src/scheduler/commands.js";
import { TaskTable } from "../../src/scheduler/table.js";
import { attemptFencing, replicaDivergence, taskDuplicated, taskLost } from "./scheduler-checkers.js";
import type { AssignmentRecord, FinishRecord, NodeView, ReleaseRecord, SchedulerView, TaskAck } from "./view.js";

function tableOf(commands: readonly Command[]): TaskTable {
  const t = new TaskTable();
  commands.forEach((c, k) => t.apply(k + 1, c));
  return t;
}

const submit = (id: string): Command => ({ type: "submit", id, payload: null, priority: 0, maxAttempts: 3, nowMs: 0 });
const up = (worker: string): Command => ({ type: "workerUp", worker, capacity: 4, nowMs: 0 });
const assign = (id: string, worker: string, attempt: number): Command => ({ type: "assign", assignments: [{ taskId: id, worker, attempt }] });

/** A node view whose applied list has `applied` entries (the checkers read its length) and this table. */
function nodeWith(id: string, applied: number, tasks: TaskTable): NodeView {
  const entries: Entry[] = Array.from({ length: applied }, (_, k) => ({ index: k + 1, term: 1, kind: "normal", data: new Uint8Array(0) }));
  return { id, alive: true, role: "follower", term: 1, log: entries, durableLog: entries, applied: entries, tasks };
}

function view(parts: Partial<SchedulerView>): SchedulerView {
  return { seed: 7, tick: 100, nodes: [], acks: [], creations: [], assignments: [], finishes: [], releases: [], tableStates: [], ...parts };
}

const ackSubmit = (id: string, index: number): TaskAck => ({ kind: "submit", id, index, node: "n1", tick: 10 });
const ackComplete = (id: string, attempt: number, index: number): TaskAck => ({ kind: "complete", id, attempt, index, node: "n1", tick: 20 });

describe("taskLost", () => {
  const history = [up("n1"), submit("a"), submit("b"), assign("a", "n1", 1), { type: "complete", id: "a", attempt: 1 } as Command];

  it("fires when a table that applied past a submit's acknowledgement lacks the task", () => {
    const missingB = tableOf([up("n1"), submit("a"), { type: "cancel", id: "a" }]);
    const v = taskLost(view({ nodes: [nodeWith("n2", 3, missingB)], acks: [ackSubmit("b", 3)] }));
    expect(v).toHaveLength(1);
    expect(v[0]!.checker).toBe("taskLost");
    expect(v[0]!.detail).toMatch(/submit of b acknowledged by n1 at index 3 \(tick 10\), but n2's table at applied index 3 has no such task/);
  });

  it("fires when an acknowledged completion is undone", () => {
    const reassigned = tableOf([up("n1"), submit("a"), assign("a", "n1", 1), { type: "workerDead", worker: "n1", nowMs: 0 }]);
    const v = taskLost(view({ nodes: [nodeWith("n2", 4, reassigned)], acks: [ackComplete("a", 1, 4)] }));
    expect(v).toHaveLength(1);
    expect(v[0]!.detail).toMatch(/completion of attempt 1 of a .* shows it pending at attempt 1/);
  });

  it("passes on the correct history, and ignores tables that have not reached the acknowledgement yet", () => {
    const full = tableOf(history);
    const behind = tableOf(history.slice(0, 2));
    const acks = [ackSubmit("a", 2), ackSubmit("b", 3), ackComplete("a", 1, 5)];
    expect(taskLost(view({ nodes: [nodeWith("n1", 5, full), nodeWith("n2", 2, behind)], acks }))).toEqual([]);
  });
});

describe("taskDuplicated", () => {
  it("fires when a retried submit creates the task a second time", () => {
    const v = taskDuplicated(
      view({
        creations: [
          { id: "a", index: 4, node: "n1", tick: 1 },
          { id: "a", index: 9, node: "n2", tick: 5 },
        ],
      }),
    );
    expect(v).toHaveLength(1);
    expect(v[0]!.detail).toMatch(/task a created twice: by n1's apply at index 4 .* and by n2's at index 9/);
  });

  it("passes when every replica created the task at the same index", () => {
    const creations = ["n1", "n2", "n3"].map((node) => ({ id: "a", index: 4, node, tick: 1 }));
    expect(taskDuplicated(view({ creations }))).toEqual([]);
  });
});

describe("attemptFencing", () => {
  const a = (id: string, attempt: number, worker: string, index: number, node = "n1"): AssignmentRecord => ({ id, attempt, worker, index, node, tick: index });
  const f = (id: string, attempt: number, index: number, kind: "complete" | "fail" = "complete", node = "n1"): FinishRecord => ({ id, attempt, kind, index, node, tick: index });
  const r = (id: string, attempt: number, index: number): ReleaseRecord => ({ id, attempt, why: "workerDead", index, node: "n1", tick: index });

  it("fires when one attempt is given to two workers", () => {
    const v = attemptFencing(view({ assignments: [a("t", 1, "n2", 5), a("t", 1, "n3", 5, "n2")] }));
    expect(v).toHaveLength(1);
    expect(v[0]!.detail).toMatch(/attempt 1 of t has two owners: n2 at index 5 .* and n3 at index 5/);
  });

  it("fires when a report of a superseded attempt is accepted", () => {
    const v = attemptFencing(view({ assignments: [a("t", 1, "n2", 5), a("t", 2, "n3", 8)], finishes: [f("t", 1, 10)] }));
    expect(v).toHaveLength(1);
    expect(v[0]!.detail).toMatch(/accepted a complete report of attempt 1 of t at index 10, but the current attempt there is 2/);
  });

  it("fires when a report of a released attempt is accepted before any reassignment", () => {
    const v = attemptFencing(view({ assignments: [a("t", 1, "n2", 5)], releases: [r("t", 1, 7)], finishes: [f("t", 1, 9)] }));
    expect(v).toHaveLength(1);
    expect(v[0]!.detail).toMatch(/after that attempt was released \(workerDead\) at index 7/);
  });

  it("fires when a report of an attempt never assigned is accepted", () => {
    expect(attemptFencing(view({ finishes: [f("t", 1, 3)] }))[0]!.detail).toMatch(/current attempt there is none/);
  });

  it("fires when one attempt finishes twice at different indexes", () => {
    const v = attemptFencing(view({ assignments: [a("t", 1, "n2", 5)], finishes: [f("t", 1, 6, "fail"), f("t", 1, 9, "complete", "n2")] }));
    expect(v).toHaveLength(1);
    expect(v[0]!.detail).toMatch(/attempt 1 of t finished twice: fail at index 6 .* and complete at index 9/);
  });

  it("passes on a fenced history: reassigned after a release, only the new attempt finishes, on every replica", () => {
    const assignments = ["n1", "n2"].flatMap((node) => [a("t", 1, "n2", 5, node), a("t", 2, "n3", 8, node)]);
    const finishes = ["n1", "n2"].map((node) => f("t", 2, 10, "complete", node));
    expect(attemptFencing(view({ assignments, releases: [r("t", 1, 7)], finishes }))).toEqual([]);
  });
});

describe("replicaDivergence", () => {
  const commands = [up("n1"), submit("a"), assign("a", "n1", 1)];

  it("fires when two replicas' tables differ at the same applied index", () => {
    const good = tableOf(commands).snapshot();
    const other = tableOf([up("n1"), submit("a"), assign("a", "n2", 1)]).snapshot(); // n2 is unknown: skipped
    const v = replicaDivergence(
      view({
        tableStates: [
          { index: 3, node: "n1", tick: 1, bytes: good },
          { index: 3, node: "n2", tick: 2, bytes: other },
        ],
      }),
    );
    expect(v).toHaveLength(1);
    expect(v[0]!.detail).toMatch(/at applied index 3 n1's table .* and n2's .* differ/);
  });

  it("passes when the tables are byte-identical, including one restored from a snapshot", () => {
    const bytes = tableOf(commands).snapshot();
    const restored = TaskTable.restore(bytes).snapshot();
    expect(restored).not.toBe(bytes);
    const v = replicaDivergence(
      view({
        tableStates: [
          { index: 3, node: "n1", tick: 1, bytes },
          { index: 3, node: "n2", tick: 2, bytes: restored },
          { index: 4, node: "n3", tick: 2, bytes: new Uint8Array([1]) },
        ],
      }),
    );
    expect(v).toEqual([]);
  });
});
