// External workers as real processes (`raftsched worker`) against a real 3-node cluster whose members run no tasks:
// a SIGKILLed worker's tasks are reassigned, a worker paused past workerTimeoutMs has its late reports refused and
// its attempt aborted, a killed leader loses no task and never lets two workers run the same attempt, and a
// SIGTERM drain ends with 0 failed attempts.
import { readFileSync } from "node:fs";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { Cluster, sleep, waitFor } from "./cluster-harness.js";

/** 20 workers as the issue asks; RAFTSCHED_IT_WORKERS lowers it on a small machine. */
const WORKERS = Number(process.env.RAFTSCHED_IT_WORKERS ?? 20);
const CAPACITY = 2;
/** 2 s, not the default 1 s: 20 worker processes and 3 nodes on 2 loaded cores miss a 1 s heartbeat window now
 *  and then (a worker declared dead and back is correct, but makes "all 20 alive at once" a long wait). */
const WORKER_TIMEOUT_MS = 2000;

interface LogLine {
  readonly msg?: string;
  readonly taskId?: string;
  readonly attempt?: number;
  readonly outcome?: string;
  readonly counts?: { failed: number };
}

let cluster: Cluster;
const ids = Array.from({ length: WORKERS }, (_, i) => `w${String(i + 1).padStart(2, "0")}`);

function workerLog(id: string): LogLine[] {
  const text = readFileSync(cluster.workers().logPath(id), "utf8");
  return text
    .split("\n")
    .filter((l) => l.startsWith("{"))
    .map((l) => JSON.parse(l) as LogLine);
}

async function leader(): Promise<string> {
  return await cluster.waitForLeader(20_000);
}

async function task(id: string): Promise<any> {
  return await waitFor(`task ${id}`, 10_000, async () => (await cluster.get(await leader(), id, { stale: true })) ?? undefined);
}

async function submitAll(prefix: string, count: number, payload: unknown): Promise<string[]> {
  const taskIds = Array.from({ length: count }, (_, i) => `${prefix}-${i}`);
  for (const id of taskIds) {
    const r = await cluster.submitWithRetry({ id, payload });
    expect([200, 201]).toContain(r.status);
  }
  return taskIds;
}

async function allTerminal(taskIds: readonly string[], timeoutMs: number): Promise<any[]> {
  return await waitFor(`${taskIds.length} tasks terminal`, timeoutMs, async () => {
    const tasks = await Promise.all(taskIds.map((id) => cluster.get(cluster.runningIds()[0]!, id, { stale: true })));
    return tasks.every((t) => t && (t.state === "completed" || t.state === "dead")) ? tasks : undefined;
  }, 200);
}

beforeAll(async () => {
  cluster = await Cluster.start({ nodes: 3, memberWorkers: false, workerTimeoutMs: WORKER_TIMEOUT_MS });
  for (const id of ids) cluster.workers().start(id, { capacity: CAPACITY, tags: id === "w01" ? ["gpu", "big"] : [] });
  const l = await leader();
  await waitFor(`${WORKERS} external workers alive`, 120_000, async () => {
    const rows = (await cluster.request(l, "GET", "/v1/workers")).body as any[];
    return Array.isArray(rows) && rows.filter((w) => w.kind === "external" && w.alive).length === WORKERS ? rows : undefined;
  }, 250);
}, 180_000);

afterAll(async () => {
  await cluster?.stopAll();
});

describe("external workers (real processes)", () => {
  it("GET /v1/workers lists members and external workers with kind, tags and lastSeenMs", async () => {
    // `alive` comes from the log, `lastSeenMs` from the leader's memory: a leader elected after the workers
    // registered (an election on a loaded machine) knows it only once they have reconnected to it.
    const rows = await waitFor("w01 heard by the current leader", 20_000, async () => {
      const r = (await cluster.request(await leader(), "GET", "/v1/workers")).body as any[];
      return Array.isArray(r) && typeof r.find((w) => w.id === "w01")?.lastSeenMs === "number" ? r : undefined;
    }, 100);
    const w01 = rows.find((w) => w.id === "w01");
    expect(w01).toMatchObject({ kind: "external", alive: true, capacity: CAPACITY, tags: ["big", "gpu"] });
    expect(typeof w01.lastSeenMs).toBe("number");
    expect(rows.filter((w) => w.kind === "member").map((w) => w.id)).toEqual([]);
  });

  it("runs tasks on external workers only, each attempt on one worker", async () => {
    const taskIds = await submitAll("plain", 30, { sleepMs: 50 });
    const tasks = await allTerminal(taskIds, 60_000);
    for (const t of tasks) expect(ids).toContain(t.worker);
    expect(tasks.every((t) => t.state === "completed" && t.attempt === 1)).toBe(true);
  }, 90_000);

  it("SIGKILL a worker: its tasks are reassigned (attempt 2) and completed elsewhere", async () => {
    const taskIds = await submitAll("killed", WORKERS * CAPACITY, { sleepMs: 4000 });
    const victim = "w03";
    const held = await waitFor("tasks on the victim", 20_000, async () => {
      const page = (await cluster.request(await leader(), "GET", `/v1/tasks?worker=${victim}&state=assigned`)).body;
      return page.tasks.length > 0 ? (page.tasks as any[]).map((t) => t.id as string) : undefined;
    });
    const killedAt = Date.now();
    await cluster.workers().get(victim).kill();
    const reassignedAfterMs = await waitFor("the victim's tasks reassigned", 30_000, async () => {
      const now = await Promise.all(held.map((id) => cluster.get(cluster.runningIds()[0]!, id, { stale: true })));
      return now.every((t) => t && t.attempt >= 2 && t.worker !== victim) ? Date.now() - killedAt : undefined;
    }, 50);
    // A figure, not an assertion (a loaded machine): README cites it.
    console.log(`external worker SIGKILL → its ${held.length} tasks reassigned after ${reassignedAfterMs} ms (workerTimeoutMs ${WORKER_TIMEOUT_MS})`);
    const done = await allTerminal(taskIds, 60_000);
    expect(done.filter((t) => t.state !== "completed")).toEqual([]);
    cluster.workers().start(victim, { capacity: CAPACITY });
  }, 120_000);

  it("SIGSTOP a worker past workerTimeoutMs, SIGCONT: its late reports are refused and its attempts aborted", async () => {
    const victim = "w05";
    const taskIds = await submitAll("paused", WORKERS * CAPACITY, { sleepMs: 2500 });
    // What the victim holds is read after it is frozen: read before, a task it finished in between (its 2.5 s
    // sleep outran a loaded machine's gap between the read and SIGSTOP) would count as held and never be reassigned.
    const assignedToVictim = async () => {
      const page = (await cluster.request(await leader(), "GET", `/v1/tasks?worker=${victim}&state=assigned`)).body;
      return (page.tasks as any[]).map((t) => ({ id: t.id as string, attempt: t.attempt as number }));
    };
    const held = await waitFor("tasks on the frozen victim", 40_000, async () => {
      if ((await assignedToVictim()).length === 0) return undefined;
      cluster.workers().get(victim).pause();
      await sleep(300); // a report it sent just before the signal lands first
      const frozenWith = await assignedToVictim();
      if (frozenWith.length > 0) return frozenWith;
      cluster.workers().get(victim).resume(); // it finished them all in between: try again
      return undefined;
    }, 100);
    await waitFor("the paused worker's tasks reassigned", 30_000, async () => {
      const now = await Promise.all(held.map((h) => cluster.get(cluster.runningIds()[0]!, h.id, { stale: true })));
      return now.every((t) => t && t.attempt > held.find((h) => h.id === t.id)!.attempt) ? true : undefined;
    });
    await sleep(3000); // its handlers' sleeps are long over: it has reports to send when it wakes
    cluster.workers().get(victim).resume();
    await waitFor("the late attempts refused or aborted on the worker", 20_000, () => {
      const lines = workerLog(victim);
      const fenced = (h: { id: string; attempt: number }) =>
        lines.some((l) => (l.msg === "report refused" || l.msg === "attempt aborted") && l.taskId === h.id && l.attempt === h.attempt);
      return held.every(fenced) ? true : undefined;
    });
    const done = await allTerminal(taskIds, 60_000);
    for (const h of held) {
      const t = done.find((x) => x.id === h.id);
      expect(t.state).toBe("completed");
      expect(t.attempt).toBeGreaterThan(h.attempt); // never the paused worker's stale attempt
    }
    // It comes back: heard again, registered alive (one workerUp).
    await waitFor("the paused worker alive again", 20_000, async () => {
      const rows = (await cluster.request(await leader(), "GET", "/v1/workers")).body as any[];
      return rows.find((w) => w.id === victim)?.alive === true ? true : undefined;
    });
  }, 150_000);

  it("SIGKILL the leader while workers run: no task lost, no attempt run on two workers", async () => {
    const taskIds = await submitAll("failover", 60, { sleepMs: 700 });
    await sleep(500);
    const old = await leader();
    await cluster.kill(old);
    const done = await allTerminal(taskIds, 90_000);
    expect(done.filter((t) => t.state !== "completed").map((t) => t.id)).toEqual([]);
    // Every (task, attempt) started on one worker only.
    const startedBy = new Map<string, string>();
    for (const w of ids) {
      for (const l of workerLog(w)) {
        if (l.msg !== "attempt started") continue;
        const key = `${l.taskId}#${l.attempt}`;
        const other = startedBy.get(key);
        expect(other === undefined || other === w, `${key} started on ${other} and ${w}`).toBe(true);
        startedBy.set(key, w);
      }
    }
    await cluster.restart(old);
  }, 150_000);

  it("SIGTERM drains a worker: what it runs completes, 0 failed attempts, exit 0", async () => {
    const victim = "w07";
    const taskIds = await submitAll("drain", WORKERS * CAPACITY, { sleepMs: 2000 });
    const held = await waitFor("tasks on the draining worker", 20_000, async () => {
      const page = (await cluster.request(await leader(), "GET", `/v1/tasks?worker=${victim}&state=assigned`)).body;
      return page.tasks.length > 0 ? (page.tasks as any[]).map((t) => t.id as string) : undefined;
    });
    const exit = await cluster.workers().stop(victim, 30_000);
    expect(exit).toEqual({ code: 0, signal: null });
    const done = await allTerminal(taskIds, 60_000);
    // No attempt failed (a requeue of a worker that the loaded machine starved past workerTimeoutMs is no failure).
    expect(done.filter((t) => t.state !== "completed" || t.lastError !== undefined).map((t) => `${t.id}@${t.attempt}`)).toEqual([]);
    // What the drained worker held, it finished itself, at its own attempt.
    for (const id of held) expect(done.find((t) => t.id === id)).toMatchObject({ worker: victim, attempt: 1 });
    const stopped = workerLog(victim).find((l) => l.msg === "worker stopped");
    expect(stopped?.counts?.failed).toBe(0);
  }, 120_000);
});
