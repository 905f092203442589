// Issue #5 item 6: a rolling restart of a 3-node cluster under a steady submit load causes no failed writes. Each
// node in turn gets SIGTERM (a leader hands leadership over before it exits), is started again on the same data
// dir, and must catch up before the next one goes. Clients retry the SAME id on 503/504 and connection errors;
// every submit must end in a 2xx, no request may hang until the client gives up on it, and every acknowledged task
// must exist at the end. How long submits take is logged, not asserted: a write that arrives during a hand-over is
// held for up to 8 election timeouts (2.4 s here) by design, and on a loaded 2-core machine the hand-over itself
// takes longer (a CI run measured 3.1 s for the slowest submit); speed is the benchmark's subject.
import { afterAll, beforeAll, describe, expect, it, onTestFailed } from "vitest";
import { Cluster, LeaderMonitor, sleep, waitFor } from "./cluster-harness.js";

const FAST = { electionTimeoutMs: [150, 300] as const, heartbeatMs: 50, workerTimeoutMs: 1000, tickMs: 10 };
/** One request's client timeout: a request still unanswered by then was left hanging by the cluster. */
const REQUEST_TIMEOUT_MS = 5_000;
/** Load between two restarts, so each restart happens in a steady state. */
const SETTLE_MS = 1_500;

interface Acked {
  readonly latencyMs: number;
  readonly retries: number;
}

/** Closed-loop clients submitting unique ids to the running nodes in turn, retrying the same id on 503/504,
 *  timeouts and connection errors; anything else, or no 2xx within `giveUpMs`, is a failure. */
class SubmitLoad {
  readonly acked = new Map<string, Acked>();
  readonly failures: string[] = [];
  retries = 0;
  retryReasons = new Map<string, number>();
  private stopping = false;
  private loops: Promise<void>[] = [];
  private rotate = 0;

  constructor(
    private readonly c: Cluster,
    private readonly o: { clients: number; pauseMs: number; giveUpMs: number },
  ) {}

  start(): void {
    for (let k = 0; k < this.o.clients; k++) this.loops.push(this.client(k));
  }

  async stop(): Promise<void> {
    this.stopping = true;
    await Promise.all(this.loops);
  }

  private async client(k: number): Promise<void> {
    for (let seq = 0; !this.stopping; seq++) {
      await this.submitOne(`roll-c${k}-${seq}`);
      await sleep(this.o.pauseMs);
    }
  }

  private async submitOne(taskId: string): Promise<void> {
    const t0 = Date.now();
    let retries = 0;
    for (;;) {
      const nodes = this.c.runningIds();
      const via = nodes[this.rotate++ % Math.max(1, nodes.length)];
      let reason: string;
      if (via === undefined) {
        reason = "no running node";
      } else {
        try {
          const r = await this.c.submit(via, { id: taskId, payload: { sleepMs: 5 } }, { timeoutMs: REQUEST_TIMEOUT_MS });
          if (r.status === 200 || r.status === 201) {
            this.acked.set(taskId, { latencyMs: Date.now() - t0, retries });
            return;
          }
          if (r.status !== 503 && r.status !== 504) {
            this.failures.push(`${taskId} via ${via}: HTTP ${r.status} ${JSON.stringify(r.body)}`);
            return;
          }
          reason = `HTTP ${r.status} ${r.body?.error?.code ?? ""}`.trim();
        } catch (err) {
          const e = err as Error & { cause?: { code?: string } };
          reason = e.name === "TimeoutError" ? "timeout" : (e.cause?.code ?? e.message);
        }
      }
      retries++;
      this.retries++;
      this.retryReasons.set(reason, (this.retryReasons.get(reason) ?? 0) + 1);
      if (Date.now() - t0 > this.o.giveUpMs) {
        this.failures.push(`${taskId}: no 2xx within ${this.o.giveUpMs} ms after ${retries} retries (last: ${reason})`);
        return;
      }
      await sleep(25);
    }
  }
}

/** The `msg` of every JSON log line since the harness last started the node. */
function lastRunMessages(log: string): string[] {
  const run = log.slice(log.lastIndexOf("--- harness: starting"));
  const out: string[] = [];
  for (const line of run.split("\n")) {
    if (!line.startsWith("{")) continue;
    try {
      out.push(String((JSON.parse(line) as { msg?: unknown }).msg));
    } catch {
      // a line cut short by the exit
    }
  }
  return out;
}

describe("rolling restart of 3 nodes under load", () => {
  let c: Cluster | undefined;
  beforeAll(async () => {
    c = await Cluster.start({ nodes: 3, ...FAST });
  });
  afterAll(async () => {
    await c?.stopAll();
  });

  it("SIGTERM and restart every node in turn, the leader included: zero failed submits, none left hanging", async () => {
    onTestFailed(() => c?.printLogTails(60));
    const cl = c!;
    await cl.waitForLeader(15_000);
    const monitor = new LeaderMonitor(cl, 25).start();
    const load = new SubmitLoad(cl, { clients: 3, pauseMs: 10, giveUpMs: 20_000 });
    load.start();
    const steps: string[] = [];
    let leaderRestarts = 0;
    try {
      await sleep(SETTLE_MS);
      const pending = new Set(cl.ids);
      while (pending.size > 0) {
        // Take the current leader whenever it has not been restarted yet: that is the case that must not fail writes.
        const leader = await cl.waitForLeader(10_000);
        const id = pending.has(leader) ? leader : [...pending][0]!;
        pending.delete(id);
        const wasLeader = id === leader;
        if (wasLeader) leaderRestarts++;

        const t0 = Date.now();
        await cl.kill(id, "SIGTERM");
        const exit = await cl.exited(id);
        const stopMs = Date.now() - t0;
        expect(exit, `${id} after SIGTERM`).toEqual({ code: 0, signal: null });
        // A leader hands over before it stops: its last run's log says it stepped down between the signal and the stop.
        if (wasLeader) {
          const msgs = lastRunMessages(cl.logText(id));
          expect(msgs).toEqual(expect.arrayContaining(["shutting down", "stepped down", "node stopped"]));
          // The last step-down: on a loaded machine the node may have lost and regained leadership earlier in its run.
          expect(msgs.lastIndexOf("stepped down"), msgs.join(" | ")).toBeGreaterThan(msgs.indexOf("shutting down"));
          expect(msgs.lastIndexOf("stepped down"), msgs.join(" | ")).toBeLessThan(msgs.indexOf("node stopped"));
        }
        const others = cl.ids.filter((x) => x !== id);
        const next = await cl.waitForLeader(10_000, others);

        const t1 = Date.now();
        await cl.restart(id);
        const target = (await cl.status(next))?.commitIndex ?? 0;
        const st = await waitFor(`${id} to catch up to ${target}`, 20_000, async () => {
          const s = await cl.status(id);
          return s && s.appliedIndex >= target && s.leaderId !== null && s.role !== "candidate" ? s : undefined;
        }, 25);
        steps.push(`${id}${wasLeader ? " (leader)" : ""}: exited in ${stopMs} ms, leader then ${next}, back and caught up to ${st.appliedIndex} in ${Date.now() - t1} ms`);
        await sleep(SETTLE_MS);
      }
    } finally {
      await load.stop();
      await monitor.stop();
    }

    const lat = [...load.acked.values()].map((a) => a.latencyMs).sort((a, b) => a - b);
    const pct = (q: number): number => lat[Math.min(lat.length - 1, Math.floor(q * lat.length))] ?? 0;
    const maxMs = lat[lat.length - 1] ?? 0;
    const retried = [...load.acked.values()].filter((a) => a.retries > 0);
    console.log(
      [
        "rolling restart:",
        ...steps.map((s) => `  ${s}`),
        `  submits: ${load.acked.size} acknowledged, ${load.failures.length} failed; ${load.retries} client retries over ${retried.length} submits ` +
          `(most for one submit: ${Math.max(0, ...retried.map((a) => a.retries))}); reasons ${JSON.stringify(Object.fromEntries(load.retryReasons))}`,
        `  latency incl. retries: p50 ${pct(0.5)} ms, p99 ${pct(0.99)} ms, max ${maxMs} ms`,
        `  leader restarts: ${leaderRestarts}; election safety: ${monitor.samples} status samples, terms ${[...monitor.leadersByTerm.keys()].join(", ")}`,
      ].join("\n"),
    );

    expect(leaderRestarts).toBeGreaterThanOrEqual(1);
    expect(load.failures).toEqual([]);
    expect(load.acked.size).toBeGreaterThan(100);
    expect(load.retryReasons.get("timeout") ?? 0, "requests left unanswered for the client's whole timeout").toBe(0);
    expect(monitor.violations()).toEqual([]);

    // Every acknowledged task exists, once, in every node's linearizable listing.
    for (const id of cl.ids) {
      const tasks = await cl.listAll(id);
      const seen = new Map<string, number>();
      for (const t of tasks) seen.set(t.id as string, (seen.get(t.id as string) ?? 0) + 1);
      expect([...load.acked.keys()].filter((t) => !seen.has(t)), `acknowledged tasks missing on ${id}`).toEqual([]);
      expect([...seen].filter(([, n]) => n > 1), `duplicates on ${id}`).toEqual([]);
    }
  }, 90_000);
});
