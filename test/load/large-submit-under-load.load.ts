// Issue 14 point 3: a body-limit (~1 MiB) submit while the cluster is busy must not cost the leader its leadership.
// Reproduced twice before: a 1 MiB submit through a follower, at load average 22, ran the leader's event loop past
// the election timeout (150–300 ms, the defaults), a follower elected itself, and the submit ended 504.
//
// Three real nodes with the default timings, 64 closed-loop clients submitting small tasks that run, and meanwhile
// several 1 MiB submits, through each follower and to the leader. The assertion is not a timing: no node may see
// another term during the run (no election at all), every big submit is answered 201 and reads back whole. Each
// node's own event-loop max delay over the run (/metrics) is printed, for the record.
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { Cluster, sleep, type HttpAnswer } from "../integration/cluster-harness.js";
import { MAX_BODY_BYTES } from "../../src/api/http-util.js";

const SMALL_CLIENTS = 64;
/** Small-task load before the first big submit, so the cluster is busy when it arrives. */
const WARMUP_MS = 1_500;

/** JSON text of exactly `size` bytes: `{"id":"<id>","payload":[1e20,...]}` padded with spaces. The payload
 *  re-serializes about 4× larger (1e20 is written 100000000000000000000): the costliest body the limit lets in. */
function numbersBody(size: number, id: string): string {
  const head = `{"id":"${id}","payload":[`;
  const text = `${head}${Array<string>(Math.floor((size - head.length - 2) / 5)).fill("1e20").join(",")}]`;
  return `${text}${" ".repeat(size - text.length - 1)}}`;
}

/** A 1 MiB body of many small objects: the parse and the command encode/decode work per value. */
function objectsBody(size: number, id: string): string {
  const head = `{"id":"${id}","payload":{"items":[`;
  const item = `{"k":"abcdefgh","n":12345,"b":true}`;
  const count = Math.floor((size - head.length - 3) / (item.length + 1));
  const text = `${head}${Array<string>(count).fill(item).join(",")}]}`;
  return `${text}${" ".repeat(size - text.length - 1)}}`;
}

let cluster: Cluster;

beforeAll(async () => {
  cluster = await Cluster.start({ nodes: 3 });
  await cluster.waitForLeader();
});

afterAll(async () => {
  await cluster?.stopAll();
});

/** Every term any node reported while polling, and the roles seen. */
class TermWatch {
  readonly terms = new Set<number>();
  readonly leaders = new Set<string>();
  private stopped = false;
  private loop: Promise<void> | null = null;

  start(): this {
    this.loop = (async () => {
      while (!this.stopped) {
        const all = await cluster.statusAll(cluster.ids, 2_000);
        for (const s of all.values()) {
          this.terms.add(s.term);
          if (s.role === "leader") this.leaders.add(`${s.id}@${s.term}`);
        }
        await sleep(50);
      }
    })();
    return this;
  }

  async stop(): Promise<void> {
    this.stopped = true;
    await this.loop;
  }
}

/** The largest event-loop delay a node saw since its previous scrape (it resets at each read). */
async function eventLoopMaxMs(id: string): Promise<number | null> {
  const r = await cluster.request(id, "GET", "/metrics", { timeoutMs: 10_000 }).catch(() => null);
  const m = typeof r?.body === "string" ? /^raftsched_event_loop_delay_max_seconds(?:\{[^}]*\})? (\S+)$/m.exec(r.body) : null;
  return m ? Math.round(Number(m[1]) * 1000) : null;
}

describe("a 1 MiB submit under 64-client load", () => {
  it("causes no election, and every big submit is answered 201 and reads back whole", { timeout: 180_000 }, async () => {
    const leader = await cluster.waitForLeader();
    const followers = cluster.ids.filter((id) => id !== leader);
    const before = await cluster.statusAll(cluster.ids, 5_000);
    const term = before.get(leader)!.term;
    for (const id of cluster.ids) await eventLoopMaxMs(id); // resets each node's max: the reading below is this run's
    const watch = new TermWatch().start();

    let stop = false;
    const small = { ok: 0, failed: new Map<string, number>() };
    const clients = Array.from({ length: SMALL_CLIENTS }, async (_, c) => {
      for (let n = 0; !stop; n++) {
        const a = await cluster.submit(leader, { id: `small-${c}-${n}`, payload: { sleepMs: 0 } }, { timeoutMs: 15_000 }).catch((err: Error) => ({ status: -1, body: err.message }) as HttpAnswer);
        if (a.status === 201) small.ok++;
        else small.failed.set(String(a.status), (small.failed.get(String(a.status)) ?? 0) + 1);
      }
    });

    await sleep(WARMUP_MS);
    const big: Array<{ id: string; via: string; body: string }> = [
      { id: "big-numbers-f1", via: followers[0]!, body: numbersBody(MAX_BODY_BYTES, "big-numbers-f1") },
      { id: "big-numbers-leader", via: leader, body: numbersBody(MAX_BODY_BYTES, "big-numbers-leader") },
      { id: "big-objects-f2", via: followers[1]!, body: objectsBody(MAX_BODY_BYTES, "big-objects-f2") },
      { id: "big-objects-leader", via: leader, body: objectsBody(MAX_BODY_BYTES, "big-objects-leader") },
    ];
    // L1_NO_BIG=1: the same 64-client load for 10 s without the big submits (does the load alone elect? It did not:
    // 2 of 2 runs at load 14–22 on 2026-12-07).
    if (process.env.L1_NO_BIG === "1") (big.length = 0), await sleep(10_000);
    const answers: Array<{ id: string; via: string; status: number; detail: string }> = [];
    for (const b of big) {
      const a = await cluster.request(b.via, "POST", "/v1/tasks", { rawBody: b.body, timeoutMs: 30_000 }).catch((err: Error) => ({ status: -1, body: err.message }) as HttpAnswer);
      answers.push({ id: b.id, via: b.via, status: a.status, detail: a.status === 201 ? "" : JSON.stringify(a.body).slice(0, 200) });
    }
    await sleep(500);
    stop = true;
    await Promise.all(clients);
    await watch.stop();

    const loopMaxMs = new Map<string, number | null>();
    for (const id of cluster.ids) loopMaxMs.set(id, await eventLoopMaxMs(id));
    const after = await cluster.statusAll(cluster.ids, 5_000);
    console.log(
      `large-submit-under-load: leader ${leader} term ${term}; terms seen ${[...watch.terms].join(",")}; leaders seen ${[...watch.leaders].join(",")}; ` +
        `event-loop max delay (ms) ${[...loopMaxMs].map(([id, ms]) => `${id}${id === leader ? "(leader)" : ""}=${ms}`).join(" ")}; ` +
        `small submits ok ${small.ok}, failed ${JSON.stringify(Object.fromEntries(small.failed))}; big: ${answers.map((a) => `${a.id} via ${a.via} → ${a.status} ${a.detail}`).join("; ")}`,
    );

    if (process.env.RAFTSCHED_TRACE_LOOP_BLOCKS) {
      // What each node's long event-loop turns held (src/util/loop-block-trace.ts), when the run traces them.
      for (const id of cluster.ids) {
        const lines = cluster.logTail(id, 20_000).split("\n").filter((l) => l.startsWith("loop-block"));
        console.log(`${id}${id === leader ? "(leader)" : ""} loop blocks:\n${lines.slice(-40).join("\n")}`);
      }
    }
    if (watch.terms.size > 1) {
      // Why leadership moved, from the nodes' own logs (a step-down for a stalled disk, a lost quorum, …).
      for (const id of cluster.ids) {
        const lines = cluster.logTail(id, 5_000).split("\n").filter((l) => /leader|stall|campaign|quorum/i.test(l));
        console.log(`${id}:\n${lines.slice(-12).join("\n")}`);
      }
    }
    for (const a of answers) expect(a.status, `${a.id} via ${a.via}: ${a.detail}`).toBe(201);
    expect([...watch.terms], "no node may see another term: an election happened").toEqual([term]);
    for (const id of cluster.ids) expect(after.get(id)?.term, `${id}'s term after the run`).toBe(term);
    expect(small.ok).toBeGreaterThan(0);

    // Every big task reads back whole, from the leader (linearizable).
    for (const b of big) {
      const got = await cluster.get(leader, b.id, { timeoutMs: 15_000 });
      expect(got?.id).toBe(b.id);
      expect(got.payload).toEqual((JSON.parse(b.body) as { payload: unknown }).payload);
    }
  });
});
