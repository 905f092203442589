// The task fields of CONTRACT "Task fields added" on real node processes: requires against member tags (and
// worker:false), the waiting reason, runAt/delayMs decided by the leader, timeoutMs failing a running attempt with
// TIMEOUT and aborting its handler, progress kept by the leader, and bad input answered 400 with the field named.
import { afterAll, describe, expect, it, onTestFailed } from "vitest";
import { Cluster, waitFor } from "./cluster-harness.js";

describe("task fields on a real cluster", () => {
  let c: Cluster | undefined;
  afterAll(async () => {
    await c?.stopAll();
  });

  it("requires/tags, waiting, runAt, timeoutMs and progress", async () => {
    onTestFailed(() => c?.printLogTails());
    // n1 runs no tasks; n3 alone carries gpu.
    const nodeFields = (id: string) => (id === "n1" ? { worker: false } : id === "n3" ? { tags: ["gpu"] } : {});
    c = await Cluster.start({ nodes: 3, workerTimeoutMs: 1000, nodeFields });
    const leader = await c.waitForLeader(15_000);
    const follower = c.ids.find((id) => id !== leader)!;
    const submit = async (via: string, body: object) => {
      const r = await c!.request(via, "POST", "/v1/tasks", { body, timeoutMs: 20_000 });
      expect([200, 201], JSON.stringify(r.body)).toContain(r.status);
      return r.body as { id: string; runAt: number | null };
    };
    const get = async (id: string) => (await c!.request(leader, "GET", `/v1/tasks/${id}`)).body;
    const until = (what: string, id: string, ok: (t: any) => boolean, timeoutMs = 20_000) =>
      waitFor(what, timeoutMs, async () => {
        const t = await get(id);
        return ok(t) ? t : undefined;
      });
    // Wait for n3 to be registered with its tags.
    await waitFor("n3 registered with gpu", 15_000, async () => {
      const r = await c!.request(leader, "GET", "/v1/workers");
      return Array.isArray(r.body) && r.body.some((w: any) => w.id === "n3" && w.alive) ? true : undefined;
    });

    // requires: every gpu task runs on n3; nothing runs on n1 (worker: false).
    for (let i = 0; i < 6; i++) await submit(follower, { id: `gpu-${i}`, payload: { sleepMs: 5 }, requires: ["gpu"] });
    for (let i = 0; i < 4; i++) await submit(leader, { id: `plain-${i}`, payload: { sleepMs: 5 } });
    for (let i = 0; i < 6; i++) expect(await until(`gpu-${i} done`, `gpu-${i}`, (t) => t.state === "completed")).toMatchObject({ worker: "n3", requires: ["gpu"] });
    for (let i = 0; i < 4; i++) expect((await until(`plain-${i} done`, `plain-${i}`, (t) => t.state === "completed")).worker).not.toBe("n1");

    // A task no live worker can take stays pending and says why.
    await submit(follower, { id: "tpu", payload: null, requires: ["tpu"] });
    expect(await get("tpu")).toMatchObject({ state: "pending", waiting: "no live worker with tags [tpu]" });

    // delayMs: the leader fixes runAt once; the task is not assigned before it.
    const before = Date.now();
    const delayed = await submit(follower, { id: "delayed", payload: null, delayMs: 600 });
    expect(delayed.runAt).toBeGreaterThanOrEqual(before + 600);
    const ran = await waitFor("delayed leaves pending", 20_000, async () => {
      const t = await get("delayed");
      return t.state !== "pending" ? { t, at: Date.now() } : undefined;
    }, 10);
    expect(ran.at).toBeGreaterThanOrEqual(delayed.runAt!);
    // A figure, not an assertion (a loaded machine may be late): how long after runAt a 10 ms poll saw it leave pending.
    console.log(`delayed task seen out of pending ${ran.at - delayed.runAt!} ms after its runAt`);

    // timeoutMs: an attempt running past it fails with TIMEOUT (one attempt: dead), and its handler is aborted.
    await submit(follower, { id: "slow", payload: { sleepMs: 60_000 }, timeoutMs: 300, maxAttempts: 1 });
    const slow = await until("slow dead", "slow", (t) => t.state === "dead");
    expect(slow.lastError).toMatchObject({ code: "TIMEOUT" });
    await waitFor("every node's handlers returned", 10_000, async () => {
      for (const id of c!.ids) if ((await c!.request(id, "GET", "/v1/status")).body.activeTasks !== 0) return undefined;
      return true;
    });

    // progress: reported through a follower, kept by the leader, refused for another attempt.
    await submit(leader, { id: "long", payload: { sleepMs: 60_000 } });
    const running = await until("long running", "long", (t) => t.state === "assigned");
    const ok = await c.request(follower, "POST", "/v1/tasks/long/progress", { body: { attempt: running.attempt, progress: { done: 3 } } });
    expect(ok.status, JSON.stringify(ok.body)).toBe(200);
    expect(await get("long")).toMatchObject({ progress: { done: 3 } });
    const stale = await c.request(follower, "POST", "/v1/tasks/long/progress", { body: { attempt: running.attempt + 1, progress: 1 } });
    expect(stale.status).toBe(409);
    expect((await c.request(leader, "POST", "/v1/tasks/long/cancel", { body: {} })).status).toBe(200);

    // Bad input: 400 with the field named.
    for (const [body, field] of [
      [{ payload: null, requires: ["no spaces"] }, "requires"],
      [{ payload: null, timeoutMs: 0 }, "timeoutMs"],
      [{ payload: null, runAt: Date.now(), delayMs: 5 }, "delayMs"],
      [{ payload: null, runAt: Date.now() + 400 * 86_400_000 }, "runAt"],
    ] as const) {
      const r = await c.request(follower, "POST", "/v1/tasks", { body });
      expect(r.status).toBe(400);
      expect(r.body.error.message).toContain(field);
    }
  }, 120_000);
});
