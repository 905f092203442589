// Issue 13 (with issue #18 item 4): DELETE /v1/tasks/:id, POST /v1/tasks/:id/retry and schedule create/delete are
// held through a leader hand-over as submits are (src/node/transfer-hold.ts); they used to fail with 503
// TRANSFER_IN_PROGRESS. As handover-writes.test.ts: three graceful leader restarts (SIGTERM) under a load of these
// writes, sent only to nodes that stay up; a write refused for the hand-over (TRANSFER_IN_PROGRESS, SHUTTING_DOWN)
// or failed on the connection is a failure. A 503 NO_LEADER or 504 OUTCOME_UNKNOWN from an election the machine's
// load may cause is retried, as clients do, and a retry may then find the first try applied (404 after a DELETE,
// 409 after a retry, 200 for a schedule created): that counts as done.
import { afterAll, beforeAll, describe, expect, it, onTestFailed } from "vitest";
import { Cluster, sleep } from "./cluster-harness.js";
import { gracefulLeaderRestarts } from "./graceful-leader-restarts.js";

const FAST = { electionTimeoutMs: [150, 300] as const, heartbeatMs: 50, workerTimeoutMs: 1000, tickMs: 10 };
const RETRIED = new Set(["503 NO_LEADER", "504 OUTCOME_UNKNOWN"]);

type Kind = "delete" | "retry" | "schedule-add" | "schedule-delete" | "setup";
/** What a retry may answer when the earlier try was applied after all. */
const DONE_ON_RETRY: Record<Kind, readonly string[]> = {
  delete: ["404 NOT_FOUND"],
  retry: ["409 INVALID_STATE"],
  "schedule-add": [],
  "schedule-delete": ["404 NOT_FOUND"],
  setup: ["409 INVALID_STATE"],
};

describe("lifecycle writes during a leader's hand-over", () => {
  let c: Cluster | undefined;
  beforeAll(async () => {
    c = await Cluster.start({ nodes: 3, ...FAST });
  });
  afterAll(async () => {
    await c?.stopAll();
  });

  it("three graceful leader restarts under DELETE, retry and schedule writes: none fails on the nodes that stay up", async () => {
    onTestFailed(() => c?.printLogTails(60));
    const cl = c!;
    await cl.waitForLeader(15_000);
    let stopping: string | null = null;
    let done = false;
    const failures: string[] = [];
    const answers = new Map<string, number>();
    const counted = { delete: 0, retry: 0, "schedule-add": 0, "schedule-delete": 0, setup: 0 };

    /** Sends one write until it is done (2xx, or what a retry may find), through the nodes that stay up. */
    const write = async (kind: Kind, k: number, method: string, path: string, body?: unknown): Promise<boolean> => {
      for (let attempt = 0; ; attempt++) {
        const up = cl.runningIds().filter((x) => x !== stopping);
        const via = up[(k + attempt) % up.length]!;
        let key: string;
        try {
          const r = await cl.request(via, method, path, { ...(body !== undefined ? { body } : {}), timeoutMs: 10_000 });
          key = `${r.status} ${(r.body as { error?: { code?: string } } | undefined)?.error?.code ?? ""}`.trim();
        } catch (err) {
          const e = err as Error & { cause?: { code?: string } };
          key = e.name === "TimeoutError" ? "client timeout" : `connection: ${e.cause?.code ?? e.message}`;
        }
        answers.set(`${kind} ${key}`, (answers.get(`${kind} ${key}`) ?? 0) + 1);
        if (key.startsWith("2") || (attempt > 0 && DONE_ON_RETRY[kind].includes(key))) {
          counted[kind]++;
          return true;
        }
        if (!RETRIED.has(key) || attempt >= 40) {
          failures.push(`${kind} ${path} via ${via}: ${key}`);
          return false;
        }
        await sleep(25);
      }
    };
    // Each client works on tasks of its own: a long task submitted and cancelled (cancel is held already), then
    // retried and cancelled again, then deleted; and a schedule created and deleted.
    const client = async (k: number): Promise<void> => {
      for (let seq = 0; !done; seq++) {
        const id = `life-c${k}-${seq}`;
        if (!(await write("setup", k, "POST", "/v1/tasks", { id, payload: { sleepMs: 60_000 } }))) continue;
        if (!(await write("setup", k, "POST", `/v1/tasks/${id}/cancel`, {}))) continue;
        if (!(await write("retry", k, "POST", `/v1/tasks/${id}/retry`, {}))) continue;
        if (!(await write("setup", k, "POST", `/v1/tasks/${id}/cancel`, {}))) continue;
        await write("delete", k, "DELETE", `/v1/tasks/${id}`);
        const sid = `life-s${k}-${seq}`;
        if (await write("schedule-add", k, "POST", "/v1/schedules", { id: sid, everyMs: 3_600_000, task: { payload: {} } })) {
          await write("schedule-delete", k, "DELETE", `/v1/schedules/${sid}`);
        }
        await sleep(5);
      }
    };
    const loops = [0, 1, 2].map((k) => client(k));
    try {
      await sleep(1000);
      await gracefulLeaderRestarts(cl, 3, (id) => (stopping = id));
    } finally {
      done = true;
      await Promise.all(loops);
    }
    console.log(`hand-over lifecycle writes: ${JSON.stringify(counted)} done, ${failures.length} failed; answers ${JSON.stringify(Object.fromEntries(answers))}`);
    expect(counted.delete).toBeGreaterThan(10);
    expect(counted.retry).toBeGreaterThan(10);
    expect(counted["schedule-add"]).toBeGreaterThan(10);
    expect(failures).toEqual([]);
  }, 120_000);
});
