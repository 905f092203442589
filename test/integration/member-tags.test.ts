// A member added at runtime with tags (`POST /v1/cluster/members { ..., tags }`, `raftsched member add --tags`):
// the tags travel in its config entry like its capacity, its worker record carries them, and placement honours
// them — a task that requires them runs there. Before, the API refused the field and only the cluster file's
// tags counted (here the file lists n4 without tags, so the replicated ones must win).
import { afterAll, describe, expect, it, onTestFailed } from "vitest";
import { ElasticCluster } from "./elastic-cluster.js";
import { sleep, waitFor } from "./cluster-harness.js";

describe("adding a member with tags", () => {
  let c: ElasticCluster | undefined;
  afterAll(async () => {
    await c?.stopAll();
  });

  it("lists it with its tags and runs the tasks that require them there", async () => {
    onTestFailed(() => c?.printLogTails());
    c = await ElasticCluster.create(4);
    const cl = c;
    const three = cl.file(3);
    await Promise.all(["n1", "n2", "n3"].map((id) => cl.start(id, three)));
    await cl.start("n4", cl.file(4), { join: true });
    let added = { status: 0, body: null as unknown };
    for (let i = 0; i < 40; i++) {
      // A 503/504 (no leader for a moment, leadership lost mid-change) is retried; the same add is idempotent.
      added = await cl.request(await cl.waitForLeader(), "POST", "/v1/cluster/members", { body: { id: "n4", url: cl.url("n4"), role: "learner", tags: ["gpu", "ssd", "gpu"] }, timeoutMs: 20_000 });
      if (added.status !== 503 && added.status !== 504) break;
      await sleep(250);
    }
    expect([200, 201], JSON.stringify(added.body)).toContain(added.status);
    const row = await waitFor("n4 alive with its tags", 30_000, async () => {
      const r = await cl.request(await cl.waitForLeader(), "GET", "/v1/workers");
      const w = Array.isArray(r.body) ? r.body.find((x: any) => x.id === "n4") : undefined;
      return w?.alive && w.tags.length > 0 ? w : undefined;
    });
    expect(row.tags).toEqual(["gpu", "ssd"]);
    const submitted = await cl.request(await cl.waitForLeader(), "POST", "/v1/tasks", { body: { id: "needs-gpu", payload: {}, requires: ["gpu"] }, timeoutMs: 20_000 });
    expect([200, 201], JSON.stringify(submitted.body)).toContain(submitted.status);
    const done = await waitFor("the gpu task completed", 30_000, async () => {
      const r = await cl.request(await cl.waitForLeader(), "GET", "/v1/tasks/needs-gpu");
      return r.body?.state === "completed" ? r.body : undefined;
    });
    expect(done.worker).toBe("n4");
    const bad = await cl.request(await cl.waitForLeader(), "POST", "/v1/cluster/members", { body: { id: "n9", url: "http://127.0.0.1:1", role: "learner", tags: ["a b"] } });
    expect(bad.status).toBe(400);
    expect(bad.body.error.code).toBe("BAD_FIELD");
  }, 120_000);
});
