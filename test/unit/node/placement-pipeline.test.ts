// The placement pipeline (src/node/placement-pipeline.ts): a worker's report in flight gives its slot back to
// placement at once, so the next task's assignment is proposed right behind the report (one commit for both); a
// round is not held back by an assign command still in flight; nothing it counts can overfill a worker, because the
// table skips an assignment to a full worker.
import pino from "pino";
import { describe, expect, it } from "vitest";
import { LeaderDuties } from "../../../src/node/leader-duties.js";
import { MAX_ASSIGN_COMMANDS_IN_FLIGHT, PlacementPipeline, assignCommandsInFlightFor } from "../../../src/node/placement-pipeline.js";
import type { AssignCommand, Command } from "../../../src/scheduler/commands.js";
import { TaskTable } from "../../../src/scheduler/table.js";

/** Duties over a table whose proposals commit only when the test says so (commitAll), as on a busy leader. */
function setup(capacities: Record<string, number>) {
  const table = new TaskTable();
  let index = 0;
  const waiting: Array<{ cmd: Command; resolve: (v: unknown) => void }> = [];
  const proposed: Command[] = [];
  for (const [worker, capacity] of Object.entries(capacities)) table.apply(++index, { type: "workerUp", worker, capacity, nowMs: 0 });
  const duties = new LeaderDuties({
    selfId: "n1",
    logger: pino({ level: "silent" }),
    table: () => table,
    workerTimeoutMs: 60_000,
    strategy: "least-loaded",
    rng: () => 0.5,
    workerMembers: () => new Map(Object.entries(capacities)),
    propose: (cmd) => {
      proposed.push(cmd);
      return new Promise((resolve) => waiting.push({ cmd, resolve }));
    },
    isLeader: () => true,
    nowMs: () => 1_000,
    everyMs: 3_600_000, // no timer rounds: the test runs them
  });
  duties.start();
  duties.becameLeader();
  for (const id of Object.keys(capacities)) duties.heard(id);
  const run = () => (duties as unknown as { run(): void }).run();
  const commitAll = async () => {
    for (const w of waiting.splice(0)) w.resolve(table.apply(++index, w.cmd));
    await new Promise((r) => setTimeout(r, 0));
  };
  const submit = (id: string) => table.apply(++index, { type: "submit", id, payload: null, maxAttempts: 3, priority: 0, nowMs: 0 });
  /** A report the node proposes: what proposeCommand hands the duties. */
  const report = (id: string, attempt: number) => {
    const cmd: Command = { type: "complete", id, attempt };
    proposed.push(cmd);
    const p = new Promise((resolve) => waiting.push({ cmd, resolve }));
    duties.proposed(cmd, p);
  };
  const assigns = () => proposed.filter((c): c is AssignCommand => c.type === "assign").map((c) => c.assignments.map((a) => `${a.taskId}@${a.worker}`));
  return { duties, table, proposed, run, commitAll, submit, report, assigns };
}

describe("placement pipeline", () => {
  it("a report in flight frees its slot: the next task's assignment is proposed right behind it, before either commits", async () => {
    const t = setup({ n1: 1 });
    t.submit("a");
    t.submit("b");
    t.run();
    await t.commitAll(); // workerUp and a@n1 applied
    expect(t.table.getTask("a")?.state).toBe("assigned");
    const before = t.proposed.length;
    t.report("a", 1);
    // The complete of a and the assign of b are both proposed now (the same write), neither applied yet.
    expect(t.proposed.slice(before).map((c) => c.type)).toEqual(["complete", "assign"]);
    expect(t.assigns().at(-1)).toEqual(["b@n1"]);
    await t.commitAll();
    expect(t.table.getTask("a")?.state).toBe("completed");
    expect(t.table.getTask("b")?.state).toBe("assigned");
  });

  it("a round is not held back by an assign command in flight; in-flight assignments count as taken", async () => {
    const t = setup({ n1: 1, n2: 1 });
    t.run();
    await t.commitAll(); // registered
    t.submit("a");
    t.run(); // a placed, not committed
    t.submit("b");
    t.submit("c");
    t.run(); // b placed on the other worker while a's command is in flight; c finds no room
    expect(t.assigns()).toEqual([["a@n1"], ["b@n2"]]);
    await t.commitAll();
    expect(t.table.getTask("c")?.state).toBe("pending");
  });

  it("a report refused at apply costs nothing but a skipped assignment: the worker is never overfilled", async () => {
    const t = setup({ n1: 1 });
    t.submit("a");
    t.submit("b");
    t.run();
    await t.commitAll();
    t.report("a", 7); // not the attempt the table holds: frees nothing
    expect(t.assigns()).toEqual([["a@n1"]]);
    t.report("a", 1);
    t.report("a", 1); // sent again while the first is on its way: the slot is given back once
    t.submit("c");
    t.run();
    expect(t.assigns()).toEqual([["a@n1"], ["b@n1"]]);
    await t.commitAll();
    expect(t.table.workers().find((w) => w.id === "n1")?.active).toBe(1);
  });

  it("bounds the commands in flight, and keeps one for the strategies whose sequence state is replicated", () => {
    expect(assignCommandsInFlightFor("least-loaded")).toBe(MAX_ASSIGN_COMMANDS_IN_FLIGHT);
    expect(assignCommandsInFlightFor("round-robin")).toBe(1);
    expect(assignCommandsInFlightFor("weighted")).toBe(1);
    const p = new PlacementPipeline(2);
    const one: AssignCommand = { type: "assign", assignments: [{ taskId: "x", worker: "w", attempt: 1 }] };
    const s1 = p.assignProposed(one);
    p.assignProposed({ type: "assign", assignments: [{ taskId: "y", worker: "w", attempt: 1 }] });
    expect(p.canPropose).toBe(false);
    expect(p.occupied(new Map([["w", 1]])).get("w")).toBe(3);
    s1();
    s1(); // settling twice changes nothing
    expect(p.canPropose).toBe(true);
    expect([...p.inFlightTasks]).toEqual(["y"]);
    p.clear();
    expect(p.slotChanges.size).toBe(0);
  });
});
