// A schedule's slots under a leader whose fires commit slowly (issue 13 point 8: no slot skipped while a leader
// exists). LifecycleDuties against a real table; `propose` keeps each fire pending until the test applies it.
import { describe, expect, it } from "vitest";
import { LifecycleDuties } from "../../../src/node/lifecycle-duties.js";
import type { Command } from "../../../src/scheduler/commands.js";
import { TaskTable } from "../../../src/scheduler/table.js";
import { RETENTION_DEFAULTS } from "../../../src/scheduler/task-retention.js";

function leaderWithSchedule() {
  const table = new TaskTable();
  let index = 0;
  const apply = (cmd: Command) => table.apply(++index, cmd);
  apply({ type: "scheduleAdd", schedule: { id: "s1", everyMs: 1000, cron: null, task: { payload: {}, priority: 0, maxAttempts: 1 }, createdAtMs: 500, lastSlotMs: 500 } });
  const pending: Array<{ cmd: Command; settle: (ok: boolean) => void }> = [];
  let nowMs = 1000;
  const duties = new LifecycleDuties({
    table: () => table,
    retention: RETENTION_DEFAULTS,
    nowMs: () => nowMs,
    onError: () => {},
    propose: (cmd) =>
      new Promise((resolve, reject) => {
        pending.push({ cmd, settle: (ok) => (ok ? resolve(apply(cmd)) : reject(Object.assign(new Error("lost"), { code: "OUTCOME_UNKNOWN" }))) });
      }),
  });
  const fires = () => pending.filter((p) => p.cmd.type === "scheduleFire").map((p) => (p.cmd as { slotMs: number }).slotMs);
  return { table, duties, pending, fires, at: (ms: number) => (nowMs = ms) };
}

describe("LifecycleDuties: a schedule's slots", () => {
  it("fires the next slot while the last one's commit is still pending, each slot once, and the log creates both", async () => {
    const l = leaderWithSchedule();
    l.duties.run();
    l.duties.run();
    expect(l.fires()).toEqual([1000]);
    l.at(2100); // slot 1000's fire has not committed a period later: slot 2000 is not skipped for it
    l.duties.run();
    l.duties.run();
    expect(l.fires()).toEqual([1000, 2000]);
    for (const p of l.pending.splice(0)) p.settle(true);
    await new Promise((r) => setImmediate(r));
    expect(l.table.getTask("s1:1000")).toBeDefined();
    expect(l.table.getTask("s1:2000")).toBeDefined();
  });

  it("a fire that failed may be proposed again while its slot is still the latest due", async () => {
    const l = leaderWithSchedule();
    l.duties.run();
    l.pending.splice(0)[0]!.settle(false);
    await new Promise((r) => setImmediate(r));
    l.duties.run();
    expect(l.fires()).toEqual([1000]);
  });
});
