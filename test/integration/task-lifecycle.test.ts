// Issue 13 points 1, 4, 6 through the HTTP API of a real three-node cluster (forwards included): DELETE, retry,
// cancel of running work aborting its handler, retention through the log with the dedupe window, and schedules.
import { mkdtempSync, readFileSync, rmSync, existsSync } from "node:fs";
import { tmpdir } from "node:os";
import path from "node:path";
import { afterAll, beforeAll, describe, expect, it, onTestFailed } from "vitest";
import { Cluster, REPO_ROOT, waitFor } from "./cluster-harness.js";

const HANDLER = path.join(REPO_ROOT, "test", "integration", "fixtures", "logging-handler.mjs");
const dir = mkdtempSync(path.join(tmpdir(), "raftsched-i13-"));
const handlerLog = path.join(dir, "handler.jsonl");
let c: Cluster;

beforeAll(async () => {
  c = await Cluster.start({
    nodes: 3,
    handler: HANDLER,
    env: { RAFTSCHED_TEST_HANDLER_LOG: handlerLog },
    // Completed tasks go after 1.5 s; dead and cancelled ones stay (an hour) unless a test deletes them.
    retention: { completedMs: 1500, deadMs: 3_600_000, cancelledMs: 3_600_000, maxTerminal: 10_000, dedupeIds: 100 },
  });
  await c.waitForLeader();
}, 60_000);

afterAll(async () => {
  await c?.stopAll();
  rmSync(dir, { recursive: true, force: true });
});

function events(): Array<{ event: string; id: string; attempt: number; node: string }> {
  if (!existsSync(handlerLog)) return [];
  return readFileSync(handlerLog, "utf8").split("\n").filter((l) => l.length > 0).map((l) => JSON.parse(l));
}

async function state(id: string, want: string): Promise<any> {
  return await waitFor(`task ${id} ${want}`, 20_000, async () => {
    const r = await c.request("n1", "GET", `/v1/tasks/${id}`);
    return r.status === 200 && r.body.state === want ? r.body : undefined;
  });
}

describe("DELETE /v1/tasks/:id and retry", () => {
  it("DELETE: 200 for a terminal task (through a follower), 409 with the state for a live one, 404 unknown", async () => {
    onTestFailed(() => c.printLogTails());
    expect((await c.request("n2", "POST", "/v1/tasks", { body: { id: "del-dead", payload: { sleepMs: 0 }, maxAttempts: 1 } })).status).toBe(201);
    await state("del-dead", "completed").catch(() => undefined);
    expect((await c.request("n1", "POST", "/v1/tasks", { body: { id: "del-live", payload: { sleepMs: 60_000 } } })).status).toBe(201);
    await state("del-live", "assigned");
    const live = await c.request("n3", "DELETE", "/v1/tasks/del-live");
    expect(live.status).toBe(409);
    expect(live.body.error).toMatchObject({ code: "INVALID_STATE", state: "assigned" });
    expect((await c.request("n1", "DELETE", "/v1/tasks/nope")).status).toBe(404);
    // Cancel the running one: its handler is aborted wherever it runs (issue 17's executor), then it can go.
    expect((await c.request("n2", "POST", "/v1/tasks/del-live/cancel")).status).toBe(200);
    await waitFor("the handler of del-live to be aborted", 10_000, () => events().some((e) => e.id === "del-live" && e.event === "abort"));
    const del = await c.request("n2", "DELETE", "/v1/tasks/del-live");
    expect(del.status).toBe(200);
    expect(del.body).toEqual({ id: "del-live", deleted: true });
    for (const node of c.ids) {
      await waitFor(`del-live gone on ${node}`, 5000, async () => (await c.request(node, "GET", "/v1/tasks/del-live?stale=true")).status === 404);
    }
    // An explicit DELETE does not remember the id: submitting it again creates a new task.
    expect((await c.request("n1", "POST", "/v1/tasks", { body: { id: "del-live", payload: { sleepMs: 0 } } })).status).toBe(201);
  });

  it("retry: a dead task back to pending with its attempt kept; 409 for a live or completed one", async () => {
    expect((await c.request("n1", "POST", "/v1/tasks", { body: { id: "re-1", payload: { sleepMs: 60_000 }, maxAttempts: 1 } })).status).toBe(201);
    await state("re-1", "assigned");
    const busy = await c.request("n3", "POST", "/v1/tasks/re-1/retry");
    expect(busy.status).toBe(409);
    expect(busy.body.error.state).toBe("assigned");
    expect((await c.request("n1", "POST", "/v1/tasks/re-1/cancel")).status).toBe(200);
    const retried = await c.request("n2", "POST", "/v1/tasks/re-1/retry");
    expect(retried.status).toBe(200);
    expect(retried.body).toMatchObject({ id: "re-1", state: "pending", attempt: 1 });
    const again = await state("re-1", "assigned");
    expect(again.attempt).toBe(2);
    expect((await c.request("n1", "POST", "/v1/tasks/re-1/cancel")).status).toBe(200);
    expect((await c.request("n1", "POST", "/v1/tasks/nope/retry")).status).toBe(404);
  });
});

describe("retention", () => {
  it("deletes completed tasks after completedMs on every replica; a resubmit of one answers as a duplicate", async () => {
    for (let i = 0; i < 20; i++) expect((await c.request("n1", "POST", "/v1/tasks", { body: { id: `ret-${i}`, payload: { sleepMs: 0 } } })).status).toBe(201);
    await state("ret-19", "completed").catch(() => undefined);
    for (const node of c.ids) {
      await waitFor(`ret-* deleted on ${node}`, 20_000, async () => {
        const r = await c.request(node, "GET", "/v1/tasks?state=completed&stale=true&limit=1000");
        return r.status === 200 && !r.body.tasks.some((t: any) => t.id.startsWith("ret-"));
      });
    }
    const dup = await c.request("n2", "POST", "/v1/tasks", { body: { id: "ret-3", payload: { sleepMs: 0 } } });
    expect(dup.status).toBe(200);
    expect(dup.body).toEqual({ id: "ret-3", deleted: true });
    expect((await c.request("n1", "GET", "/v1/tasks/ret-3")).status).toBe(404);
  });
});

describe("schedules", () => {
  it("POST 201, GET, one task per slot with id <schedule>:<slot>, DELETE; bad input 400 naming the field", async () => {
    const bad = await c.request("n2", "POST", "/v1/schedules", { body: { id: "s-bad", cron: "0 0 30 2 *", task: { payload: {} } } });
    expect(bad.status).toBe(400);
    expect(bad.body.error.message).toMatch(/^cron: .*never fires/);
    expect((await c.request("n2", "POST", "/v1/schedules", { body: { id: "s-bad", cron: "61 * * * *", task: { payload: {} } } })).body.error.message).toMatch(/^cron: minute/);
    expect((await c.request("n2", "POST", "/v1/schedules", { body: { id: "s-bad", everyMs: 5, task: { payload: {} } } })).body.error.message).toMatch(/^everyMs/);
    expect((await c.request("n2", "POST", "/v1/schedules", { body: { id: "s-bad", everyMs: 5000 } })).body.error.message).toMatch(/^task/);
    const made = await c.request("n3", "POST", "/v1/schedules", { body: { id: "tick", everyMs: 1000, task: { payload: { sleepMs: 0 }, priority: 1 } } });
    expect(made.status).toBe(201);
    expect(made.body).toMatchObject({ id: "tick", everyMs: 1000, cron: null, task: { payload: { sleepMs: 0 }, priority: 1, maxAttempts: 3 } });
    expect((await c.request("n1", "POST", "/v1/schedules", { body: { id: "tick", everyMs: 1000, task: { payload: { sleepMs: 0 } } } })).status).toBe(200);
    expect((await c.request("n2", "GET", "/v1/schedules")).body.schedules.map((s: any) => s.id)).toEqual(["tick"]);
    // Slot tasks complete at once and retention deletes them after 1.5 s: collect every one seen.
    const seen = new Set<string>();
    const slots = await waitFor("three slots of tick", 20_000, async () => {
      const r = await c.request("n1", "GET", "/v1/tasks?limit=1000");
      for (const t of r.body.tasks) if (t.id.startsWith("tick:")) seen.add(t.id);
      return seen.size >= 3 ? [...seen] : undefined;
    }, 200);
    for (const id of slots) expect(Number(id.slice(5)) % 1000).toBe(0);
    expect((await c.request("n2", "DELETE", "/v1/schedules/tick")).status).toBe(200);
    expect((await c.request("n2", "GET", "/v1/schedules/tick")).status).toBe(404);
    expect((await c.request("n2", "DELETE", "/v1/schedules/tick")).status).toBe(404);
  });
});
