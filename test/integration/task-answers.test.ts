// The task answers issue 17 point 5 settled, through the HTTP API of a real node (a three-node cluster, so forwards are covered too):
// - the same id again is 200 with the task, whatever the body (the contract); a client that sends
//   onIdReuse: "reject" hears 409 ID_REUSED when its body differs, on the leader and through a follower;
// - a dead task carries its reason as lastError (and, for now, as error too);
// - cancelling a completed or dead task answers 200 with the task unchanged.
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { Cluster, waitFor } from "./cluster-harness.js";

let c: Cluster;

beforeAll(async () => {
  c = await Cluster.start({ nodes: 3 });
  await c.waitForLeader();
}, 60_000);

afterAll(async () => {
  await c?.stopAll();
});

async function terminal(id: string): Promise<any> {
  return await waitFor(`task ${id} terminal`, 20_000, async () => {
    const r = await c.request("n1", "GET", `/v1/tasks/${id}`);
    return r.status === 200 && ["completed", "dead", "cancelled"].includes(r.body.state) ? r.body : undefined;
  });
}

describe("task answers", () => {
  it("the same id: 200 with the task (any body); another body with onIdReuse:reject → 409 ID_REUSED; nothing created or changed", async () => {
    const body = { id: "reuse-1", payload: { sleepMs: 0, b: [1, 2] }, priority: 5 };
    const first = await c.request("n1", "POST", "/v1/tasks", { body });
    expect(first.status).toBe(201);
    // Key order does not matter: the same JSON value is the same body.
    const again = await c.request("n1", "POST", "/v1/tasks", { body: { priority: 5, payload: { b: [1, 2], sleepMs: 0 }, id: "reuse-1" } });
    expect(again.status).toBe(200);
    expect(again.body.createdIndex).toBe(first.body.createdIndex);
    for (const other of [{ ...body, payload: { sleepMs: 1 } }, { ...body, priority: 6 }, { ...body, maxAttempts: 9 }, { id: "reuse-1", payload: body.payload }]) {
      // The contract's default: 200 with the original task, nothing changed.
      const plain = await c.request("n1", "POST", "/v1/tasks", { body: other });
      expect(plain.status).toBe(200);
      expect(plain.body.createdIndex).toBe(first.body.createdIndex);
      // Asked for: refused, from a follower too (the flag travels with the forwarded body).
      for (const node of ["n1", "n2"]) {
        const r = await c.request(node, "POST", "/v1/tasks", { body: { ...other, onIdReuse: "reject" } });
        expect(r.status).toBe(409);
        expect(r.body.error.code).toBe("ID_REUSED");
      }
      const same = await c.request("n2", "POST", "/v1/tasks", { body: { ...body, onIdReuse: "reject" } });
      expect(same.status).toBe(200);
    }
    const now = await c.request("n1", "GET", "/v1/tasks/reuse-1");
    expect(now.body).toMatchObject({ payload: body.payload, priority: 5, maxAttempts: 3, createdIndex: first.body.createdIndex });
  });

  it("a dead task carries lastError; cancelling a dead or completed task answers 200 with it unchanged", async () => {
    expect((await c.request("n1", "POST", "/v1/tasks", { body: { id: "dies", payload: { fail: true }, maxAttempts: 1 } })).status).toBe(201);
    expect((await c.request("n1", "POST", "/v1/tasks", { body: { id: "done", payload: { sleepMs: 0 } } })).status).toBe(201);
    const dead = await terminal("dies");
    expect(dead.state).toBe("dead");
    expect(dead.lastError).toMatchObject({ code: "TASK_FAILED" });
    expect(dead.error).toEqual(dead.lastError);
    const done = await terminal("done");
    expect(done.state).toBe("completed");
    for (const t of [dead, done]) {
      const r = await c.request("n1", "POST", `/v1/tasks/${t.id}/cancel`);
      expect(r.status).toBe(200);
      expect(r.body).toEqual(t);
    }
  });
});
