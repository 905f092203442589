// Attempt deadlines (timeoutMs) on a fake clock: the leader fails an attempt still running past its deadline with
// TIMEOUT (retried like any failure), from the clock it started when it applied the assignment; a new leader
// restarts the clocks of running attempts; delayed tasks are placed once their runAt comes.
import pino from "pino";
import { describe, expect, it } from "vitest";
import { LeaderDuties } from "../../../src/node/leader-duties.js";
import { expiredAttempts } from "../../../src/node/attempt-deadlines.js";
import type { Command } from "../../../src/scheduler/commands.js";
import { TaskTable } from "../../../src/scheduler/table.js";

function setup() {
  let nowMs = 1_000_000;
  const table = new TaskTable();
  let index = 0;
  const proposed: Command[] = [];
  const commit = (cmd: Command) => {
    const result = table.apply(++index, cmd);
    duties.applied(result);
    return result;
  };
  const duties: LeaderDuties = new LeaderDuties({
    selfId: "n1",
    logger: pino({ level: "silent" }),
    table: () => table,
    workerTimeoutMs: 100_000,
    strategy: "least-loaded",
    rng: () => 0.5,
    workerMembers: () => new Map([["n1", 2]]),
    propose: async (cmd) => {
      proposed.push(cmd);
      return commit(cmd);
    },
    isLeader: () => true,
    nowMs: () => nowMs,
  });
  const run = async () => {
    (duties as unknown as { run(): void }).run();
    await new Promise((r) => setTimeout(r, 0));
  };
  const fails = () => proposed.filter((c) => c.type === "fail");
  return { duties, table, proposed, fails, run, commit, advance: (ms: number) => (nowMs += ms), now: () => nowMs };
}

describe("attempt deadlines", () => {
  it("fails an attempt still running past timeoutMs with TIMEOUT, then it is retried with attempt + 1", async () => {
    const t = setup();
    t.duties.becameLeader();
    t.commit({ type: "submit", id: "a", payload: null, priority: 0, maxAttempts: 3, nowMs: t.now(), timeoutMs: 500 });
    t.commit({ type: "submit", id: "b", payload: null, priority: 0, maxAttempts: 3, nowMs: t.now() });
    await t.run(); // registers n1 and assigns both
    expect(t.table.getTask("a")).toMatchObject({ state: "assigned", attempt: 1 });
    t.advance(499);
    await t.run();
    expect(t.fails()).toEqual([]);
    t.advance(1);
    await t.run();
    expect(t.fails()).toMatchObject([{ type: "fail", id: "a", attempt: 1, error: { code: "TIMEOUT" } }]);
    expect(t.table.getTask("a")).toMatchObject({ state: "pending", attempt: 1, lastError: { code: "TIMEOUT" } });
    expect(t.table.getTask("b")).toMatchObject({ state: "assigned" }); // no timeout: runs on
    t.advance(1_000); // past the retry backoff
    await t.run();
    expect(t.table.getTask("a")).toMatchObject({ state: "assigned", attempt: 2 });
    t.commit({ type: "complete", id: "a", attempt: 2 });
    t.advance(10_000);
    await t.run();
    expect(t.fails()).toHaveLength(1); // a finished attempt's clock is forgotten
  });

  it("a new leader restarts the clocks of running attempts (a timeout may stretch by one election)", async () => {
    const t = setup();
    t.duties.becameLeader();
    t.commit({ type: "submit", id: "a", payload: null, priority: 0, maxAttempts: 3, nowMs: t.now(), timeoutMs: 500 });
    await t.run();
    t.advance(400);
    t.duties.becameLeader(); // as if leadership moved and came back: the clock starts again
    t.advance(400);
    await t.run();
    expect(t.fails()).toEqual([]);
    t.advance(100);
    await t.run();
    expect(t.fails()).toMatchObject([{ id: "a", attempt: 1, error: { code: "TIMEOUT" } }]);
  });

  it("expiredAttempts: only the task's running attempt past its deadline; finished or superseded ones are stale", () => {
    const clocks = new Map([
      ["due", { attempt: 1, timeoutMs: 10, deadlineMs: 100 }],
      ["early", { attempt: 1, timeoutMs: 10, deadlineMs: 200 }],
      ["moved", { attempt: 1, timeoutMs: 10, deadlineMs: 50 }],
      ["done", { attempt: 1, timeoutMs: 10, deadlineMs: 50 }],
    ]);
    const now: Record<string, { state: string; attempt: number }> = {
      due: { state: "assigned", attempt: 1 },
      early: { state: "assigned", attempt: 1 },
      moved: { state: "assigned", attempt: 2 },
      done: { state: "completed", attempt: 1 },
    };
    const r = expiredAttempts(clocks, 150, (id) => now[id]);
    expect(r.expired.map((e) => e.id)).toEqual(["due"]);
    expect(r.stale.sort()).toEqual(["done", "moved"]);
  });
});

describe("delayed tasks", () => {
  it("are not placed before runAt and are placed by the round their timer wakes", async () => {
    const t = setup();
    t.duties.becameLeader();
    t.commit({ type: "submit", id: "d", payload: null, priority: 0, maxAttempts: 3, nowMs: t.now(), runAt: t.now() + 300 });
    await t.run();
    expect(t.table.getTask("d")).toMatchObject({ state: "pending", runAt: t.now() + 300 });
    t.advance(299);
    await t.run();
    expect(t.table.getTask("d")?.state).toBe("pending");
    t.advance(1);
    await t.run();
    expect(t.table.getTask("d")?.state).toBe("assigned");
    t.duties.stop();
  });
});

describe("DueTimer", () => {
  it("fires once, not before the time it was armed for, and keeps the earlier of two times", async () => {
    const { DueTimer } = await import("../../../src/node/attempt-deadlines.js");
    const fired: number[] = [];
    const timer = new DueTimer(Date.now, () => fired.push(Date.now()));
    const at = Date.now() + 30;
    timer.armAt(at + 10_000);
    timer.armAt(at); // earlier: replaces
    timer.armAt(at + 5_000); // later: kept out
    await new Promise((r) => setTimeout(r, 80));
    while (fired.length === 0) await new Promise((r) => setTimeout(r, 20)); // a loaded machine may be late
    expect(fired).toHaveLength(1);
    expect(fired[0]!).toBeGreaterThanOrEqual(at);
    timer.cancel();
  });
});
