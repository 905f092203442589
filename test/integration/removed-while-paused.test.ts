// Issue #18 point 3 with real processes: a follower SIGSTOPped, removed 1.5 s later, and SIGCONTed never applies its
// own removal (its log stops before it). Every peer refuses it with 403 NOT_A_PEER; after a few election timeouts
// it asks them for the membership, learns it is gone, says so, and exits (before the fix it ran on for good as a
// leaderless follower answering 503). Restarted on its old data dir it does the same. A node started with --join
// that nobody has added yet gets the same refusals and must NOT leave.
//
// Whether a paused node misses its removal depends on timing: the leader may have written the commit of the removal
// into the socket before it dropped the link, and the node then reads it from the kernel's buffer on SIGCONT and
// leaves the ordinary way (what happened here in a first run). The issue saw it miss the commit in 3 of 3 runs
// under load; the test makes that certain with the chaos fault hook: the other two nodes drop everything they send
// to the paused node from just before the removal.
import { afterAll, beforeAll, describe, expect, it, onTestFailed } from "vitest";
import { ElasticCluster } from "./elastic-cluster.js";
import { sleep, waitFor } from "./cluster-harness.js";

/** From SIGCONT to exit: 5 election timeouts of refusals (1.5 s), a redial backoff (≤ 2 s), a question, the 500 ms
 *  grace of a removed node, on a loaded 2-core machine. */
const LEAVES_WITHIN_MS = 20_000;

let c: ElasticCluster;

beforeAll(async () => {
  c = await ElasticCluster.create(4, {}, { RAFTSCHED_ENABLE_FAULTS: "1" });
});

afterAll(async () => {
  await c?.stopAll();
});

describe("a member removed while it was paused", () => {
  it("finds out from its peers and exits, also when restarted on its old data dir; a joiner not yet added stays", async () => {
    onTestFailed(() => c.printLogTails(25));
    const three = c.file(3);
    for (const id of ["n1", "n2", "n3"]) await c.start(id, three);
    await c.start("n4", c.file(4), { join: true }); // refused by everyone as not a peer, all along
    const leader = await c.waitForLeader(20_000);
    const paused = ["n1", "n2", "n3"].find((id) => id !== leader)!;

    c.signal(paused, "SIGSTOP");
    const others = ["n1", "n2", "n3"].filter((id) => id !== paused);
    for (const id of others) {
      const cut = await c.request(id, "POST", "/v1/debug/faults", { body: { blocked: others.map((o) => [o, paused]) } });
      expect(cut.status, JSON.stringify(cut.body)).toBe(200);
    }
    await sleep(1_500);
    const removed = await c.request(leader, "DELETE", `/v1/cluster/members/${paused}`, { timeoutMs: 30_000 });
    expect(removed.status, JSON.stringify(removed.body)).toBe(200);
    for (const id of others) await c.request(id, "POST", "/v1/debug/faults", { body: { blocked: [] } });
    c.signal(paused, "SIGCONT");
    const resumedAt = Date.now();
    const exit = await c.exitWithin(paused, LEAVES_WITHIN_MS);
    console.log(`removed while paused: ${paused} exited ${Date.now() - resumedAt} ms after SIGCONT`);
    expect(exit.code).toBe(0);
    expect(c.logText(paused)).toMatch(/removed from the cluster \(every peer refuses it as not a peer, and n\d answers leader n\d, members/);

    // Restarted on the same data dir: its configuration still lists it; it finds out the same way. Until it exits
    // it reports removed (or is not yet sure); it never reports healthy-and-removed.
    const restartedAt = Date.now();
    await c.start(paused, three, { waitHealthy: false });
    const again = await c.exitWithin(paused, LEAVES_WITHIN_MS);
    console.log(`restarted on its old data dir: ${paused} exited ${Date.now() - restartedAt} ms after the spawn`);
    expect(again.code).toBe(0);
    expect(c.logText(paused).split("--- test: starting").at(-1)).toMatch(/every peer refuses it as not a peer/);

    // The joiner was refused as not a peer for the whole test (well over 5 election timeouts) and still waits.
    expect(c.isRunning("n4")).toBe(true);
    const health = await c.request("n4", "GET", "/healthz");
    expect(health.status).toBe(200);
    expect((await c.request("n4", "GET", "/v1/status")).body.removed).toBe(false);

    // The cluster writes on.
    await waitFor("a write after the removal", 15_000, async () => {
      const r = await c.request(leader, "POST", "/v1/tasks", { body: { id: "after-removal", payload: {} }, timeoutMs: 5_000 });
      return r.status === 201 || r.status === 200;
    }, 100);
  }, 120_000);
});
