// A real cluster on loopback for integration tests: writes a cluster file with free ports into a temp dir, runs
// every node as a child process of the compiled CLI (bin/raftsched.js start) through the shared
// src/process-cluster, captures each node's log to a file, and kills every process by PID when the test is done — also when it fails, and also if the test process exits
// early (an exit hook SIGKILLs whatever is left), so no node outlives the test file.
import { spawn, type ChildProcess } from "node:child_process";
import { rmSync } from "node:fs";
import path from "node:path";
import { fileURLToPath } from "node:url";
import { ProcessCluster } from "../../src/process-cluster/process-cluster.js";
import { WorkerFleet } from "../../src/process-cluster/worker-processes.js";
import { freePorts } from "../../src/util/ports.js";
import { clusterFetch, useClusterTls } from "../../src/tls/cluster-fetch.js";
import type { TlsFiles } from "../../src/config/security-fields.js";

export const REPO_ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), "..", "..");
export const CLI_PATH = path.join(REPO_ROOT, "bin", "raftsched.js");

export interface ClusterOptions {
  /** Number of nodes (all voters). Default 3. */
  readonly nodes?: number;
  readonly electionTimeoutMs?: readonly [number, number];
  readonly heartbeatMs?: number;
  readonly workerTimeoutMs?: number;
  readonly tickMs?: number;
  readonly strategy?: string;
  /** Tasks each node runs at once. Default 4 (the contract's default). */
  readonly capacity?: number;
  readonly token?: string;
  /** The cluster file's "handler" module path (absolute). */
  readonly handler?: string;
  /** Extra environment for every node process. */
  readonly env?: Readonly<Record<string, string>>;
  /** How long to wait for every node's /healthz after spawning. */
  readonly startTimeoutMs?: number;
  /** Snapshot every this many applied entries (the cluster file's field; its default when absent). */
  readonly snapshotEveryEntries?: number;
  /** More cluster-file fields (readToken, authReads, …). */
  readonly fileFields?: Readonly<Record<string, unknown>>;
  /** The cluster file's "tls" (absolute paths): node urls become https://, and this process trusts the CA. */
  readonly tls?: TlsFiles;
  /** The cluster file's "retention" object (its defaults when absent). */
  readonly retention?: Readonly<Record<string, number>>;
  /** Extra fields of a node's cluster-file entry (e.g. tags, worker); wins over `capacity`. */
  readonly nodeFields?: (id: string) => Readonly<Record<string, unknown>>;
  /** false: the members run no tasks (`"worker": false`), only external workers do. Default true. */
  readonly memberWorkers?: boolean;
}

export interface NodeStatus {
  readonly id: string;
  readonly role: "leader" | "follower" | "candidate" | "learner";
  readonly term: number;
  readonly leaderId: string | null;
  readonly commitIndex: number;
  readonly appliedIndex: number;
}

export interface HttpAnswer {
  readonly status: number;
  /** Parsed JSON, or the raw text when the body is not JSON; undefined on an empty body. */
  readonly body: any;
  readonly headers: Headers;
}

export interface RequestOptions {
  readonly body?: unknown;
  /** A raw body sent as is (for malformed-JSON and size-limit tests). */
  readonly rawBody?: string;
  /** The bearer token; null sends none. Default: the cluster token. */
  readonly token?: string | null;
  readonly timeoutMs?: number;
}

const DEFAULT_TOKEN = "integration-test-token";
/** SIGTERM, then SIGKILL after this long. Above a node's own worst graceful stop (hand-over, draining held writes for
 *  2 election timeouts, in-flight HTTP answers for up to 5 s, then exit within 1 s of closing): at 3 s a loaded CI
 *  machine SIGKILLed a node that was still stopping cleanly, and a test asserting exit code 0 failed. */
const STOP_GRACE_MS = 10_000;
const START_ATTEMPTS = 4;


// The exit hook does not run when the test process itself is SIGKILLed (a vitest timeout, an OOM kill). A reaper
// process holds a pipe from us: it learns each node's PID ("+pid" / "-pid" lines) and, when the pipe closes
// because we died, SIGKILLs whatever is still listed.
const REAPER_SOURCE = `
const pids = new Set();
let buf = "";
process.stdin.on("data", (d) => {
  buf += d;
  let i;
  while ((i = buf.indexOf("\\n")) >= 0) {
    const line = buf.slice(0, i);
    buf = buf.slice(i + 1);
    const pid = Number(line.slice(1));
    if (line[0] === "+") pids.add(pid);
    else if (line[0] === "-") pids.delete(pid);
  }
});
process.stdin.on("end", () => {
  for (const pid of pids) { try { process.kill(pid, "SIGKILL"); } catch {} }
  process.exit(0);
});
`;

class Reaper {
  private readonly child: ChildProcess;
  private closed = false;

  constructor() {
    this.child = spawn(process.execPath, ["-e", REAPER_SOURCE], { stdio: ["pipe", "ignore", "ignore"], detached: true });
    this.child.unref();
    (this.child.stdin as unknown as { unref?: () => void }).unref?.();
    this.child.stdin?.on("error", () => {});
  }

  watch(pid: number): void {
    if (!this.closed) this.child.stdin?.write(`+${pid}\n`);
  }

  forget(pid: number): void {
    if (!this.closed) this.child.stdin?.write(`-${pid}\n`);
  }

  /** Ends the reaper without it killing anything (every node it knew has already exited). */
  close(): void {
    if (this.closed) return;
    this.closed = true;
    if (this.child.pid !== undefined && this.child.exitCode === null) {
      try {
        process.kill(this.child.pid, "SIGKILL");
      } catch {
        // already gone
      }
    }
  }
}

// Tests that build their own cluster files take their ports from here too.
export { freePorts };

export function sleep(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms));
}

/** Polls `probe` until it returns a value other than undefined/false, or throws after `timeoutMs`. */
export async function waitFor<T>(what: string, timeoutMs: number, probe: () => Promise<T | undefined | false> | T | undefined | false, everyMs = 25): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  let lastErr: unknown;
  for (;;) {
    try {
      const v = await probe();
      if (v !== undefined && v !== false) return v as T;
    } catch (err) {
      lastErr = err;
    }
    if (Date.now() > deadline) {
      throw new Error(`timed out after ${timeoutMs} ms waiting for ${what}${lastErr ? ` (last error: ${(lastErr as Error).message})` : ""}`);
    }
    await sleep(everyMs);
  }
}

export class Cluster {
  readonly configPath: string;
  readonly token: string;
  readonly workerTimeoutMs: number;
  readonly electionTimeoutMs: readonly [number, number];
  private stopped = false;
  private readonly reaper = new Reaper();
  private readonly procs: ProcessCluster;
  private fleet: WorkerFleet | null = null;

  private constructor(
    opts: ClusterOptions,
    token: string,
    procs: ProcessCluster,
  ) {
    this.token = token;
    this.workerTimeoutMs = opts.workerTimeoutMs ?? 1000;
    this.electionTimeoutMs = opts.electionTimeoutMs ?? [150, 300];
    this.procs = procs;
    this.configPath = path.join(procs.dir, "cluster.json");
  }

  /** Writes the cluster file and starts every node; resolves once every node answers /healthz. A port taken by
   *  someone else between probing and listening (EADDRINUSE) restarts the whole cluster on fresh ports. */
  static async start(opts: ClusterOptions = {}): Promise<Cluster> {
    const c = await Cluster.create(opts);
    try {
      for (let attempt = 1; ; attempt++) {
        if (attempt > 1) await c.procs.pickPorts();
        c.procs.writeClusterFile();
        for (const id of c.ids) c.spawnNode(id);
        const failed = await c.waitHealthy(opts.startTimeoutMs ?? 30_000);
        if (failed === null) return c;
        const inUse = c.ids.some((id) => /EADDRINUSE/.test(c.logText(id)));
        await c.procs.killAll();
        if (!inUse || attempt >= START_ATTEMPTS) {
          c.printLogTails();
          throw new Error(`cluster did not start: node ${failed} is not serving (logs in ${c.dir})`);
        }
        rmSync(path.join(c.dir, "data"), { recursive: true, force: true });
      }
    } catch (err) {
      await c.stopAll();
      throw err;
    }
  }

  private static async create(opts: ClusterOptions): Promise<Cluster> {
    const token = opts.token ?? DEFAULT_TOKEN;
    const capacity = opts.capacity;
    const file = {
      cluster: "it",
      token,
      electionTimeoutMs: opts.electionTimeoutMs ?? [150, 300],
      heartbeatMs: opts.heartbeatMs ?? 50,
      workerTimeoutMs: opts.workerTimeoutMs ?? 1000,
      tickMs: opts.tickMs ?? 10,
      strategy: opts.strategy ?? "least-loaded",
      ...(opts.snapshotEveryEntries !== undefined ? { snapshotEveryEntries: opts.snapshotEveryEntries } : {}),
      ...(opts.handler !== undefined ? { handler: opts.handler } : {}),
      ...opts.fileFields,
      ...(opts.tls ? { tls: opts.tls } : {}),
      ...(opts.retention !== undefined ? { retention: opts.retention } : {}),
    };
    if (opts.tls) useClusterTls(opts.tls);
    const reaperHook: { reaper?: Reaper } = {};
    const procs = await ProcessCluster.create({
      nodes: opts.nodes ?? 3,
      dirPrefix: "raftsched-it-",
      file,
      ...(opts.tls ? { scheme: "https" as const } : {}),
      ...(capacity !== undefined || opts.nodeFields || opts.memberWorkers === false
        ? {
            nodeFields: (id: string) => ({
              ...(capacity !== undefined ? { capacity } : {}),
              ...(opts.memberWorkers === false ? { worker: false } : {}),
              ...opts.nodeFields?.(id),
            }),
          }
        : {}),
      ...(opts.env ? { env: opts.env } : {}),
      dropEnv: ["RAFTSCHED_TOKEN"], // the cluster file's token is the one under test
      cwd: REPO_ROOT,
      stopGraceMs: STOP_GRACE_MS,
      onPid: (pid, event) => (event === "spawned" ? reaperHook.reaper?.watch(pid) : reaperHook.reaper?.forget(pid)),
    });
    const c = new Cluster(opts, token, procs);
    reaperHook.reaper = c.reaper;
    return c;
  }

  get dir(): string {
    return this.procs.dir;
  }

  get ids(): readonly string[] {
    return this.procs.ids;
  }

  url(id: string): string {
    return this.procs.url(id);
  }

  port(id: string): number {
    return this.procs.port(id);
  }

  dataDir(id: string): string {
    return this.procs.dataDir(id);
  }

  logPath(id: string): string {
    return this.procs.logPath(id);
  }

  logText(id: string): string {
    return this.procs.logText(id);
  }

  isRunning(id: string): boolean {
    return this.procs.isRunning(id);
  }

  runningIds(): string[] {
    return this.procs.runningIds();
  }

  pid(id: string): number {
    const n = this.procs.proc(id);
    if (!n || !n.running) throw new Error(`node ${id} is not running`);
    return n.pid;
  }

  /** The node's exit (code, signal) once it has exited. */
  async exited(id: string): Promise<{ code: number | null; signal: NodeJS.Signals | null }> {
    const n = this.procs.proc(id);
    if (!n) throw new Error(`node ${id} was never started`);
    return n.exited;
  }

  // ---- processes ----------------------------------------------------------------------------------------------

  private spawnNode(id: string, join = false): void {
    if (this.stopped) throw new Error("cluster already stopped");
    this.procs.start(id, this.configPath, { join, banner: `--- harness: starting ${id} at ${new Date().toISOString()} ---` });
  }

  /** Null when every node serves /healthz, else the id of one that does not (exited or timed out). */
  private async waitHealthy(timeoutMs: number): Promise<string | null> {
    const results = await Promise.all(
      this.runningIds().map((id) =>
        this.procs.waitHealthy(id, timeoutMs).then(
          () => null,
          () => id,
        ),
      ),
    );
    return results.find((r) => r !== null) ?? null;
  }

  /** Sends `signal` to the node's process. For SIGKILL/SIGTERM/SIGINT, resolves once the process has exited. */
  async kill(id: string, signal: NodeJS.Signals = "SIGKILL"): Promise<void> {
    if (signal === "SIGKILL") await this.procs.kill(id);
    else if (signal === "SIGTERM" || signal === "SIGINT") await this.procs.stop(id, signal);
    else this.procs.signal(id, signal);
  }

  /** Starts a stopped node again with the same data dir; resolves once it serves /healthz. */
  /** `join`: start with --join (an empty data dir waits to be added, README "Deploying" step 6). */
  async restart(id: string, timeoutMs = 30_000, o: { join?: boolean } = {}): Promise<void> {
    if (this.isRunning(id)) await this.kill(id, "SIGTERM");
    this.spawnNode(id, o.join === true);
    try {
      await this.procs.waitHealthy(id, timeoutMs, 25);
    } catch (err) {
      throw new Error(`timed out after ${timeoutMs} ms waiting for ${id} to serve /healthz after restart (last error: ${(err as Error).message})`);
    }
  }

  /** Stops every node by PID: SIGCONT (in case it was stopped) and SIGTERM, then SIGKILL after a grace period;
   *  removes the temp dir unless RAFTSCHED_KEEP_TEST_DIRS is set. Safe to call more than once. */
  async stopAll(): Promise<void> {
    if (this.stopped) return;
    this.stopped = true;
    await this.fleet?.stopAll();
    await this.procs.stopAll();
    this.reaper.close();
  }

  /** External worker processes on this cluster's file (killed with the nodes by stopAll and the reaper). */
  workers(): WorkerFleet {
    if (this.fleet === null) {
      const env: NodeJS.ProcessEnv = { ...process.env, RAFTSCHED_LOG_LEVEL: process.env.RAFTSCHED_LOG_LEVEL ?? "info" };
      delete env.RAFTSCHED_TOKEN;
      this.fleet = new WorkerFleet({
        configPath: this.configPath,
        dir: this.dir,
        env,
        cwd: REPO_ROOT,
        onPid: (pid, event) => (event === "spawned" ? this.reaper.watch(pid) : this.reaper.forget(pid)),
      });
    }
    return this.fleet;
  }

  logTail(id: string, lines = 40): string {
    return this.procs.logTail(id, lines);
  }

  /** Prints the end of every node's log (call when a test fails). */
  printLogTails(lines = 40): void {
    this.procs.printLogTails(lines);
  }

  // ---- HTTP ---------------------------------------------------------------------------------------------------

  /** One HTTP call to one node. Mutating calls carry the cluster token unless `token` says otherwise. Network
   *  errors and timeouts throw. */
  async request(id: string, method: string, urlPath: string, o: RequestOptions = {}): Promise<HttpAnswer> {
    const headers: Record<string, string> = {};
    const token = o.token === undefined ? this.token : o.token;
    if (token !== null) headers.authorization = `Bearer ${token}`;
    let body: string | undefined;
    if (o.rawBody !== undefined) body = o.rawBody;
    else if (o.body !== undefined) body = JSON.stringify(o.body);
    if (body !== undefined) headers["content-type"] = "application/json";
    const res = await clusterFetch(`${this.url(id)}${urlPath}`, {
      method,
      headers,
      ...(body !== undefined ? { body } : {}),
      signal: AbortSignal.timeout(o.timeoutMs ?? 10_000),
    });
    const text = await res.text();
    let parsed: unknown = undefined;
    if (text.length > 0) {
      try {
        parsed = JSON.parse(text);
      } catch {
        parsed = text;
      }
    }
    return { status: res.status, body: parsed, headers: res.headers };
  }

  /** GET /v1/status, or null when the node does not answer within `timeoutMs`. */
  async status(id: string, timeoutMs = 1_000): Promise<NodeStatus | null> {
    try {
      const r = await this.request(id, "GET", "/v1/status", { timeoutMs });
      return r.status === 200 ? (r.body as NodeStatus) : null;
    } catch {
      return null;
    }
  }

  async statusAll(ids: readonly string[] = this.runningIds(), timeoutMs = 1_000): Promise<Map<string, NodeStatus>> {
    const out = new Map<string, NodeStatus>();
    await Promise.all(
      ids.map(async (id) => {
        const s = await this.status(id, timeoutMs);
        if (s) out.set(id, s);
      }),
    );
    return out;
  }

  /** Waits until one node among `among` (default: the running ones) is leader of the highest term any of them
   *  reports, and a majority of the whole cluster names it as leader in that term. Returns its id. */
  async waitForLeader(timeoutMs = 15_000, among: readonly string[] = this.runningIds()): Promise<string> {
    const majority = Math.floor(this.ids.length / 2) + 1;
    return waitFor(`a leader among ${among.join(",")}`, timeoutMs, async () => {
      const st = await this.statusAll(among, 500);
      const maxTerm = Math.max(0, ...[...st.values()].map((s) => s.term));
      const leaders = [...st.values()].filter((s) => s.role === "leader" && s.term === maxTerm);
      if (leaders.length !== 1) return undefined;
      const leader = leaders[0]!;
      // Every node that answered in the leader's term names it (not just a majority): a test's next request may go
      // to any of them, and one that voted but has not heard the leader's first append yet answers 503 NO_LEADER
      // (seen in CI under load). Nodes on an older term (cut off, paused, restarting) do not hold this up.
      const inTerm = [...st.values()].filter((s) => s.term === maxTerm);
      const agree = inTerm.filter((s) => s.leaderId === leader.id).length;
      return agree >= majority && agree === inTerm.length ? leader.id : undefined;
    });
  }

  submit(id: string, task: { id?: string; payload: unknown; maxAttempts?: number; priority?: number }, o: Omit<RequestOptions, "body"> = {}): Promise<HttpAnswer> {
    return this.request(id, "POST", "/v1/tasks", { ...o, body: task });
  }

  /** Submits through any running node, retrying the same task (and id) on 503/504, timeouts and connection
   *  errors until a 2xx or `deadlineMs`. */
  async submitWithRetry(task: { id: string; payload: unknown }, deadlineMs = 20_000): Promise<HttpAnswer> {
    const deadline = Date.now() + deadlineMs;
    let i = 0;
    let last = "";
    // An attempt that timed out or answered 503/504 may still have created the task; the next attempt then finds it
    // and answers 200. The ids a test passes here are its own, so that task is this call's: report it as created.
    let mayHaveCreated = false;
    while (Date.now() < deadline) {
      const nodes = this.runningIds();
      const id = nodes[i++ % Math.max(1, nodes.length)];
      if (id === undefined) break;
      try {
        const r = await this.submit(id, task, { timeoutMs: 5_000 });
        if (r.status === 200 && mayHaveCreated) return { ...r, status: 201 };
        if (r.status >= 200 && r.status < 300) return r;
        mayHaveCreated = true;
        if (r.status !== 503 && r.status !== 504) throw new Error(`submit ${task.id} via ${id}: HTTP ${r.status} ${JSON.stringify(r.body)}`);
        last = `HTTP ${r.status} ${JSON.stringify(r.body)}`;
      } catch (err) {
        if (/^submit /.test((err as Error).message)) throw err;
        mayHaveCreated = true;
        last = (err as Error).message;
      }
      await sleep(50);
    }
    throw new Error(`submit ${task.id} did not succeed within ${deadlineMs} ms (last: ${last})`);
  }

  /** GET /v1/tasks/:id: the task, or null on 404. Throws on any other answer. */
  async get(id: string, taskId: string, o: { stale?: boolean; timeoutMs?: number } = {}): Promise<any | null> {
    const r = await this.request(id, "GET", `/v1/tasks/${encodeURIComponent(taskId)}${o.stale ? "?stale=true" : ""}`, {
      timeoutMs: o.timeoutMs ?? 5_000,
    });
    if (r.status === 404) return null;
    if (r.status !== 200) throw new Error(`get ${taskId} via ${id}: HTTP ${r.status} ${JSON.stringify(r.body)}`);
    return r.body;
  }

  /** Every task (optionally of one state), following the `next` cursor page by page. */
  async listAll(id: string, o: { state?: string; worker?: string; limit?: number } = {}): Promise<any[]> {
    const out: any[] = [];
    let after: string | null = null;
    for (let pages = 0; pages < 10_000; pages++) {
      const q = new URLSearchParams();
      if (o.state) q.set("state", o.state);
      if (o.worker) q.set("worker", o.worker);
      q.set("limit", String(o.limit ?? 1000));
      if (after !== null) q.set("after", after);
      const r = await this.request(id, "GET", `/v1/tasks?${q.toString()}`, { timeoutMs: 10_000 });
      if (r.status !== 200) throw new Error(`list via ${id}: HTTP ${r.status} ${JSON.stringify(r.body)}`);
      out.push(...(r.body.tasks as any[]));
      after = r.body.next as string | null;
      if (after === null) return out;
    }
    throw new Error("listing did not end after 10,000 pages");
  }
}

/** Polls every node's /v1/status every `everyMs` and remembers, per term, which nodes said they were leader and
 *  which leader ids anyone named. Raft's election safety says each set has at most one member. A node that does
 *  not answer (stopped, killed) is simply skipped; at most one request per node is in flight. */
export class LeaderMonitor {
  readonly leadersByTerm = new Map<number, Set<string>>();
  readonly leaderIdsByTerm = new Map<number, Set<string>>();
  samples = 0;
  private timer: NodeJS.Timeout | null = null;
  private readonly inFlight = new Set<string>();

  constructor(
    private readonly cluster: Cluster,
    private readonly everyMs = 20,
  ) {}

  start(): this {
    this.timer = setInterval(() => this.poll(), this.everyMs);
    return this;
  }

  async stop(): Promise<void> {
    if (this.timer) clearInterval(this.timer);
    this.timer = null;
    await waitFor("status polls to finish", 5_000, () => this.inFlight.size === 0);
  }

  /** Terms in which two different nodes were leader, or two different leader ids were named. */
  violations(): string[] {
    const out: string[] = [];
    for (const [term, s] of this.leadersByTerm) if (s.size > 1) out.push(`term ${term}: nodes ${[...s].join(", ")} all reported role=leader`);
    for (const [term, s] of this.leaderIdsByTerm) if (s.size > 1) out.push(`term ${term}: leaderId seen as ${[...s].join(", ")}`);
    return out;
  }

  private poll(): void {
    for (const id of this.cluster.runningIds()) {
      if (this.inFlight.has(id)) continue;
      this.inFlight.add(id);
      void this.cluster
        .status(id, 500)
        .then((s) => {
          if (!s) return;
          this.samples++;
          if (s.role === "leader") addTo(this.leadersByTerm, s.term, s.id);
          if (s.leaderId !== null) addTo(this.leaderIdsByTerm, s.term, s.leaderId);
        })
        .finally(() => this.inFlight.delete(id));
    }
  }
}

function addTo(m: Map<number, Set<string>>, term: number, id: string): void {
  let s = m.get(term);
  if (!s) m.set(term, (s = new Set()));
  s.add(id);
}
