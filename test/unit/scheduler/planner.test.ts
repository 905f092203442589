import { describe, expect, it } from "vitest";
import { planAssignments, retryAtMs } from "../../../src/scheduler/planner.js";
import { makePrng } from "../../../src/raft/prng.js";
import { Log } from "./helpers.js";

const opts = { nowMs: 10_000, strategy: "least-loaded" as const, rng: makePrng(1) };

describe("planAssignments", () => {
  it("returns null when nothing is pending or nobody has room", () => {
    const log = new Log();
    expect(planAssignments(log.table, opts)).toBeNull();
    log.submit("a");
    expect(planAssignments(log.table, opts)).toBeNull(); // no workers
    log.up("n1", 0);
    expect(planAssignments(log.table, opts)).toBeNull(); // no room
  });

  it("takes tasks in priority/FIFO order, fills room and stops; the rest wait pending until room appears", () => {
    const log = new Log();
    log.up("n1", 1);
    log.up("n2", 2);
    log.submit("low", { priority: 0 });
    log.submit("high", { priority: 9 });
    log.submit("mid1", { priority: 5 });
    log.submit("mid2", { priority: 5 });
    const cmd = planAssignments(log.table, opts)!;
    expect(cmd.assignments.map((a) => a.taskId)).toEqual(["high", "mid1", "mid2"]);
    expect(cmd.assignments.every((a) => a.attempt === 1)).toBe(true);
    const r = log.run(cmd);
    expect(r.ok && r.assigned!.length).toBe(3);
    expect(log.table.workers().map((w) => [w.id, w.active])).toEqual([["n1", 1], ["n2", 2]]);
    expect(planAssignments(log.table, opts)).toBeNull();
    log.run({ type: "complete", id: "mid1", attempt: 1 });
    const next = planAssignments(log.table, opts)!;
    expect(next.assignments.map((a) => a.taskId)).toEqual(["low"]);
  });

  it("counts slots held by lingering aborted handlers as occupied: a node whose slots they hold gets nothing (issue 17.2)", () => {
    for (const strategy of ["least-loaded", "weighted", "round-robin", "random"] as const) {
      const log = new Log();
      log.up("n1", 2);
      log.up("n2", 2);
      for (const id of ["a", "b", "c"]) log.submit(id);
      // n1's two slots are held by handlers aborted after a cancel: the table shows n1 idle.
      const lingering = new Map([["n1", 2]]);
      const cmd = planAssignments(log.table, { ...opts, strategy, lingering })!;
      expect(cmd.assignments.map((a) => a.worker)).toEqual(["n2", "n2"]);
      // One returned: one slot free again.
      const next = planAssignments(log.table, { ...opts, strategy, lingering: new Map([["n1", 1]]) })!;
      expect(next.assignments.filter((a) => a.worker === "n1")).toHaveLength(1);
    }
  });

  it("skips tasks still in backoff, tasks in flight, and workers the detector does not consider live", () => {
    const log = new Log();
    log.up("n1", 4);
    log.up("n2", 4);
    log.submit("a");
    log.submit("b");
    log.submit("c");
    log.assign("a", "n1", 1);
    log.run({ type: "fail", id: "a", attempt: 1, retryAtMs: 20_000 });
    const cmd = planAssignments(log.table, { ...opts, liveWorkers: ["n2"], inFlight: new Set(["b"]) })!;
    expect(cmd.assignments).toEqual([{ taskId: "c", worker: "n2", attempt: 1 }]);
    const later = planAssignments(log.table, { ...opts, nowMs: 20_000 })!;
    expect(later.assignments.map((a) => [a.taskId, a.attempt])).toEqual([["a", 2], ["b", 1], ["c", 1]]);
  });

  it("spreads a batch by the strategy as if each pick were already applied", () => {
    const log = new Log();
    for (const id of ["n1", "n2", "n3"]) log.up(id, 10);
    for (let i = 0; i < 9; i++) log.submit(`t${i}`);
    const cmd = planAssignments(log.table, opts)!;
    const perWorker = new Map<string, number>();
    for (const a of cmd.assignments) perWorker.set(a.worker, (perWorker.get(a.worker) ?? 0) + 1);
    expect([...perWorker.values()]).toEqual([3, 3, 3]);
  });

  it("bounds the batch", () => {
    const log = new Log();
    log.up("n1", 10_000);
    for (let i = 0; i < 600; i++) log.submit(`t${String(i).padStart(3, "0")}`);
    expect(planAssignments(log.table, opts)!.assignments.length).toBe(256);
    expect(planAssignments(log.table, { ...opts, maxBatch: 10 })!.assignments.length).toBe(10);
  });

  it("round-robin continues from the committed cursor, so a new leader carries on", () => {
    const log = new Log();
    for (const id of ["n1", "n2", "n3"]) log.up(id, 10);
    log.submit("a");
    log.submit("b");
    const rr = { ...opts, strategy: "round-robin" as const };
    const cmd = planAssignments(log.table, rr)!;
    expect(cmd).toEqual({
      type: "assign",
      assignments: [
        { taskId: "a", worker: "n1", attempt: 1 },
        { taskId: "b", worker: "n2", attempt: 1 },
      ],
      rrCursor: "n2",
    });
    log.run(cmd);
    log.submit("c");
    // Any leader reading this table (e.g. a restored replica) picks n3 next.
    expect(planAssignments(log.table, rr)!.assignments[0]!.worker).toBe("n3");
  });

  it("is a pure function of the table and its options (same seed, same command)", () => {
    const log = new Log();
    for (const id of ["n1", "n2", "n3", "n4"]) log.up(id, 3);
    for (let i = 0; i < 20; i++) log.submit(`t${i}`, { priority: i % 3 });
    const a = planAssignments(log.table, { ...opts, strategy: "random", rng: makePrng(99) });
    const b = planAssignments(log.table, { ...opts, strategy: "random", rng: makePrng(99) });
    expect(a).toEqual(b);
    expect(a!.assignments.length).toBe(12);
  });

  it("after a worker dies, its tasks are planned onto live workers with attempt + 1", () => {
    const log = new Log();
    log.up("n1", 2);
    log.up("n2", 2);
    log.submit("a");
    log.submit("b");
    log.assign("a", "n1", 1);
    log.assign("b", "n1", 1);
    log.run({ type: "workerDead", worker: "n1", nowMs: 5 });
    const cmd = planAssignments(log.table, opts)!;
    expect(cmd.assignments).toEqual([
      { taskId: "a", worker: "n2", attempt: 2 },
      { taskId: "b", worker: "n2", attempt: 2 },
    ]);
    log.run(cmd);
    expect(log.table.getTask("a")).toMatchObject({ state: "assigned", worker: "n2", attempt: 2 });
  });
});

describe("retryAtMs", () => {
  it("backs off exponentially from the base, capped, with optional jitter in [delay/2, delay]", () => {
    expect(retryAtMs(1000, 1)).toBe(1100);
    expect(retryAtMs(1000, 2)).toBe(1200);
    expect(retryAtMs(1000, 4)).toBe(1800);
    expect(retryAtMs(1000, 99)).toBe(11_000);
    expect(retryAtMs(0, 3, { baseMs: 10, maxMs: 1000 })).toBe(40);
    const rng = makePrng(3);
    for (let i = 0; i < 100; i++) {
      const at = retryAtMs(0, 3, { rng });
      expect(at).toBeGreaterThanOrEqual(200);
      expect(at).toBeLessThanOrEqual(400);
    }
  });
});
