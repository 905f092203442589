// What a busy leader's duties cost per applied entry (brief P, issue 14.2 / 12.8): the node nudges a placement
// round after every applied entry, so a Ready of 50 entries must run one round, not 50, and a nudged round only
// places — liveness (O(workers): 200 external workers made it the leader's top cost) stays on the timer.
import pino from "pino";
import { describe, expect, it, vi } from "vitest";
import { LeaderDuties } from "../../../src/node/leader-duties.js";
import { planAssignmentsWithDue } from "../../../src/scheduler/planner.js";
import type { Command } from "../../../src/scheduler/commands.js";
import { TaskTable } from "../../../src/scheduler/table.js";

function setup() {
  const table = new TaskTable();
  let index = 0;
  let membersRead = 0;
  const duties = new LeaderDuties({
    selfId: "n1",
    logger: pino({ level: "silent" }),
    table: () => table,
    workerTimeoutMs: 1_000,
    strategy: "least-loaded",
    rng: () => 0.5,
    workerMembers: () => {
      membersRead++;
      return new Map([["n1", 2]]);
    },
    propose: async (cmd: Command) => table.apply(++index, cmd),
    isLeader: () => true,
    nowMs: () => 1_000,
    everyMs: 3_600_000, // the timer never fires within the test: only nudges run rounds
  });
  return { duties, table, membersRead: () => membersRead, commit: (cmd: Command) => table.apply(++index, cmd) };
}

const tick = () => new Promise((r) => setImmediate(r));

describe("LeaderDuties rounds per applied entry", () => {
  it("50 entries applied in one go run one placement round, and no liveness scan", async () => {
    const t = setup();
    t.duties.start();
    try {
      t.duties.becameLeader();
      const readsBefore = t.membersRead();
      for (let i = 0; i < 50; i++) t.duties.applied(t.commit({ type: "submit", id: `t${i}`, payload: null, maxAttempts: 3, priority: 0, nowMs: 0 }));
      await tick();
      await tick();
      expect(t.duties.placementCounts.rounds).toBe(1);
      expect(t.membersRead()).toBe(readsBefore);
      // A later entry queues a round again.
      t.duties.applied({ ok: true });
      await tick();
      expect(t.duties.placementCounts.rounds).toBe(2);
    } finally {
      t.duties.stop();
    }
  });
});

describe("planAssignmentsWithDue with nothing pending", () => {
  it("answers without building the workers' view", () => {
    const table = new TaskTable();
    for (let i = 0; i < 5; i++) table.apply(i + 1, { type: "workerUp", worker: `w${i}`, capacity: 1, nowMs: 0 });
    const workers = vi.spyOn(table, "workers");
    const slots = vi.spyOn(table, "liveWorkerSlots");
    const plan = planAssignmentsWithDue(table, { nowMs: 0, strategy: "least-loaded", rng: () => 0.5 });
    expect(plan).toEqual({ command: null, nextDueMs: null });
    expect(workers).not.toHaveBeenCalled();
    expect(slots).not.toHaveBeenCalled();
  });
});

describe("placement with many workers", () => {
  it("a round reads the alive workers' slots, not the public rows (no WorkerInfo per worker per round)", () => {
    const table = new TaskTable();
    for (let i = 0; i < 3; i++) table.apply(i + 1, { type: "workerUp", worker: `w${i}`, capacity: 1, nowMs: 0 });
    table.apply(4, { type: "workerDead", worker: "w0", nowMs: 1 });
    table.apply(5, { type: "submit", id: "a", payload: null, maxAttempts: 3, priority: 0, nowMs: 0 });
    const workers = vi.spyOn(table, "workers");
    const plan = planAssignmentsWithDue(table, { nowMs: 0, strategy: "least-loaded", rng: () => 0.5, lingering: new Map([["w1", 1]]) });
    expect(plan.command?.assignments).toEqual([{ taskId: "a", worker: "w2", attempt: 1 }]); // w0 dead, w1 held by a lingering handler
    expect(workers).not.toHaveBeenCalled();
  });

  it("a least-loaded plan does not copy the table's weights (only the weighted choice reads them)", () => {
    const table = new TaskTable();
    for (let i = 0; i < 5; i++) table.apply(i + 1, { type: "workerUp", worker: `w${i}`, capacity: 1, nowMs: 0 });
    table.apply(6, { type: "submit", id: "a", payload: null, maxAttempts: 3, priority: 0, nowMs: 0 });
    const weights = vi.spyOn(table, "currentWeights");
    const plan = planAssignmentsWithDue(table, { nowMs: 0, strategy: "least-loaded", rng: () => 0.5 });
    expect(plan.command?.assignments).toEqual([{ taskId: "a", worker: "w0", attempt: 1 }]);
    expect(weights).not.toHaveBeenCalled();
  });

  it("the table's workers stay in id order as workers come and go (the sorted ids are kept between calls)", () => {
    const table = new TaskTable();
    let index = 0;
    for (const id of ["w2", "w0"]) table.apply(++index, { type: "workerUp", worker: id, capacity: 1, nowMs: 0 });
    expect(table.workers().map((w) => w.id)).toEqual(["w0", "w2"]);
    table.apply(++index, { type: "workerUp", worker: "w1", capacity: 1, nowMs: 0 });
    expect(table.workers().map((w) => w.id)).toEqual(["w0", "w1", "w2"]);
    table.apply(++index, { type: "workerDead", worker: "w0", nowMs: 1 });
    table.apply(++index, { type: "workerRemoved", worker: "w0" });
    expect(table.workers().map((w) => w.id)).toEqual(["w1", "w2"]);
  });
});
