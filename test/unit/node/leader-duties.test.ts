// The leader's liveness rules on a fake clock: a new leader's grace period keeps silent members from being
// declared dead, but only a member actually heard from is registered alive (one added and never started gets
// no work), and silence past workerTimeoutMs after the grace period is committed as dead.
import pino from "pino";
import { describe, expect, it } from "vitest";
import { LeaderDuties } from "../../../src/node/leader-duties.js";
import type { Command } from "../../../src/scheduler/commands.js";
import { TaskTable } from "../../../src/scheduler/table.js";

function setup(members: string[]) {
  let nowMs = 1_000;
  const table = new TaskTable();
  let index = 0;
  const proposed: Command[] = [];
  const duties = new LeaderDuties({
    selfId: "n1",
    logger: pino({ level: "silent" }),
    table: () => table,
    workerTimeoutMs: 1_000,
    strategy: "least-loaded",
    rng: () => 0.5,
    workerMembers: () => new Map(members.map((id) => [id, 2])),
    // Commits at once, as a healthy cluster would.
    propose: async (cmd) => {
      proposed.push(cmd);
      return table.apply(++index, cmd);
    },
    isLeader: () => true,
    nowMs: () => nowMs,
  });
  const run = async () => {
    (duties as unknown as { run(): void }).run();
    await new Promise((r) => setTimeout(r, 0));
  };
  return { duties, table, proposed, run, advance: (ms: number) => (nowMs += ms), commit: (cmd: Command) => table.apply(++index, cmd) };
}

const ups = (cmds: Command[]) => cmds.filter((c) => c.type === "workerUp").map((c) => (c as { worker: string }).worker);
const deads = (cmds: Command[]) => cmds.filter((c) => c.type === "workerDead").map((c) => (c as { worker: string }).worker);

describe("LeaderDuties liveness", () => {
  it("registers itself and members it heard from, not a member that never answered", async () => {
    const t = setup(["n1", "n2", "n3"]);
    t.duties.becameLeader();
    t.duties.heard("n2");
    await t.run();
    expect(ups(t.proposed).sort()).toEqual(["n1", "n2"]);
    expect(t.table.getWorker("n3")).toBeUndefined();
  });

  it("declares a registered member dead only after the grace period and workerTimeoutMs of silence", async () => {
    const t = setup(["n1", "n2"]);
    t.duties.becameLeader();
    t.duties.heard("n2");
    await t.run();
    t.advance(900);
    await t.run();
    expect(deads(t.proposed)).toEqual([]);
    t.advance(200);
    await t.run();
    expect(deads(t.proposed)).toEqual(["n2"]);
    // Heard again: alive again.
    t.duties.heard("n2");
    await t.run();
    expect(t.table.getWorker("n2")?.alive).toBe(true);
  });

  it("a new leader's grace period: members already registered are not declared dead at once", async () => {
    const t = setup(["n1", "n2"]);
    t.duties.becameLeader();
    t.duties.heard("n2");
    await t.run();
    t.advance(5_000); // n2 silent for long under the previous leadership...
    t.duties.becameLeader(); // ...then this node becomes leader again
    await t.run();
    expect(deads(t.proposed)).toEqual([]);
  });
});

describe("LeaderDuties placement with lingering aborted handlers (issue 17.2)", () => {
  const assigned = (cmds: Command[]) => cmds.flatMap((c) => (c.type === "assign" ? c.assignments.map((a) => a.worker) : []));

  it("places nothing on a node whose slots are held by handlers still returning; a new leadership starts from zero", async () => {
    const t = setup(["n1", "n2"]);
    t.duties.becameLeader();
    t.duties.heard("n2");
    await t.run(); // both registered, capacity 2 each
    t.duties.lingering.set("n2", 2);
    t.duties.lingering.set("n1", 1); // the leader's own executor tells it through the same API
    for (const id of ["a", "b", "c"]) t.commit({ type: "submit", id, payload: null, maxAttempts: 3, priority: 0, nowMs: 0 });
    await t.run();
    // n2's slots are all held, n1 has one of two held by its own executor: only one task is placed.
    expect(assigned(t.proposed)).toEqual(["n1"]);
    t.duties.lingering.set("n2", 0); // n2's handlers returned
    t.duties.lingering.set("n1", 0);
    await t.run();
    expect(assigned(t.proposed).sort()).toEqual(["n1", "n1", "n2"]); // least-loaded: n2 first, then a tie goes to n1
    t.duties.lingering.set("n2", 2);
    t.duties.becameLeader();
    expect(t.duties.lingering.view().size).toBe(0);
  });
});

describe("a worker removed and added back (issue #16 point 4)", () => {
  function setupWithLog(inLatestConf: boolean) {
    const table = new TaskTable();
    let index = 0;
    const proposed: Command[] = [];
    // n3 is registered and alive in the table but missing from the applied membership (its removal applied).
    table.apply(++index, { type: "workerUp", worker: "n3", capacity: 2, nowMs: 1_000 });
    const duties = new LeaderDuties({
      selfId: "n1",
      logger: pino({ level: "silent" }),
      table: () => table,
      workerTimeoutMs: 1_000,
      strategy: "least-loaded",
      rng: () => 0.5,
      workerMembers: () => new Map([["n1", 2], ["n2", 2]]),
      inLatestConf: (id) => inLatestConf && id === "n3",
      propose: async (cmd) => {
        proposed.push(cmd);
        return table.apply(++index, cmd);
      },
      isLeader: () => true,
      nowMs: () => 1_000,
    });
    (duties as unknown as { run(): void }).run();
    return proposed.filter((c) => c.type === "workerRemoved").map((c) => (c as { worker: string }).worker);
  }

  it("releases a removed worker's tasks when no later entry adds it back", () => {
    expect(setupWithLog(false)).toEqual(["n3"]);
  });

  it("keeps them when the leader's log already re-adds it", () => {
    expect(setupWithLog(true)).toEqual([]);
  });
});
