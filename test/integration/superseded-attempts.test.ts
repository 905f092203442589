// Issue #17 with real node processes and a handler module that logs every start, abort and return
// (fixtures/logging-handler.mjs):
//  1. a SIGKILLed follower whose tasks were reassigned and completed elsewhere, restarted on its data dir, starts
//     none of its superseded attempts (its table still shows them until it has caught up with the leader);
//  2. a handler that takes 1.5 s to return after its AbortSignal fires keeps its slot: never more than `capacity`
//     handlers run at once on a node, and attempt 1 and 2 of one task never run side by side on one node; the node
//     tells the leader, which places no work on those slots until the handlers returned.
import { mkdtempSync, readFileSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import path from "node:path";
import { afterAll, beforeAll, describe, expect, it, onTestFailed } from "vitest";
import { Cluster, REPO_ROOT, sleep, waitFor } from "./cluster-harness.js";

const HANDLER = path.join(REPO_ROOT, "test", "integration", "fixtures", "logging-handler.mjs");
const FAST = { electionTimeoutMs: [150, 300] as const, heartbeatMs: 50, workerTimeoutMs: 1000, tickMs: 10 };

interface HandlerEvent {
  readonly event: "start" | "end" | "abort" | "return";
  readonly id: string;
  readonly attempt: number;
  readonly node: string;
  readonly atMs: number;
}

function events(file: string): HandlerEvent[] {
  let text = "";
  try {
    text = readFileSync(file, "utf8");
  } catch {
    return [];
  }
  return text
    .split("\n")
    .filter((l) => l.length > 0)
    .map((l) => JSON.parse(l) as HandlerEvent);
}

/** Per node, the most handlers that ran at once (start to return), and any two attempts of one task that ran side
 *  by side on one node. */
function overlaps(evs: readonly HandlerEvent[]): { maxAtOnce: Map<string, number>; sideBySide: string[] } {
  const maxAtOnce = new Map<string, number>();
  const running = new Map<string, Set<string>>();
  const sideBySide: string[] = [];
  for (const e of evs) {
    const mine = running.get(e.node) ?? new Set<string>();
    running.set(e.node, mine);
    const key = `${e.id}#${e.attempt}`;
    if (e.event === "start") {
      for (const other of mine) if (other.startsWith(`${e.id}#`)) sideBySide.push(`${e.node}: ${key} started while ${other} still ran`);
      mine.add(key);
      maxAtOnce.set(e.node, Math.max(maxAtOnce.get(e.node) ?? 0, mine.size));
    } else if (e.event === "return") mine.delete(key);
  }
  return { maxAtOnce, sideBySide };
}

describe("a restarted worker and its superseded attempts (issue #17.1)", () => {
  let c: Cluster | undefined;
  const dir = mkdtempSync(path.join(tmpdir(), "raftsched-i17-"));
  const log = path.join(dir, "handler.jsonl");
  beforeAll(async () => {
    c = await Cluster.start({ nodes: 3, capacity: 4, ...FAST, handler: HANDLER, env: { RAFTSCHED_TEST_HANDLER_LOG: log } });
  });
  afterAll(async () => {
    await c?.stopAll();
    rmSync(dir, { recursive: true, force: true });
  });

  it("starts none of them after the restart, though its own table still shows them", async () => {
    onTestFailed(() => c?.printLogTails());
    const cl = c!;
    const leader = await cl.waitForLeader(15_000);
    const ids = Array.from({ length: 8 }, (_, i) => `k${i}`);
    for (const id of ids) expect((await cl.submitWithRetry({ id, payload: { sleepMs: 2_500 } })).status).toBe(201);
    const assigned = await waitFor("the tasks to be assigned", 15_000, async () => {
      const tasks = await cl.listAll(leader);
      return tasks.length === ids.length && tasks.every((t) => t.state === "assigned") ? tasks : undefined;
    });
    const victim = cl.ids.find((id) => id !== leader && assigned.some((t) => t.worker === id))!;
    expect(victim, "no follower holds a task").toBeDefined();
    const held = new Map<string, number>(assigned.filter((t) => t.worker === victim).map((t) => [t.id as string, t.attempt as number]));
    // It really started them before it died.
    await waitFor(`${victim} to start its tasks`, 10_000, () => events(log).filter((e) => e.node === victim && e.event === "start").length >= held.size);

    await cl.kill(victim, "SIGKILL");
    await waitFor("the victim's tasks to complete elsewhere", 30_000, async () => {
      const tasks = (await cl.listAll(leader)).filter((t) => held.has(t.id));
      return tasks.every((t) => t.state === "completed" && t.worker !== victim && t.attempt > held.get(t.id)!);
    }, 100);

    const restartedAtMs = Date.now();
    await cl.restart(victim);
    // Long enough for the old table to act (it did within ~0.6 s in the issue) and for the node to catch up.
    await waitFor(`${victim} to catch up`, 15_000, async () => {
      const [mine, theirs] = [await cl.status(victim), await cl.status(leader)];
      return mine !== null && theirs !== null && mine.appliedIndex >= theirs.commitIndex;
    });
    await sleep(1_500);
    const stale = events(log).filter((e) => e.node === victim && e.event === "start" && e.atMs >= restartedAtMs && held.get(e.id) === e.attempt);
    expect(stale.map((e) => `${e.id}#${e.attempt} at +${e.atMs - restartedAtMs} ms`), "superseded attempts started after the restart").toEqual([]);
    // The node works again: a new task can run anywhere, the restarted node included.
    expect((await cl.submitWithRetry({ id: "after-restart", payload: { sleepMs: 0 } })).status).toBe(201);
    await waitFor("the new task to complete", 15_000, async () => (await cl.get(leader, "after-restart"))?.state === "completed");
  });
});

describe("a handler that takes 1.5 s to return after its abort (issue #17.2)", () => {
  let c: Cluster | undefined;
  const dir = mkdtempSync(path.join(tmpdir(), "raftsched-i17-"));
  const log = path.join(dir, "handler.jsonl");
  const CAPACITY = 2;
  const SLOW = { sleepMs: 60_000, cleanupMs: 1_500 };
  beforeAll(async () => {
    c = await Cluster.start({ nodes: 3, capacity: CAPACITY, ...FAST, handler: HANDLER, env: { RAFTSCHED_TEST_HANDLER_LOG: log } });
  });
  afterAll(async () => {
    await c?.stopAll();
    rmSync(dir, { recursive: true, force: true });
  });

  async function fillEveryNode(cl: Cluster, leader: string, ids: readonly string[]): Promise<any[]> {
    for (const id of ids) expect((await cl.submitWithRetry({ id, payload: SLOW })).status).toBe(201);
    return waitFor("every slot to be taken", 15_000, async () => {
      const tasks = (await cl.listAll(leader)).filter((t) => t.state === "assigned");
      return tasks.length >= cl.ids.length * CAPACITY ? tasks : undefined;
    });
  }

  it("keeps the slot until the handler returned: cancel, then a pause past workerTimeoutMs", async () => {
    onTestFailed(() => c?.printLogTails());
    const cl = c!;
    const leader = await cl.waitForLeader(15_000);
    const first = await fillEveryNode(cl, leader, Array.from({ length: 6 }, (_, i) => `s${i}`));
    // Cancel: the node's two handlers are aborted and need 1.5 s to return; two new tasks can only go there.
    const node = cl.ids.find((id) => id !== leader)!;
    for (const t of first.filter((x) => x.worker === node)) expect((await cl.request(leader, "POST", `/v1/tasks/${t.id}/cancel`)).status).toBe(200);
    // The node tells the leader its aborted handlers still run, and the leader places nothing there meanwhile. Only
    // if the leader heard of them before the new tasks arrived can it be asked to hold back (a load that delays the
    // report past the 1.5 s cleanup makes the check moot, not wrong).
    const returns = () => events(log).filter((e) => e.node === node && e.event === "return").length;
    const returned = () => returns() >= CAPACITY;
    const heard = await waitFor("the leader to hear of the lingering handlers (or them to return)", 10_000, async () => {
      const row = ((await cl.request(leader, "GET", "/v1/workers")).body as any[]).find((w) => w.id === node);
      return row?.lingering === CAPACITY ? "heard" : returned() ? "returned" : undefined;
    });
    for (const id of ["s6", "s7"]) expect((await cl.submitWithRetry({ id, payload: SLOW })).status).toBe(201);
    const placedEarly: string[] = [];
    await waitFor("s6 and s7 to be placed", 15_000, async () => {
      const placed = (await cl.listAll(leader)).filter((t) => (t.id === "s6" || t.id === "s7") && t.state === "assigned");
      // The handler log is read after the table: more tasks placed there than handlers had returned is a placement
      // on a slot still held (each return frees one slot).
      const there = placed.filter((t) => t.worker === node);
      const freed = returns();
      if (there.length > freed) placedEarly.push(`${there.map((t) => t.id).join(", ")} on ${node} with ${freed} returned`);
      return placed.length === 2 ? placed : undefined;
    });
    console.log(`the leader heard of the lingering handlers: ${heard === "heard"}`);
    if (heard === "heard") expect(placedEarly, "work placed on slots held by aborted handlers still returning").toEqual([]);
    await fillEveryNode(cl, leader, []);
    await waitFor("the cancelled handlers to return", 10_000, () => events(log).filter((e) => e.node === node && e.event === "return").length >= CAPACITY);
    await waitFor("the new tasks to start", 10_000, () => events(log).filter((e) => e.event === "start" && (e.id === "s6" || e.id === "s7")).length === 2);

    // A pause past workerTimeoutMs: the paused node's tasks are taken back, and with every other slot taken their
    // attempt 2 can only go back to it when it resumes, while its attempt-1 handlers are still cleaning up.
    const paused = cl.ids.find((id) => id !== leader && id !== node)!;
    const pausedTasks = (await cl.listAll(leader)).filter((t) => t.state === "assigned" && t.worker === paused).map((t) => t.id as string);
    process.kill(cl.pid(paused), "SIGSTOP");
    try {
      await waitFor(`${paused} to be declared dead`, 15_000, async () => (await cl.listAll(leader)).filter((t) => pausedTasks.includes(t.id)).every((t) => t.state === "pending"));
    } finally {
      process.kill(cl.pid(paused), "SIGCONT");
    }
    await waitFor("attempt 2 of the paused node's tasks to start", 20_000, () =>
      pausedTasks.every((id) => events(log).some((e) => e.event === "start" && e.id === id && e.attempt === 2)),
    );
    // Every other slot was taken, so attempt 2 ran where attempt 1 was still cleaning up (unless the loaded machine
    // made the leader declare another node dead too and freed a slot there: then at least one did).
    const backHome = pausedTasks.filter((id) => events(log).find((e) => e.event === "start" && e.id === id && e.attempt === 2)?.node === paused);
    console.log(`attempt 2 of ${backHome.length} of ${pausedTasks.length} tasks ran on ${paused}, where attempt 1 was aborted`);
    expect(backHome.length).toBeGreaterThan(0);
    const { maxAtOnce, sideBySide } = overlaps(events(log));
    expect(Object.fromEntries(maxAtOnce), `more than ${CAPACITY} handlers at once`).toEqual(
      Object.fromEntries([...maxAtOnce.keys()].map((id) => [id, Math.min(CAPACITY, maxAtOnce.get(id)!)])),
    );
    expect(sideBySide, "two attempts of one task side by side on one node").toEqual([]);
  });
});
