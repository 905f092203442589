// `POST /v1/cluster/members` takes what a member has in the cluster file besides id, url and role: `capacity` and
// `worker`. Before, the API refused the field and a member added at runtime silently got capacity 4.
import { afterAll, describe, expect, it, onTestFailed } from "vitest";
import { Cluster, freePorts, sleep, waitFor } from "./cluster-harness.js";

describe("adding a member with a capacity", () => {
  let c: Cluster | undefined;
  afterAll(async () => {
    await c?.stopAll();
  });

  it("lists it with that capacity on every node; worker: false keeps it from running tasks; bad values are 400", async () => {
    onTestFailed(() => c?.printLogTails());
    c = await Cluster.start({ nodes: 3, electionTimeoutMs: [150, 300], heartbeatMs: 50, workerTimeoutMs: 1000 });
    const leader = await c.waitForLeader(15_000);
    const follower = c.ids.find((id) => id !== leader)!;
    const [p4, p5] = await freePorts(2);
    // As a careful client on a busy machine: a 503 (no leader known for a moment) or 504 (leadership lost while the
    // change was in flight) is retried; the same add again is idempotent (200 once it is in).
    const add = async (via: string, body: object) => {
      for (let i = 0; ; i++) {
        const r = await c!.request(via, "POST", "/v1/cluster/members", { body, timeoutMs: 20_000 });
        if ((r.status !== 503 && r.status !== 504) || i >= 20) return r;
        await sleep(250);
      }
    };
    // Learners that never start: their addition commits without them, and the facts are what is checked.
    const add4 = await add(follower, { id: "n4", url: `http://127.0.0.1:${p4}`, role: "learner", capacity: 7 });
    expect([200, 201], JSON.stringify(add4.body)).toContain(add4.status);
    const add5 = await add(leader, { id: "n5", url: `http://127.0.0.1:${p5}`, role: "learner", worker: false });
    expect([200, 201], JSON.stringify(add5.body)).toContain(add5.status);

    const workers = await waitFor("n4 listed with capacity 7, n5 not a worker", 10_000, async () => {
      const r = await c!.request(c!.ids[0]!, "GET", "/v1/workers");
      const list = r.body as Array<{ id: string; capacity: number }>;
      return Array.isArray(list) && list.some((w) => w.id === "n4") ? list : undefined;
    });
    expect(workers.find((w) => w.id === "n4")?.capacity).toBe(7);
    expect(workers.some((w) => w.id === "n5")).toBe(false);

    const bad = await c.request(leader, "POST", "/v1/cluster/members", { body: { id: "n6", url: `http://127.0.0.1:${p5! + 1}`, role: "learner", capacity: -1 } });
    expect(bad.status).toBe(400);
    expect(bad.body.error.code).toBe("BAD_FIELD");
    // Changing the facts of an existing member is refused, not silently ignored; the same facts again are fine.
    const change = await add(leader, { id: "n4", url: `http://127.0.0.1:${p4}`, role: "learner", capacity: 3 });
    expect(change.status, JSON.stringify(change.body)).toBe(400);
    const same = await add(leader, { id: "n4", url: `http://127.0.0.1:${p4}`, role: "learner", capacity: 7 });
    expect(same.status, JSON.stringify(same.body)).toBe(200);
  }, 90_000);
});
