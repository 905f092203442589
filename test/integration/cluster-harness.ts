// A real cluster on loopback for integration tests: writes a cluster file with free ports into a temp dir, runs
// every node as a child process of the compiled CLI (bin/raftsched.js start), captures each node's log to a file,
// and kills every process by PID when the test is done — also when it fails, and also if the test process exits
// early (an exit hook SIGKILLs whatever is left), so no node outlives the test file.
import { spawn, type ChildProcess } from "node:child_process";
import { closeSync, mkdirSync, mkdtempSync, openSync, readFileSync, rmSync, writeFileSync, writeSync } from "node:fs";
import { tmpdir } from "node:os";
import path from "node:path";
import { fileURLToPath } from "node:url";
import { trackChildPid, untrackChildPid } from "../../src/util/child-pids.js";
import { freePorts } from "../../src/util/ports.js";

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

interface RunningNode {
  readonly child: ChildProcess;
  readonly pid: number;
  readonly exited: Promise<{ code: number | null; signal: NodeJS.Signals | null }>;
  exitInfo: { code: number | null; signal: NodeJS.Signals | null } | null;
}

const DEFAULT_TOKEN = "integration-test-token";
const STOP_GRACE_MS = 3_000;
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
  readonly dir: string;
  readonly configPath: string;
  readonly token: string;
  readonly ids: readonly string[];
  readonly workerTimeoutMs: number;
  readonly electionTimeoutMs: readonly [number, number];
  private ports: number[] = [];
  private readonly running = new Map<string, RunningNode>();
  private readonly opts: ClusterOptions;
  private stopped = false;
  private readonly reaper = new Reaper();

  private constructor(opts: ClusterOptions) {
    this.opts = opts;
    const n = opts.nodes ?? 3;
    this.ids = Array.from({ length: n }, (_, i) => `n${i + 1}`);
    this.token = opts.token ?? DEFAULT_TOKEN;
    this.workerTimeoutMs = opts.workerTimeoutMs ?? 1000;
    this.electionTimeoutMs = opts.electionTimeoutMs ?? [150, 300];
    this.dir = mkdtempSync(path.join(tmpdir(), "raftsched-it-"));
    this.configPath = path.join(this.dir, "cluster.json");
  }

  /** Writes the cluster file and starts every node; resolves once every node answers /healthz. A port taken by
   *  someone else between probing and listening (EADDRINUSE) restarts the whole cluster on fresh ports. */
  static async start(opts: ClusterOptions = {}): Promise<Cluster> {
    const c = new Cluster(opts);
    try {
      for (let attempt = 1; ; attempt++) {
        c.ports = await freePorts(c.ids.length);
        c.writeConfig();
        for (const id of c.ids) c.spawnNode(id);
        const failed = await c.waitHealthy(opts.startTimeoutMs ?? 30_000);
        if (failed === null) return c;
        const inUse = c.ids.some((id) => /EADDRINUSE/.test(c.logText(id)));
        await c.killAllNow();
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

  url(id: string): string {
    const i = this.ids.indexOf(id);
    const port = this.ports[i];
    if (i < 0 || port === undefined) throw new Error(`no node ${id}`);
    return `http://127.0.0.1:${port}`;
  }

  port(id: string): number {
    return Number(new URL(this.url(id)).port);
  }

  dataDir(id: string): string {
    return path.join(this.dir, "data", id);
  }

  logPath(id: string): string {
    return path.join(this.dir, `${id}.log`);
  }

  logText(id: string): string {
    try {
      return readFileSync(this.logPath(id), "utf8");
    } catch {
      return "";
    }
  }

  isRunning(id: string): boolean {
    const n = this.running.get(id);
    return n !== undefined && n.exitInfo === null;
  }

  runningIds(): string[] {
    return this.ids.filter((id) => this.isRunning(id));
  }

  pid(id: string): number {
    const n = this.running.get(id);
    if (!n) throw new Error(`node ${id} is not running`);
    return n.pid;
  }

  /** The node's exit (code, signal) once it has exited. */
  async exited(id: string): Promise<{ code: number | null; signal: NodeJS.Signals | null }> {
    const n = this.running.get(id);
    if (!n) throw new Error(`node ${id} was never started`);
    return n.exited;
  }

  // ---- processes ----------------------------------------------------------------------------------------------

  private writeConfig(): void {
    const capacity = this.opts.capacity;
    const file = {
      cluster: "it",
      token: this.token,
      electionTimeoutMs: this.electionTimeoutMs,
      heartbeatMs: this.opts.heartbeatMs ?? 50,
      workerTimeoutMs: this.workerTimeoutMs,
      tickMs: this.opts.tickMs ?? 10,
      strategy: this.opts.strategy ?? "least-loaded",
      ...(this.opts.snapshotEveryEntries !== undefined ? { snapshotEveryEntries: this.opts.snapshotEveryEntries } : {}),
      ...(this.opts.handler !== undefined ? { handler: this.opts.handler } : {}),
      nodes: this.ids.map((id, i) => ({
        id,
        url: `http://127.0.0.1:${this.ports[i]}`,
        ...(capacity !== undefined ? { capacity } : {}),
      })),
    };
    writeFileSync(this.configPath, JSON.stringify(file, null, 2));
  }

  private spawnNode(id: string, join = false): void {
    if (this.stopped) throw new Error("cluster already stopped");
    if (this.isRunning(id)) throw new Error(`node ${id} is already running`);
    mkdirSync(path.join(this.dir, "data"), { recursive: true });
    const fd = openSync(this.logPath(id), "a");
    writeSync(fd, `--- harness: starting ${id} at ${new Date().toISOString()} ---\n`);
    const env = { ...process.env, ...this.opts.env };
    delete env.RAFTSCHED_TOKEN; // the cluster file's token is the one under test
    let child: ChildProcess;
    try {
      child = spawn(process.execPath, [CLI_PATH, "start", "--config", this.configPath, "--id", id, "--data-dir", this.dataDir(id), ...(join ? ["--join"] : [])], {
        cwd: REPO_ROOT,
        stdio: ["ignore", fd, fd],
        env,
      });
    } finally {
      closeSync(fd);
    }
    const pid = child.pid;
    if (pid === undefined) throw new Error(`could not spawn node ${id}`);
    trackChildPid(pid);
    this.reaper.watch(pid);
    const node: RunningNode = {
      child,
      pid,
      exitInfo: null,
      exited: new Promise((resolve) => {
        child.once("exit", (code, signal) => {
          untrackChildPid(pid);
          this.reaper.forget(pid);
          node.exitInfo = { code, signal };
          resolve({ code, signal });
        });
      }),
    };
    this.running.set(id, node);
  }

  /** Null when every node serves /healthz, else the id of one that does not (exited or timed out). */
  private async waitHealthy(timeoutMs: number): Promise<string | null> {
    const deadline = Date.now() + timeoutMs;
    const pending = new Set(this.ids.filter((id) => this.isRunning(id)));
    while (pending.size > 0) {
      for (const id of [...pending]) {
        if (!this.isRunning(id)) return id;
        try {
          const r = await fetch(`${this.url(id)}/healthz`, { signal: AbortSignal.timeout(1_000) });
          if (r.ok) pending.delete(id);
          await r.body?.cancel();
        } catch {
          // not listening yet
        }
      }
      if (pending.size === 0) break;
      if (Date.now() > deadline) return [...pending][0] ?? null;
      await sleep(50);
    }
    return null;
  }

  /** Sends `signal` to the node's process. For SIGKILL/SIGTERM/SIGINT, resolves once the process has exited. */
  async kill(id: string, signal: NodeJS.Signals = "SIGKILL"): Promise<void> {
    const n = this.running.get(id);
    if (!n || n.exitInfo !== null) throw new Error(`node ${id} is not running`);
    if (signal === "SIGTERM" || signal === "SIGINT") process.kill(n.pid, "SIGCONT"); // a stopped process cannot shut down
    process.kill(n.pid, signal);
    if (signal === "SIGKILL" || signal === "SIGTERM" || signal === "SIGINT") {
      const grace = signal === "SIGKILL" ? 10_000 : STOP_GRACE_MS;
      const timer = setTimeout(() => {
        if (n.exitInfo === null) process.kill(n.pid, "SIGKILL");
      }, grace);
      await n.exited;
      clearTimeout(timer);
    }
  }

  /** Starts a stopped node again with the same data dir; resolves once it serves /healthz. */
  /** `join`: start with --join (an empty data dir waits to be added, README "Deploying" step 6). */
  async restart(id: string, timeoutMs = 30_000, o: { join?: boolean } = {}): Promise<void> {
    if (this.isRunning(id)) await this.kill(id, "SIGTERM");
    this.spawnNode(id, o.join === true);
    await waitFor(`${id} to serve /healthz after restart`, timeoutMs, async () => {
      if (!this.isRunning(id)) throw new Error(`${id} exited during restart:\n${this.logTail(id, 20)}`);
      const r = await fetch(`${this.url(id)}/healthz`, { signal: AbortSignal.timeout(1_000) });
      await r.body?.cancel();
      return r.ok;
    });
  }

  private async killAllNow(): Promise<void> {
    const waits: Promise<unknown>[] = [];
    for (const n of this.running.values()) {
      if (n.exitInfo !== null) continue;
      try {
        process.kill(n.pid, "SIGKILL");
      } catch {
        // already gone
      }
      waits.push(n.exited);
    }
    await Promise.all(waits);
    this.running.clear();
  }

  /** Stops every node by PID: SIGCONT (in case it was stopped) and SIGTERM, then SIGKILL after a grace period;
   *  removes the temp dir unless RAFTSCHED_KEEP_TEST_DIRS is set. Safe to call more than once. */
  async stopAll(): Promise<void> {
    const waits: Promise<unknown>[] = [];
    for (const n of this.running.values()) {
      if (n.exitInfo !== null) continue;
      try {
        process.kill(n.pid, "SIGCONT");
        process.kill(n.pid, "SIGTERM");
      } catch {
        // already gone
      }
      const timer = setTimeout(() => {
        try {
          if (n.exitInfo === null) process.kill(n.pid, "SIGKILL");
        } catch {
          // already gone
        }
      }, STOP_GRACE_MS);
      waits.push(n.exited.finally(() => clearTimeout(timer)));
    }
    await Promise.all(waits);
    this.reaper.close();
    if (!this.stopped && !process.env.RAFTSCHED_KEEP_TEST_DIRS) rmSync(this.dir, { recursive: true, force: true });
    this.stopped = true;
  }

  logTail(id: string, lines = 40): string {
    return this.logText(id).split("\n").slice(-lines - 1).join("\n");
  }

  /** Prints the end of every node's log (call when a test fails). */
  printLogTails(lines = 40): void {
    for (const id of this.ids) {
      console.error(`===== ${id} (${this.logPath(id)}), last ${lines} lines =====\n${this.logTail(id, lines)}`);
    }
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
    const res = await fetch(`${this.url(id)}${urlPath}`, {
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
      const agree = [...st.values()].filter((s) => s.term === maxTerm && s.leaderId === leader.id).length;
      return agree >= majority ? leader.id : undefined;
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
    while (Date.now() < deadline) {
      const nodes = this.runningIds();
      const id = nodes[i++ % Math.max(1, nodes.length)];
      if (id === undefined) break;
      try {
        const r = await this.submit(id, task, { timeoutMs: 5_000 });
        if (r.status >= 200 && r.status < 300) return r;
        if (r.status !== 503 && r.status !== 504) throw new Error(`submit ${task.id} via ${id}: HTTP ${r.status} ${JSON.stringify(r.body)}`);
        last = `HTTP ${r.status} ${JSON.stringify(r.body)}`;
      } catch (err) {
        if (/^submit /.test((err as Error).message)) throw err;
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
