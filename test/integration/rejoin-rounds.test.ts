// Issue #16: README "Deploying" step 6 (remove a node, start it on an empty data dir with --join, add it back)
// three times in a row on one 3-node cluster while clients keep submitting. Before the fix the rejoining node
// replayed its own old removal and exited: a dead voter after the first round, a cluster without quorum after the
// second. Every voter must stay running, the cluster must keep answering, and no acknowledged submit is lost.
import { rmSync } from "node:fs";
import { afterAll, beforeAll, describe, expect, it, onTestFailed } from "vitest";
import { Cluster, sleep, waitFor } from "./cluster-harness.js";

/** A rejoined node that wrongly decided to leave does so 500 ms after replaying its removal: wait well past it. */
const STAYS_RUNNING_MS = 3_000;
const ROUNDS = 3;

describe("README 'Deploying' step 6, three rounds in a row under a trickle of submits", () => {
  let c: Cluster | undefined;
  beforeAll(async () => {
    c = await Cluster.start({ nodes: 3 });
  });
  afterAll(async () => {
    await c?.stopAll();
  });

  it("keeps every voter running and the cluster available", async () => {
    onTestFailed(() => c?.printLogTails(30));
    const cl = c!;
    let leader = await cl.waitForLeader(20_000);

    // The trickle: one submit at a time through any running node, retried with the same id (so an answer lost in
    // a leader change cannot duplicate it). Every acknowledged id must exist at the end.
    const acked: string[] = [];
    let trickling = true;
    let trickleError: unknown = null;
    const trickle = (async () => {
      for (let i = 0; trickling; i++) {
        const id = `trickle-${i}`;
        await cl.submitWithRetry({ id, payload: {} }, 30_000);
        acked.push(id);
        await sleep(50);
      }
    })().catch((err: unknown) => {
      trickleError = err;
    });
    onTestFailed(() => {
      trickling = false;
    });

    for (let round = 1; round <= ROUNDS; round++) {
      leader = await cl.waitForLeader(20_000);
      const followers = cl.ids.filter((id) => id !== leader);
      const victim = followers[round % followers.length]!;
      const removed = await cl.request(leader, "DELETE", `/v1/cluster/members/${victim}`, { timeoutMs: 20_000 });
      expect(removed.status, `round ${round}: remove ${victim}: ${JSON.stringify(removed.body)}`).toBe(200);
      // A removed node stops by itself; the disk is then "lost".
      await waitFor(`round ${round}: ${victim} to stop after its removal`, 15_000, () => !cl.isRunning(victim));
      rmSync(cl.dataDir(victim), { recursive: true, force: true });
      const logBefore = cl.logText(victim).length;
      await cl.restart(victim, 30_000, { join: true });

      const target = (await cl.status(leader))?.commitIndex ?? 0;
      const added = await cl.request(leader, "POST", "/v1/cluster/members", { body: { id: victim, url: cl.url(victim), role: "voter" }, timeoutMs: 80_000 });
      expect([200, 201], `round ${round}: add ${victim}: ${JSON.stringify(added.body)}`).toContain(added.status);
      await waitFor(`round ${round}: ${victim} to catch up to ${target}`, 30_000, async () => ((await cl.status(victim))?.appliedIndex ?? 0) >= target);
      await sleep(STAYS_RUNNING_MS);

      // Every voter of the configuration is a running process, and the cluster answers.
      const members = await waitFor(`round ${round}: the cluster to answer`, 20_000, async () => {
        const r = await cl.request(leader, "GET", "/v1/cluster", { timeoutMs: 2_000 }).catch(() => null);
        return r?.status === 200 ? (r.body.members as Array<{ id: string; role: string }>) : undefined;
      });
      expect(members.filter((m) => m.role === "voter").map((m) => m.id).sort(), `round ${round}`).toEqual([...cl.ids].sort());
      for (const id of cl.ids) expect(cl.isRunning(id), `round ${round}: ${id} is running (${victim} was re-added)`).toBe(true);
      expect(cl.logText(victim).slice(logBefore)).not.toMatch(/removed from the cluster; exiting/);
      const probe = await cl.submitWithRetry({ id: `after-round-${round}`, payload: {} }, 20_000);
      expect([200, 201]).toContain(probe.status);
    }

    trickling = false;
    await trickle;
    expect(trickleError, "the trickle of submits kept being acknowledged").toBeNull();
    leader = await cl.waitForLeader(20_000);
    expect(acked.length).toBeGreaterThan(0);
    for (const id of acked) {
      const t = await cl.get(leader, id, { timeoutMs: 5_000 });
      expect(t?.id, `acknowledged ${id} is on the leader`).toBe(id);
    }
    console.log(`rejoin rounds: ${ROUNDS} rounds, ${acked.length} trickle submits acknowledged, all present`);
  }, 240_000);
});
