// A cluster of `raftsched start` processes on free loopback ports, for the integration and fuzz tests and the
// benchmarks: a temp dir holding the cluster files, one data dir and one log file per node; nodes started from any
// cluster file written here (the first k nodes, so a test can grow the cluster with --join), restarted, paused and
// killed by PID; and stopAll, which leaves no process behind (the exit hook of src/util/child-pids.ts covers an
// early exit of this process).
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import path from "node:path";
import { freePorts } from "../util/ports.js";
import { clusterFetch } from "../tls/cluster-fetch.js";
import { DEFAULT_STOP_GRACE_MS, NodeProcess, type NodeExit, type NodeProcessSpec } from "./node-process.js";

export interface ProcessClusterOptions {
  /** Node ids (n1..nN when a count). */
  readonly nodes: number | readonly string[];
  /** The temp dir's name prefix. */
  readonly dirPrefix?: string;
  /** The cluster file's fields other than `nodes` (cluster, token, timings, handler…). */
  readonly file: Readonly<Record<string, unknown>>;
  /** More fields for each node's entry in the cluster file (role, capacity…). */
  readonly nodeFields?: (id: string) => Readonly<Record<string, unknown>>;
  /** Extra environment for every node. */
  readonly env?: Readonly<Record<string, string>>;
  /** Variables of this process's environment the nodes must not inherit (RAFTSCHED_TOKEN: the file's is tested). */
  readonly dropEnv?: readonly string[];
  readonly cwd?: string;
  /** "https" for a cluster file with `tls` (the file's fields must carry it). Default "http". */
  readonly scheme?: "http" | "https";
  readonly stopGraceMs?: number;
  readonly onPid?: NodeProcessSpec["onPid"];
}

export class ProcessCluster {
  readonly dir: string;
  readonly ids: readonly string[];
  private ports: number[] = [];
  private readonly procs = new Map<string, NodeProcess>();

  private constructor(private readonly o: ProcessClusterOptions) {
    this.ids = typeof o.nodes === "number" ? Array.from({ length: o.nodes }, (_, i) => `n${i + 1}`) : [...o.nodes];
    this.dir = mkdtempSync(path.join(tmpdir(), o.dirPrefix ?? "raftsched-cluster-"));
  }

  /** Picks free ports for every node; writes nothing and starts nothing yet. */
  static async create(o: ProcessClusterOptions): Promise<ProcessCluster> {
    const c = new ProcessCluster(o);
    await c.pickPorts();
    return c;
  }

  /** New free ports for every node (after EADDRINUSE: someone took one between probing and listening). Cluster
   *  files written before keep the old ones; write them again. */
  async pickPorts(): Promise<void> {
    this.ports = await freePorts(this.ids.length);
  }

  url(id: string): string {
    return `${this.o.scheme ?? "http"}://127.0.0.1:${this.port(id)}`;
  }

  port(id: string): number {
    const port = this.ports[this.ids.indexOf(id)];
    if (port === undefined) throw new Error(`no node ${id}`);
    return port;
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

  logTail(id: string, lines = 40): string {
    return this.logText(id).split("\n").slice(-lines - 1).join("\n");
  }

  /** Prints the end of every node's log (call when a test fails). */
  printLogTails(lines = 40): void {
    for (const id of this.ids) console.error(`===== ${id} (${this.logPath(id)}), last ${lines} lines =====\n${this.logTail(id, lines)}`);
  }

  /** Writes the cluster file listing the first `count` nodes (default all) and returns its path. */
  writeClusterFile(count = this.ids.length, name = count === this.ids.length ? "cluster.json" : `cluster-${count}.json`): string {
    const p = path.join(this.dir, name);
    const nodes = this.ids.slice(0, count).map((id) => ({ id, url: this.url(id), ...this.o.nodeFields?.(id) }));
    writeFileSync(p, JSON.stringify({ ...this.o.file, nodes }, null, 2));
    return p;
  }

  /** The node's process (running or exited), if it was ever started. */
  proc(id: string): NodeProcess | undefined {
    return this.procs.get(id);
  }

  isRunning(id: string): boolean {
    return this.procs.get(id)?.running === true;
  }

  runningIds(): string[] {
    return this.ids.filter((id) => this.isRunning(id));
  }

  /** Spawns `raftsched start` for one node from `configPath`; does not wait for it to serve. */
  start(id: string, configPath: string, o: { join?: boolean; banner?: string } = {}): NodeProcess {
    if (!this.ids.includes(id)) throw new Error(`no node ${id}`);
    if (this.isRunning(id)) throw new Error(`node ${id} is already running`);
    const env: NodeJS.ProcessEnv = { ...process.env, ...this.o.env };
    for (const k of this.o.dropEnv ?? []) delete env[k];
    const p = NodeProcess.spawn({
      id,
      configPath,
      dataDir: this.dataDir(id),
      logFile: this.logPath(id),
      join: o.join === true,
      env,
      ...(this.o.cwd !== undefined ? { cwd: this.o.cwd } : {}),
      banner: o.banner ?? `--- harness: starting ${id} (${path.basename(configPath)}${o.join ? ", --join" : ""}) at ${new Date().toISOString()} ---`,
      ...(this.o.onPid ? { onPid: this.o.onPid } : {}),
    });
    this.procs.set(id, p);
    return p;
  }

  /** Resolves once the node answers GET /healthz; throws if it exits first or `timeoutMs` passes. */
  async waitHealthy(id: string, timeoutMs: number, everyMs = 50): Promise<void> {
    const deadline = Date.now() + timeoutMs;
    for (;;) {
      if (!this.isRunning(id)) throw new Error(`${id} exited at start:\n${this.logTail(id, 20)}`);
      if (await answersHealthz(this.url(id))) return;
      if (Date.now() > deadline) throw new Error(`${id} did not serve /healthz within ${timeoutMs} ms:\n${this.logTail(id, 20)}`);
      await new Promise((r) => setTimeout(r, everyMs));
    }
  }

  private running(id: string): NodeProcess {
    const p = this.procs.get(id);
    if (!p || !p.running) throw new Error(`node ${id} is not running`);
    return p;
  }

  /** SIGKILL, resolved at the exit. */
  kill(id: string): Promise<NodeExit> {
    return this.running(id).kill();
  }

  /** SIGTERM (or SIGINT), SIGKILL after the grace period; resolved at the exit. */
  stop(id: string, signal: NodeJS.Signals = "SIGTERM"): Promise<NodeExit> {
    return this.running(id).stop(this.o.stopGraceMs ?? DEFAULT_STOP_GRACE_MS, signal);
  }

  /** A signal that does not end the process (SIGSTOP, SIGCONT). */
  signal(id: string, signal: NodeJS.Signals): void {
    const p = this.running(id);
    if (signal === "SIGSTOP") p.pause();
    else if (signal === "SIGCONT") {
      p.resume();
      p.signal("SIGCONT");
    } else p.signal(signal);
  }

  /** SIGKILLs every running node and waits for the exits. */
  async killAll(): Promise<void> {
    await Promise.all([...this.procs.values()].map((p) => p.kill()));
  }

  /** Stops every node gracefully (SIGKILL after the grace period), then removes the temp dir unless
   *  RAFTSCHED_KEEP_TEST_DIRS is set. Safe to call more than once. */
  async stopAll(): Promise<void> {
    await Promise.all([...this.procs.values()].map((p) => p.stop(this.o.stopGraceMs ?? DEFAULT_STOP_GRACE_MS)));
    if (!process.env.RAFTSCHED_KEEP_TEST_DIRS) rmSync(this.dir, { recursive: true, force: true });
  }
}

async function answersHealthz(url: string): Promise<boolean> {
  try {
    const r = await clusterFetch(`${url}/healthz`, { signal: AbortSignal.timeout(1_000) });
    await r.body?.cancel();
    return r.ok;
  } catch {
    return false; // not listening yet
  }
}
