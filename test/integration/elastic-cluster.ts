// Nodes n1..nN on free loopback ports, each started from a cluster file that lists the first k of them, so a test
// can boot a cluster and then grow it with --join. The processes, ports, temp dir, log files and cleanup by PID
// are the shared ProcessCluster's (src/process-cluster); this adds the HTTP helpers the membership tests use.
import { ProcessCluster } from "../../src/process-cluster/process-cluster.js";
import type { NodeExit } from "../../src/process-cluster/node-process.js";
import { REPO_ROOT, waitFor } from "./cluster-harness.js";

const TOKEN = "elastic-test-token";

export interface Answer {
  readonly status: number;
  readonly body: any;
}

/** Nodes n1..nN on free loopback ports; each is started from a cluster file that lists the first k of them. */
export class ElasticCluster {
  private constructor(private readonly procs: ProcessCluster) {}

  /** `extra`: more cluster file fields; `env`: more environment for every node (RAFTSCHED_ENABLE_FAULTS=1). */
  static async create(nodes: number, extra: Record<string, unknown> = {}, env: Record<string, string> = {}): Promise<ElasticCluster> {
    const file = { cluster: "membership-it", token: TOKEN, electionTimeoutMs: [150, 300], heartbeatMs: 50, workerTimeoutMs: 1000, tickMs: 10, ...extra };
    return new ElasticCluster(await ProcessCluster.create({ nodes, dirPrefix: "raftsched-membership-", file, env, dropEnv: ["RAFTSCHED_TOKEN"], cwd: REPO_ROOT }));
  }

  get dir(): string {
    return this.procs.dir;
  }

  get ids(): string[] {
    return [...this.procs.ids];
  }

  url(id: string): string {
    return this.procs.url(id);
  }

  /** The cluster file listing n1..n<count>. */
  file(count: number): string {
    return this.procs.writeClusterFile(count, `cluster-${count}.json`);
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

  /** The node's exit, or a thrown error if it is still running after `timeoutMs`. */
  async exitWithin(id: string, timeoutMs: number): Promise<NodeExit> {
    const p = this.procs.proc(id);
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

  /** Starts `raftsched start` for one node; resolves once it serves /healthz (unless `waitHealthy` is false). */
  async start(id: string, configFile: string, o: { join?: boolean; waitHealthy?: boolean } = {}): Promise<void> {
    const banner = `--- test: starting ${id} (${configFile.split("/").at(-1)}${o.join ? ", --join" : ""}) at ${new Date().toISOString()} ---`;
    this.procs.start(id, configFile, { join: o.join === true, banner });
    if (o.waitHealthy === false) return;
    await this.procs.waitHealthy(id, 30_000);
  }

  /** Sends the signal and waits for the exit (SIGKILL after a grace period for a graceful signal). */
  async kill(id: string, signal: NodeJS.Signals): Promise<void> {
    if (signal === "SIGKILL") await this.procs.kill(id);
    else await this.procs.stop(id, signal);
  }

  /** A signal that does not end the process (SIGSTOP, SIGCONT). */
  signal(id: string, signal: NodeJS.Signals): void {
    this.procs.signal(id, signal);
  }

  async stopAll(): Promise<void> {
    await this.procs.stopAll();
  }

  logTail(id: string, lines = 40): string {
    return this.procs.logTail(id, lines);
  }

  printLogTails(lines = 40): void {
    this.procs.printLogTails(lines);
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

