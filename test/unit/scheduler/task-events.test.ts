// The watch events an entry yields: one per task the entry changed, in a fixed order, from the table after it.
import { describe, expect, it } from "vitest";
import type { Command } from "../../../src/scheduler/commands.js";
import { TaskTable } from "../../../src/scheduler/table.js";
import { taskEventsOf, type WatchEvent } from "../../../src/scheduler/task-events.js";

const submit = (id: string): Command => ({ type: "submit", id, payload: null, priority: 0, maxAttempts: 2, nowMs: 0 });
const up = (worker: string): Command => ({ type: "workerUp", worker, capacity: 4, nowMs: 0 });
const assign = (...a: Array<[string, string, number]>): Command => ({ type: "assign", assignments: a.map(([taskId, worker, attempt]) => ({ taskId, worker, attempt })) });

/** Applies the commands one per index from 1 and returns each index's events. */
function eventsOf(commands: readonly Command[]): WatchEvent[][] {
  const t = new TaskTable();
  return commands.map((c, k) => taskEventsOf(k + 1, t.apply(k + 1, c), (id) => t.getTask(id)));
}

describe("taskEventsOf", () => {
  it.each<[string, Command[], WatchEvent[]]>([
    ["submit creates: pending", [submit("a")], [{ index: 1, id: "a", state: "pending", attempt: 0, worker: null }]],
    ["a repeated submit changes nothing: no event", [submit("a"), submit("a")], []],
    ["assign: assigned, in command order", [submit("b"), submit("a"), up("w"), assign(["b", "w", 1], ["a", "w", 1])], [
      { index: 4, id: "b", state: "assigned", attempt: 1, worker: "w" },
      { index: 4, id: "a", state: "assigned", attempt: 1, worker: "w" },
    ]],
    ["a skipped assignment has no event", [submit("a"), up("w"), assign(["a", "w", 2])], []],
    ["complete", [submit("a"), up("w"), assign(["a", "w", 1]), { type: "complete", id: "a", attempt: 1 }], [{ index: 4, id: "a", state: "completed", attempt: 1, worker: "w" }]],
    ["a repeated completion: no event", [submit("a"), up("w"), assign(["a", "w", 1]), { type: "complete", id: "a", attempt: 1 }, { type: "complete", id: "a", attempt: 1 }], []],
    ["a stale report: no event", [submit("a"), up("w"), assign(["a", "w", 1]), { type: "complete", id: "a", attempt: 7 }], []],
    ["fail below maxAttempts: pending again", [submit("a"), up("w"), assign(["a", "w", 1]), { type: "fail", id: "a", attempt: 1, retryAtMs: 0 }], [{ index: 4, id: "a", state: "pending", attempt: 1, worker: null }]],
    ["fail at maxAttempts: dead", [submit("a"), up("w"), assign(["a", "w", 1]), { type: "fail", id: "a", attempt: 1, retryAtMs: 0 }, assign(["a", "w", 2]), { type: "fail", id: "a", attempt: 2, retryAtMs: 0 }], [{ index: 6, id: "a", state: "dead", attempt: 2, worker: "w" }]],
    ["cancel", [submit("a"), { type: "cancel", id: "a" }], [{ index: 2, id: "a", state: "cancelled", attempt: 0, worker: null }]],
    ["workerDead requeues, in id order", [submit("b"), submit("a"), up("w"), assign(["b", "w", 1], ["a", "w", 1]), { type: "workerDead", worker: "w", nowMs: 1 }], [
      { index: 5, id: "a", state: "pending", attempt: 1, worker: null },
      { index: 5, id: "b", state: "pending", attempt: 1, worker: null },
    ]],
    ["workerUp: no task event", [up("w")], []],
    // Issue 13: deletions are events too, after the task changes, in the delete command's order.
    ["delete (explicit DELETE): deleted, in command order; a live task skipped has no event", [submit("a"), submit("b"), submit("c"), { type: "cancel", id: "b" }, { type: "cancel", id: "a" }, { type: "delete", ids: ["b", "c", "a"] }], [
      { index: 6, id: "b", deleted: true },
      { index: 6, id: "a", deleted: true },
    ]],
    ["delete by retention (dedupe window kept): deleted", [submit("a"), { type: "cancel", id: "a" }, { type: "delete", ids: ["a"], dedupeKeep: 10 }], [{ index: 3, id: "a", deleted: true }]],
    ["a submit of an id in the dedupe window deletes nothing: no event", [submit("a"), { type: "cancel", id: "a" }, { type: "delete", ids: ["a"], dedupeKeep: 10 }, submit("a")], []],
    ["retry: pending again, attempt kept", [submit("a"), { type: "cancel", id: "a" }, { type: "retry", id: "a" }], [{ index: 3, id: "a", state: "pending", attempt: 0, worker: null }]],
  ])("%s", (_name, commands, expected) => {
    const all = eventsOf(commands);
    expect(all[all.length - 1]).toEqual(expected);
  });

  it("a refused command (not ok) and a missing result give nothing", () => {
    const t = new TaskTable();
    expect(taskEventsOf(1, t.apply(1, { type: "complete", id: "x", attempt: 1 }), (id) => t.getTask(id))).toEqual([]);
    expect(taskEventsOf(2, undefined, () => undefined)).toEqual([]);
  });
});
