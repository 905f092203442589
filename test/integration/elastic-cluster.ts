// Nodes n1..nN on free loopback ports, each started from a cluster file that lists the first k of them, so a test
// can boot a cluster and then grow it with --join. The same conventions as cluster-harness.ts: free ports, a temp
// dir, per-node log files, cleanup by PID (also from an exit hook). A copy of membership.test.ts's own helper, with
// signals that do not end the process (SIGSTOP/SIGCONT) and starts that do not wait for /healthz.
import { spawn, type ChildProcess } from "node:child_process";
import { closeSync, mkdirSync, mkdtempSync, openSync, readFileSync, rmSync, writeFileSync, writeSync } from "node:fs";
import { tmpdir } from "node:os";
import path from "node:path";
import { CLI_PATH, REPO_ROOT, freePorts, waitFor } from "./cluster-harness.js";

const TOKEN = "elastic-test-token";
const STOP_GRACE_MS = 3_000;

const livePids = new Set<number>();
process.on("exit", () => {
  for (const pid of livePids) {
    try {
      process.kill(pid, "SIGKILL");
    } catch {
      // already gone
    }
  }
});

interface Proc {
  readonly pid: number;
  readonly exited: Promise<{ code: number | null; signal: NodeJS.Signals | null }>;
  exitInfo: { code: number | null; signal: NodeJS.Signals | null } | null;
}

export interface Answer {
  readonly status: number;
  readonly body: any;
}

/** Nodes n1..nN on free loopback ports; each is started from a cluster file that lists the first k of them. */
export class ElasticCluster {
  readonly dir = mkdtempSync(path.join(tmpdir(), "raftsched-membership-"));
  readonly ids: string[];
  private readonly ports: number[];
  private readonly procs = new Map<string, Proc>();

  private constructor(
    ports: number[],
    private readonly extra: Record<string, unknown>,
    private readonly extraEnv: Record<string, string>,
  ) {
    this.ports = ports;
    this.ids = ports.map((_, i) => `n${i + 1}`);
  }

  /** `extra`: more cluster file fields; `env`: more environment for every node (RAFTSCHED_ENABLE_FAULTS=1). */
  static async create(nodes: number, extra: Record<string, unknown> = {}, env: Record<string, string> = {}): Promise<ElasticCluster> {
    return new ElasticCluster(await freePorts(nodes), extra, env);
  }

  url(id: string): string {
    const port = this.ports[this.ids.indexOf(id)];
    if (port === undefined) throw new Error(`no node ${id}`);
    return `http://127.0.0.1:${port}`;
  }

  /** The cluster file listing n1..n<count> (written once per count). */
  file(count: number): string {
    const p = path.join(this.dir, `cluster-${count}.json`);
    const body = {
      cluster: "membership-it",
      token: TOKEN,
      electionTimeoutMs: [150, 300],
      heartbeatMs: 50,
      workerTimeoutMs: 1000,
      tickMs: 10,
      ...this.extra,
      nodes: this.ids.slice(0, count).map((id) => ({ id, url: this.url(id) })),
    };
    writeFileSync(p, JSON.stringify(body, null, 2));
    return p;
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
    const p = this.procs.get(id);
    return p !== undefined && p.exitInfo === null;
  }

  runningIds(): string[] {
    return this.ids.filter((id) => this.isRunning(id));
  }

  /** The node's exit, or a thrown error if it is still running after `timeoutMs`. */
  async exitWithin(id: string, timeoutMs: number): Promise<{ code: number | null; signal: NodeJS.Signals | null }> {
    const p = this.procs.get(id);
    if (!p) throw new Error(`${id} was never started`);
    let timer: NodeJS.Timeout | undefined;
    const late = new Promise<never>((_, reject) => {
      timer = setTimeout(() => reject(new Error(`${id} still runs ${timeoutMs} ms later:\n${this.logTail(id, 15)}`)), timeoutMs);
    });
    try {
      return await Promise.race([p.exited, late]);
    } finally {
      clearTimeout(timer);
    }
  }

  /** Starts `raftsched start` for one node; resolves once it serves /healthz. */
  async start(id: string, configFile: string, o: { join?: boolean; waitHealthy?: boolean } = {}): Promise<void> {
    if (this.isRunning(id)) throw new Error(`${id} already runs`);
    mkdirSync(path.join(this.dir, "data"), { recursive: true });
    const fd = openSync(this.logPath(id), "a");
    writeSync(fd, `--- test: starting ${id} (${path.basename(configFile)}${o.join ? ", --join" : ""}) at ${new Date().toISOString()} ---\n`);
    const env = { ...process.env, ...this.extraEnv };
    delete env.RAFTSCHED_TOKEN;
    const args = [CLI_PATH, "start", "--config", configFile, "--id", id, "--data-dir", this.dataDir(id), ...(o.join ? ["--join"] : [])];
    let child: ChildProcess;
    try {
      child = spawn(process.execPath, args, { cwd: REPO_ROOT, stdio: ["ignore", fd, fd], env });
    } finally {
      closeSync(fd);
    }
    const pid = child.pid;
    if (pid === undefined) throw new Error(`could not spawn ${id}`);
    livePids.add(pid);
    const proc: Proc = {
      pid,
      exitInfo: null,
      exited: new Promise((resolve) => {
        child.once("exit", (code, signal) => {
          livePids.delete(pid);
          proc.exitInfo = { code, signal };
          resolve({ code, signal });
        });
      }),
    };
    this.procs.set(id, proc);
    if (o.waitHealthy === false) return;
    await waitFor(`${id} to serve /healthz`, 30_000, async () => {
      if (!this.isRunning(id)) throw new Error(`${id} exited at start:\n${this.logTail(id, 20)}`);
      const r = await fetch(`${this.url(id)}/healthz`, { signal: AbortSignal.timeout(1_000) });
      await r.body?.cancel();
      return r.ok;
    }, 50);
  }

  /** Sends the signal and waits for the exit (SIGKILL after a grace period for a graceful signal). */
  async kill(id: string, signal: NodeJS.Signals): Promise<void> {
    const p = this.procs.get(id);
    if (!p || p.exitInfo !== null) throw new Error(`${id} is not running`);
    process.kill(p.pid, signal);
    const timer = setTimeout(() => {
      if (p.exitInfo === null) process.kill(p.pid, "SIGKILL");
    }, STOP_GRACE_MS);
    await p.exited;
    clearTimeout(timer);
  }

  /** A signal that does not end the process (SIGSTOP, SIGCONT). */
  signal(id: string, signal: NodeJS.Signals): void {
    const p = this.procs.get(id);
    if (!p || p.exitInfo !== null) throw new Error(`${id} is not running`);
    process.kill(p.pid, signal);
  }

  async stopAll(): Promise<void> {
    for (const id of this.runningIds()) {
      try {
        this.signal(id, "SIGCONT"); // a stopped process cannot shut down
      } catch {
        // exited meanwhile
      }
    }
    await Promise.all(this.runningIds().map((id) => this.kill(id, "SIGTERM").catch(() => undefined)));
    if (!process.env.RAFTSCHED_KEEP_TEST_DIRS) rmSync(this.dir, { recursive: true, force: true });
  }

  logTail(id: string, lines = 40): string {
    return this.logText(id).split("\n").slice(-lines - 1).join("\n");
  }

  printLogTails(lines = 40): void {
    for (const id of this.ids) console.error(`===== ${id} (${this.logPath(id)}), last ${lines} lines =====\n${this.logTail(id, lines)}`);
  }

  async request(id: string, method: string, urlPath: string, o: { body?: unknown; headers?: Record<string, string>; timeoutMs?: number } = {}): Promise<Answer> {
    const headers: Record<string, string> = { authorization: `Bearer ${TOKEN}`, ...o.headers };
    if (o.body !== undefined) headers["content-type"] = "application/json";
    const res = await fetch(`${this.url(id)}${urlPath}`, {
      method,
      headers,
      ...(o.body !== undefined ? { body: JSON.stringify(o.body) } : {}),
      signal: AbortSignal.timeout(o.timeoutMs ?? 10_000),
    });
    const text = await res.text();
    let body: unknown = text;
    try {
      body = text ? JSON.parse(text) : undefined;
    } catch {
      // not JSON: keep the text
    }
    return { status: res.status, body };
  }

  async status(id: string): Promise<any | null> {
    try {
      const r = await this.request(id, "GET", "/v1/status", { timeoutMs: 1_000 });
      return r.status === 200 ? r.body : null;
    } catch {
      return null;
    }
  }

  /** The leader every running member agrees on (ignoring nodes that do not answer, and joiners nobody has added
   *  yet: they are still at term 0). */
  async waitForLeader(timeoutMs = 15_000): Promise<string> {
    return waitFor("one leader all running members agree on", timeoutMs, async () => {
      const st = (await Promise.all(this.runningIds().map((id) => this.status(id)))).filter((s) => s !== null && s.term > 0);
      const leaders = st.filter((s) => s.role === "leader");
      if (leaders.length !== 1) return undefined;
      const l = leaders[0];
      return st.every((s) => s.leaderId === l.id && s.term === l.term) ? (l.id as string) : undefined;
    }, 50);
  }
}

