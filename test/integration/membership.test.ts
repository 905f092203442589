// Issue #5 item 6 with real node processes on loopback: the cluster grows 3 → 5 and shrinks 5 → 3 (a follower,
// then the leader) while clients keep submitting, and no acknowledged submit is lost; after every change each live
// member reports the same membership. A node whose data dir is wiped is refused by its peers until it is removed
// and added back, then catches up from the leader's snapshot; a learner runs tasks like any other member.
//
// Growing needs a first cluster file listing n1..n3 (they bootstrap with those voters) and a second listing n1..n5
// with the same urls for the joiners: ElasticCluster (elastic-cluster.ts, on the shared src/process-cluster).
import { execFile } from "node:child_process";
import { rmSync } from "node:fs";
import { afterAll, beforeAll, describe, expect, it, onTestFailed } from "vitest";
import { CLI_PATH, REPO_ROOT, sleep, waitFor } from "./cluster-harness.js";
import { ElasticCluster } from "./elastic-cluster.js";

const FORWARDED_HEADER = "x-raftsched-forwarded"; // asks a follower for its own view instead of the leader's
/** How long every live member may take to show the same membership after a change (a shared 2-core box). */
const AGREE_TIMEOUT_MS = 20_000;

// ---- a steady submit load ---------------------------------------------------------------------------------------

interface LoadStats {
  readonly acked: Map<string, { latencyMs: number; retries: number; via: string }>;
  readonly failures: string[];
  retries: number;
  maxLatencyMs: number;
}

/** Closed-loop clients, each submitting unique ids one after another to the nodes `targets()` names (rotating),
 *  and retrying the SAME id on 503/504, timeouts and connection errors. Any other answer, or a submit that never
 *  succeeds within `giveUpMs`, is a failure. stop() lets every in-flight submit finish. */
class SubmitLoad {
  readonly stats: LoadStats = { acked: new Map(), failures: [], retries: 0, maxLatencyMs: 0 };
  private stopping = false;
  private loops: Promise<void>[] = [];
  private rotate = 0;

  constructor(
    private readonly c: ElasticCluster,
    private readonly targets: () => readonly string[],
    private readonly o: { prefix: string; clients: number; pauseMs: number; giveUpMs: number },
  ) {}

  start(): void {
    for (let k = 0; k < this.o.clients; k++) this.loops.push(this.client(k));
  }

  async stop(): Promise<LoadStats> {
    this.stopping = true;
    await Promise.all(this.loops);
    return this.stats;
  }

  private async client(k: number): Promise<void> {
    for (let seq = 0; !this.stopping; seq++) {
      await this.submitOne(`${this.o.prefix}-c${k}-${seq}`);
      await sleep(this.o.pauseMs);
    }
  }

  private async submitOne(taskId: string): Promise<void> {
    const t0 = Date.now();
    let retries = 0;
    let last = "";
    for (;;) {
      const nodes = this.targets();
      const via = nodes[this.rotate++ % Math.max(1, nodes.length)];
      if (via === undefined) throw new Error("no submit target");
      try {
        const r = await this.c.request(via, "POST", "/v1/tasks", { body: { id: taskId, payload: { sleepMs: 5 } }, timeoutMs: 5_000 });
        if (r.status === 200 || r.status === 201) {
          const latencyMs = Date.now() - t0;
          this.stats.acked.set(taskId, { latencyMs, retries, via });
          this.stats.maxLatencyMs = Math.max(this.stats.maxLatencyMs, latencyMs);
          return;
        }
        if (r.status !== 503 && r.status !== 504) {
          this.stats.failures.push(`${taskId} via ${via}: HTTP ${r.status} ${JSON.stringify(r.body)}`);
          return;
        }
        last = `HTTP ${r.status} ${r.body?.error?.code ?? ""}`;
      } catch (err) {
        last = (err as Error).message;
      }
      retries++;
      this.stats.retries++;
      if (Date.now() - t0 > this.o.giveUpMs) {
        this.stats.failures.push(`${taskId}: no 2xx within ${this.o.giveUpMs} ms after ${retries} retries (last: ${last})`);
        return;
      }
      await sleep(50);
    }
  }
}

// ---- checks -----------------------------------------------------------------------------------------------------

/** "n1:voter n2:voter …" of a GET /v1/cluster answer, sorted, with the url each member is listed at. */
function membershipKey(body: any, urlOf: (id: string) => string): string {
  const members = (body?.members ?? []) as Array<{ id: string; url: string | null; role: string }>;
  for (const m of members) if (m.url !== urlOf(m.id)) return `bad url for ${m.id}: ${m.url}`;
  return members
    .map((m) => `${m.id}:${m.role}`)
    .sort()
    .join(" ");
}

/** Polls GET /v1/cluster on every running member — the answer a client sees, and the node's own local view — until
 *  all of them show exactly `expected`; returns how long that took. (A joiner nobody has added yet is no member.) */
async function waitMembershipAgreed(c: ElasticCluster, expected: Record<string, "voter" | "learner">, what: string): Promise<number> {
  const want = Object.entries(expected)
    .map(([id, role]) => `${id}:${role}`)
    .sort()
    .join(" ");
  const t0 = Date.now();
  let last = "";
  await waitFor(`every live member to show ${want} (${what})`, AGREE_TIMEOUT_MS, async () => {
    const views: string[] = [];
    for (const id of c.runningIds().filter((n) => n in expected)) {
      const client = await c.request(id, "GET", "/v1/cluster", { timeoutMs: 2_000 });
      const local = await c.request(id, "GET", "/v1/cluster", { timeoutMs: 2_000, headers: { [FORWARDED_HEADER]: "membership-test" } });
      if (client.status !== 200 || local.status !== 200) return false;
      views.push(`${id}=${membershipKey(client.body, (m) => c.url(m))}`, `${id}(local)=${membershipKey(local.body, (m) => c.url(m))}`);
    }
    last = views.join("; ");
    return views.every((v) => v.endsWith(`=${want}`));
  }, 100).catch((err) => {
    throw new Error(`${(err as Error).message}\nlast views: ${last}`);
  });
  return Date.now() - t0;
}

/** Every acknowledged id is readable (linearizable GET) through some live node, and every live node's linearizable
 *  listing holds each of them exactly once. */
async function expectAllAcked(c: ElasticCluster, acked: ReadonlyMap<string, unknown>): Promise<void> {
  const nodes = c.runningIds();
  for (const id of nodes) {
    const seen = new Map<string, number>();
    let after: string | null = null;
    for (let page = 0; page < 1000; page++) {
      const q: string = `/v1/tasks?limit=1000${after !== null ? `&after=${encodeURIComponent(after)}` : ""}`;
      const r = await c.request(id, "GET", q, { timeoutMs: 10_000 });
      expect(r.status, JSON.stringify(r.body)).toBe(200);
      for (const t of r.body.tasks as Array<{ id: string }>) seen.set(t.id, (seen.get(t.id) ?? 0) + 1);
      after = r.body.next;
      if (after === null) break;
    }
    const missing = [...acked.keys()].filter((t) => !seen.has(t));
    expect(missing, `acknowledged tasks missing from ${id}'s listing`).toEqual([]);
    expect([...seen].filter(([, n]) => n > 1), `duplicated in ${id}'s listing`).toEqual([]);
  }
  const ids = [...acked.keys()];
  const missing: string[] = [];
  const workers = Array.from({ length: 8 }, async (_, w) => {
    for (let i = w; i < ids.length; i += 8) {
      const tid = ids[i]!;
      const via = nodes[i % nodes.length]!;
      const r = await c.request(via, "GET", `/v1/tasks/${encodeURIComponent(tid)}`, { timeoutMs: 5_000 });
      if (r.status !== 200 || r.body?.id !== tid) missing.push(`${tid} via ${via}: HTTP ${r.status}`);
    }
  });
  await Promise.all(workers);
  expect(missing, "acknowledged tasks a linearizable GET did not find").toEqual([]);
}

function cliEnv(): NodeJS.ProcessEnv {
  const env = { ...process.env };
  delete env.RAFTSCHED_TOKEN; // the cluster file's token is the one under test
  return env;
}

function runCli(args: string[]): Promise<{ code: number; stdout: string; stderr: string }> {
  return new Promise((resolve) => {
    execFile(process.execPath, [CLI_PATH, ...args], { cwd: REPO_ROOT, timeout: 80_000, env: cliEnv() }, (err, stdout, stderr) => {
      const code = err ? (typeof (err as { code?: unknown }).code === "number" ? ((err as { code: number }).code) : 1) : 0;
      resolve({ code, stdout, stderr });
    });
  });
}

function summary(s: LoadStats): string {
  const lat = [...s.acked.values()].map((a) => a.latencyMs).sort((a, b) => a - b);
  const p = (q: number): number => lat[Math.min(lat.length - 1, Math.floor(q * lat.length))] ?? 0;
  const retried = [...s.acked.values()].filter((a) => a.retries > 0).length;
  return `${s.acked.size} acknowledged, ${s.failures.length} failed, ${s.retries} retries (${retried} submits retried), latency p50 ${p(0.5)} ms p99 ${p(0.99)} ms max ${s.maxLatencyMs} ms`;
}

// ---- the tests --------------------------------------------------------------------------------------------------

describe("grow 3 → 5 and shrink 5 → 3 under a steady submit load", () => {
  let c: ElasticCluster | undefined;
  beforeAll(async () => {
    c = await ElasticCluster.create(5);
  });
  afterAll(async () => {
    await c?.stopAll();
  });

  it("adds two voters (HTTP and CLI), removes a follower and then the leader, loses no acknowledged submit, and every member agrees after each change", async () => {
    onTestFailed(() => c?.printLogTails());
    const cl = c!;
    const three = cl.file(3);
    const five = cl.file(5);
    await Promise.all(["n1", "n2", "n3"].map((id) => cl.start(id, three)));
    await cl.waitForLeader();
    await waitMembershipAgreed(cl, { n1: "voter", n2: "voter", n3: "voter" }, "bootstrap");
    // The joiners start before anyone adds them; they must wait, not bootstrap a cluster of their own.
    await Promise.all(["n4", "n5"].map((id) => cl.start(id, five, { join: true })));
    for (const id of ["n4", "n5"]) {
      const st = await cl.status(id);
      expect(st?.role, `${id} before being added`).not.toBe("leader");
      expect(st?.term ?? 0).toBe(0);
    }

    let targets = ["n1", "n2", "n3"];
    const load = new SubmitLoad(cl, () => targets, { prefix: "grow", clients: 3, pauseMs: 10, giveUpMs: 20_000 });
    load.start();
    const timings: string[] = [];
    try {
      await sleep(1_000);

      // Grow: n4 through HTTP on a follower (forwarded to the leader), n5 through the CLI.
      let leader = await cl.waitForLeader();
      const follower = ["n1", "n2", "n3"].find((id) => id !== leader)!;
      let t0 = Date.now();
      const add4 = await cl.request(follower, "POST", "/v1/cluster/members", { body: { id: "n4", url: cl.url("n4"), role: "voter" }, timeoutMs: 80_000 });
      expect(add4.status, JSON.stringify(add4.body)).toBe(201);
      expect(membershipKey(add4.body, (m) => cl.url(m))).toBe("n1:voter n2:voter n3:voter n4:voter");
      timings.push(`add n4 ${Date.now() - t0} ms`);
      targets = ["n1", "n2", "n3", "n4"];
      timings.push(`agree ${await waitMembershipAgreed(cl, { n1: "voter", n2: "voter", n3: "voter", n4: "voter" }, "after adding n4")} ms`);
      expect((await cl.status("n4"))?.role).toBe("follower");

      t0 = Date.now();
      const add5 = await runCli(["member", "add", "n5", "--config", five, "--json"]);
      expect(add5.code, `${add5.stdout}\n${add5.stderr}`).toBe(0);
      expect(membershipKey(JSON.parse(add5.stdout), (m) => cl.url(m))).toBe("n1:voter n2:voter n3:voter n4:voter n5:voter");
      timings.push(`add n5 (CLI) ${Date.now() - t0} ms`);
      targets = ["n1", "n2", "n3", "n4", "n5"];
      const all5 = { n1: "voter", n2: "voter", n3: "voter", n4: "voter", n5: "voter" } as const;
      timings.push(`agree ${await waitMembershipAgreed(cl, all5, "after adding n5")} ms`);
      await sleep(1_000);

      // Shrink: first a follower (one of the original three), then the leader, each through the leader's API.
      leader = await cl.waitForLeader();
      const victim = ["n1", "n2", "n3"].find((id) => id !== leader)!;
      targets = targets.filter((id) => id !== victim);
      t0 = Date.now();
      const rm1 = await cl.request(leader, "DELETE", `/v1/cluster/members/${victim}`, { timeoutMs: 20_000 });
      expect(rm1.status, JSON.stringify(rm1.body)).toBe(200);
      timings.push(`remove follower ${victim} ${Date.now() - t0} ms`);
      const after1: Record<string, "voter"> = {};
      for (const id of cl.ids) if (id !== victim) after1[id] = "voter";
      expect(await cl.exitWithin(victim, 15_000)).toEqual({ code: 0, signal: null });
      expect(cl.logText(victim)).toMatch(/removed from the cluster/);
      timings.push(`agree ${await waitMembershipAgreed(cl, after1, `after removing ${victim}`)} ms`);
      await sleep(1_000);

      leader = await cl.waitForLeader();
      targets = targets.filter((id) => id !== leader);
      t0 = Date.now();
      const rm2 = await cl.request(leader, "DELETE", `/v1/cluster/members/${leader}`, { timeoutMs: 20_000 });
      expect(rm2.status, JSON.stringify(rm2.body)).toBe(200);
      timings.push(`remove leader ${leader} ${Date.now() - t0} ms`);
      expect(await cl.exitWithin(leader, 15_000)).toEqual({ code: 0, signal: null });
      expect(cl.logText(leader)).toMatch(/removed from the cluster/);
      const after2: Record<string, "voter"> = {};
      for (const id of Object.keys(after1)) if (id !== leader) after2[id] = "voter";
      timings.push(`agree ${await waitMembershipAgreed(cl, after2, `after removing the leader ${leader}`)} ms`);
      const newLeader = await cl.waitForLeader();
      expect(newLeader).not.toBe(leader);
      await sleep(1_000);
    } finally {
      await load.stop();
    }
    const s = load.stats;
    console.log(`membership under load: ${timings.join(", ")}; ${summary(s)}`);
    expect(s.failures).toEqual([]);
    expect(s.acked.size).toBeGreaterThan(100);
    expect(cl.runningIds()).toHaveLength(3);
    await expectAllAcked(cl, s.acked);
  }, 120_000);
});

/** Submits `id` until acknowledged. On a loaded 2-core box a snapshot can stall a leader past the election timeout:
 *  a submit caught in the leader change answers 503/504 and is retried with the same id (idempotent), through the
 *  running nodes in turn. Any other answer fails the test. */
async function submitRetrying(cl: ElasticCluster, id: string, first: string, timeoutMs = 30_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  const via = [first, ...cl.ids.filter((x) => x !== first && cl.isRunning(x))];
  for (let k = 0; ; k++) {
    const r = await cl.request(via[k % via.length]!, "POST", "/v1/tasks", { body: { id, payload: {} } }).catch(() => null);
    if (r && (r.status === 200 || r.status === 201)) return;
    if (r && r.status !== 503 && r.status !== 504) expect(r.status, JSON.stringify(r.body)).toBe(201);
    if (Date.now() > deadline) throw new Error(`submit ${id} not acknowledged within ${timeoutMs} ms (last: ${JSON.stringify(r?.body)})`);
    await sleep(50);
  }
}

describe("a node whose data dir is wiped", () => {
  let c: ElasticCluster | undefined;
  beforeAll(async () => {
    c = await ElasticCluster.create(3, { snapshotEveryEntries: 100 });
  });
  afterAll(async () => {
    await c?.stopAll();
  });

  it("is refused while it runs on the new disk unannounced, and catches up from a snapshot once removed and added back", async () => {
    onTestFailed(() => c?.printLogTails());
    const cl = c!;
    const file = cl.file(3);
    await Promise.all(cl.ids.map((id) => cl.start(id, file)));
    let leader = await cl.waitForLeader();
    const old = Array.from({ length: 300 }, (_, i) => `old-${String(i).padStart(3, "0")}`);
    const submitters = Array.from({ length: 10 }, async (_, w) => {
      for (let i = w; i < old.length; i += 10) {
        await submitRetrying(cl, old[i]!, leader);
      }
    });
    await Promise.all(submitters);
    leader = await cl.waitForLeader();
    // The leader must have compacted past the start of the log, or the wiped node could catch up from entries.
    await waitFor("the leader to snapshot and compact its log", 20_000, () =>
      cl
        .logText(leader)
        .split("\n")
        .some((l) => l.includes("snapshot taken and log compacted") && (JSON.parse(l).compactedTo as number) > 0),
    );

    const victim = cl.ids.find((id) => id !== leader)!;
    await cl.kill(victim, "SIGKILL");
    rmSync(cl.dataDir(victim), { recursive: true, force: true });

    // Restarted on an empty data dir from the same file: its peers know its old disk and refuse it, so it can
    // neither vote nor acknowledge with the log it lost, and the other two go on committing.
    await cl.start(victim, file);
    await waitFor(`the peers to refuse ${victim}'s new disk`, 15_000, () => cl.logText(leader).includes(`STORAGE_REPLACED: node ${victim}`));
    await waitFor(`${victim} to log why it is refused`, 15_000, () => /refused with HTTP 409: STORAGE_REPLACED/.test(cl.logText(victim)));
    const during = "written-while-wiped";
    await submitRetrying(cl, during, leader);
    expect(((await cl.status(victim)) as { appliedIndex: number }).appliedIndex).toBe(0);

    // The way back (README "Deploying" step 6): remove it, start it empty with --join, add it back.
    const removed = await cl.request(leader, "DELETE", `/v1/cluster/members/${victim}`, { timeoutMs: 20_000 });
    expect(removed.status, JSON.stringify(removed.body)).toBe(200);
    await cl.kill(victim, "SIGKILL");
    rmSync(cl.dataDir(victim), { recursive: true, force: true });
    await cl.start(victim, file, { join: true });
    const target = (await cl.status(leader)).commitIndex as number;
    const t0 = Date.now();
    const added = await cl.request(leader, "POST", "/v1/cluster/members", { body: { id: victim, url: cl.url(victim), role: "voter" }, timeoutMs: 80_000 });
    expect([200, 201], JSON.stringify(added.body)).toContain(added.status);
    const st = await waitFor(`${victim} to apply up to ${target}`, 30_000, async () => {
      const s = await cl.status(victim);
      return s && s.appliedIndex >= target ? s : undefined;
    }, 50);
    console.log(`wiped ${victim}: caught up to applied ${st.appliedIndex} (leader commit ${target} before the add) in ${Date.now() - t0} ms`);
    expect(cl.logText(victim)).toMatch(/restored the task table from a snapshot/);

    for (const id of [...old, during]) {
      const r = await cl.request(victim, "GET", `/v1/tasks/${id}?stale=true`, { timeoutMs: 5_000 });
      expect(r.status, `${id} on ${victim}: ${JSON.stringify(r.body)}`).toBe(200);
      expect(r.body.id).toBe(id);
    }
    // It keeps following: a new write reaches its local table too.
    await submitRetrying(cl, "after-rejoin", leader);
    await waitFor(`${victim} to apply a write made after it rejoined`, 10_000, async () => {
      const r = await cl.request(victim, "GET", "/v1/tasks/after-rejoin?stale=true", { timeoutMs: 2_000 });
      return r.status === 200;
    });
    await waitMembershipAgreed(cl, { n1: "voter", n2: "voter", n3: "voter" }, "after the wiped node rejoined");
  }, 90_000);
});

describe("a learner", () => {
  let c: ElasticCluster | undefined;
  beforeAll(async () => {
    c = await ElasticCluster.create(4);
  });
  afterAll(async () => {
    await c?.stopAll();
  });

  it("is added as a learner, does not vote, and runs tasks", async () => {
    onTestFailed(() => c?.printLogTails());
    const cl = c!;
    const three = cl.file(3);
    const four = cl.file(4);
    await Promise.all(["n1", "n2", "n3"].map((id) => cl.start(id, three)));
    await cl.start("n4", four, { join: true });
    const leader = await cl.waitForLeader();
    const add = await cl.request(leader, "POST", "/v1/cluster/members", { body: { id: "n4", url: cl.url("n4"), role: "learner" }, timeoutMs: 30_000 });
    expect(add.status, JSON.stringify(add.body)).toBe(201);
    await waitMembershipAgreed(cl, { n1: "voter", n2: "voter", n3: "voter", n4: "learner" }, "after adding the learner n4");
    await waitFor("n4 to report role learner", 10_000, async () => (await cl.status("n4"))?.role === "learner");

    // 24 tasks of 1.5 s on 4 members × 4 slots: least-loaded must use the learner's slots too.
    const ids = Array.from({ length: 24 }, (_, i) => `learner-load-${i}`);
    for (const id of ids) {
      const r = await cl.request(leader, "POST", "/v1/tasks", { body: { id, payload: { sleepMs: 1_500 } } });
      expect(r.status, JSON.stringify(r.body)).toBe(201);
    }
    const done = await waitFor("every task to complete", 30_000, async () => {
      const r = await cl.request(leader, "GET", "/v1/tasks?limit=1000");
      const tasks = (r.body?.tasks ?? []) as Array<{ id: string; state: string; worker: string | null }>;
      const mine = tasks.filter((t) => ids.includes(t.id));
      return mine.length === ids.length && mine.every((t) => t.state === "completed") ? mine : undefined;
    }, 200);
    const byWorker = new Map<string, number>();
    for (const t of done) byWorker.set(String(t.worker), (byWorker.get(String(t.worker)) ?? 0) + 1);
    console.log(`learner: completed per worker ${JSON.stringify(Object.fromEntries(byWorker))}`);
    expect(byWorker.get("n4") ?? 0).toBeGreaterThan(0);
    const workers = await cl.request(leader, "GET", "/v1/workers");
    expect((workers.body as Array<{ id: string; alive: boolean }>).find((w) => w.id === "n4")?.alive).toBe(true);
    // Still a learner, and never a candidate or leader.
    expect((await cl.status("n4"))?.role).toBe("learner");
    expect(cl.logText("n4")).not.toMatch(/became leader/);
  }, 90_000);
});
