// Issue #18 point 1 with real processes: a learner that caught up and then died must not be promoted. 3 voters,
// one SIGKILLed (writes still work); n4 joins as a learner and catches up; n4 is SIGKILLed; promoting it 3 s later
// must answer 409 LEARNER_NOT_READY (before the fix it answered at once and the cluster lost its quorum: 4 voters,
// 2 alive). The cluster still writes afterwards; a removal that would leave the reachable voters without a majority
// is refused (409 UNSAFE_RECONFIG), and removing the dead voter, which keeps one, goes through.
import { afterAll, beforeAll, describe, expect, it, onTestFailed } from "vitest";
import { ElasticCluster, type Answer } from "./elastic-cluster.js";
import { sleep, waitFor } from "./cluster-harness.js";

let c: ElasticCluster;

beforeAll(async () => {
  c = await ElasticCluster.create(4);
});

afterAll(async () => {
  await c?.stopAll();
});

/** A submit through `via`, retried on 503/504 and connection errors (an election may be running). */
async function submitted(via: () => string, id: string, withinMs = 15_000): Promise<Answer> {
  return waitFor(`task ${id} acknowledged`, withinMs, async () => {
    const r = await c.request(via(), "POST", "/v1/tasks", { body: { id, payload: {} }, timeoutMs: 5_000 });
    return r.status === 201 || r.status === 200 ? r : undefined;
  }, 100);
}

describe("promoting a learner that died after catching up", () => {
  it("is refused with 409 LEARNER_NOT_READY, and the cluster keeps writing", async () => {
    onTestFailed(() => c.printLogTails(25));
    const three = c.file(3);
    const four = c.file(4);
    for (const id of ["n1", "n2", "n3"]) await c.start(id, three);
    const leader = await c.waitForLeader(20_000);
    const [alive, dead] = ["n1", "n2", "n3"].filter((id) => id !== leader) as [string, string];
    await c.kill(dead, "SIGKILL");
    const anyLive = () => leader;
    await submitted(anyLive, "before-learner");

    await c.start("n4", four, { join: true });
    const added = await c.request(leader, "POST", "/v1/cluster/members", { body: { id: "n4", url: c.url("n4"), role: "learner" }, timeoutMs: 30_000 });
    expect(added.status, JSON.stringify(added.body)).toBe(201);
    // Caught up: n4 applied everything the leader had committed when we looked.
    const leaderCommit = (await c.status(leader)).commitIndex as number;
    await waitFor("n4 to catch up", 20_000, async () => ((await c.status("n4"))?.appliedIndex ?? 0) >= leaderCommit, 100);

    await c.kill("n4", "SIGKILL");
    await sleep(3_000);
    const t0 = Date.now();
    const promote = await c.request(alive, "POST", "/v1/cluster/members", { body: { id: "n4", url: c.url("n4"), role: "voter" }, timeoutMs: 30_000 });
    const answeredMs = Date.now() - t0;
    expect(promote.status, JSON.stringify(promote.body)).toBe(409);
    expect(promote.body.error.code).toBe("LEARNER_NOT_READY");
    expect(promote.body.error.message).toMatch(/"n4" was last heard \d+ ms ago/);
    expect(answeredMs).toBeLessThan(10_000); // refused, not waited out for the minute a catch-up may take

    const cluster = await c.request(leader, "GET", "/v1/cluster");
    expect(cluster.body.members.find((m: { id: string }) => m.id === "n4")?.role).toBe("learner");
    await submitted(anyLive, "after-refused-promotion", 10_000);

    // Removing the live follower would leave the leader with 1 of 2 reachable voters: refused.
    const unsafe = await c.request(leader, "DELETE", `/v1/cluster/members/${alive}`, { timeoutMs: 30_000 });
    expect(unsafe.status, JSON.stringify(unsafe.body)).toBe(409);
    expect(unsafe.body.error.code).toBe("UNSAFE_RECONFIG");
    expect(unsafe.body.error.message).toMatch(new RegExp(`1 of 2 voters reachable.*${dead}`));
    // Removing the dead voter keeps a majority (2 of 2): how an operator recovers.
    const removed = await c.request(leader, "DELETE", `/v1/cluster/members/${dead}`, { timeoutMs: 30_000 });
    expect(removed.status, JSON.stringify(removed.body)).toBe(200);
    await submitted(anyLive, "after-dead-voter-removed", 10_000);
  }, 120_000);
});
