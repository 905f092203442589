// The chaos run's cluster: the user's cluster file copied with the same shape (ids, roles, capacities, timings)
// but FREE loopback ports, a fresh token and fresh temp data dirs, so a chaos run never touches a real
// cluster's data. Every node is a child process of the compiled CLI started with RAFTSCHED_ENABLE_FAULTS=1, and
// every child (a NodeProcess of src/process-cluster) is killed by PID when the run ends — normally, on an error, on Ctrl-C, or if this process exits.
// With `netns` (root only) each node instead runs in its own network namespace at its own address, and the faults
// cut real links (src/chaos/netns.ts); the fault hook is then not enabled.
import { randomBytes } from "node:crypto";
import { mkdirSync, mkdtempSync, readlinkSync, realpathSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import path from "node:path";
import type { ClusterFile } from "../config/cluster-file.js";
import { FAULTS_ENV } from "../api/fault-hooks.js";
import { RaftschedError } from "../util/errors.js";
import { freePort } from "../util/ports.js";
import { requestJson, type Answer } from "./http.js";
import { NetnsNetwork } from "./netns.js";
import { NodeProcess } from "../process-cluster/node-process.js";

const GRACEFUL_STOP_MS = 8000;

export interface ChaosNode {
  readonly id: string;
  readonly url: string;
  readonly host: string;
  readonly port: number;
  readonly role: "voter" | "learner";
  readonly dataDir: string;
  readonly logFile: string;
  proc: NodeProcess | null;
  /** Resolves when the current process has exited. */
  exited: Promise<void> | null;
  paused: boolean;
  starts: number;
}


/** True for 127.0.0.0/8 (and "localhost"): chaos only runs clusters on this machine's loopback. */
export function isLoopbackHost(host: string): boolean {
  if (host === "localhost") return true;
  const m = /^127\.(\d{1,3})\.(\d{1,3})\.(\d{1,3})$/.exec(host);
  return m !== null && m.slice(1).every((x) => Number(x) <= 255);
}

export interface ChaosClusterOptions {
  /** Put each node in its own network namespace (the caller has checked netnsUnavailableReason()). */
  readonly netns?: boolean;
  readonly log?: (line: string) => void;
}

export class ChaosCluster {
  readonly nodes: ChaosNode[];
  readonly token: string;
  readonly configPath: string;
  readonly electionTimeoutMs: readonly [number, number];
  readonly workerTimeoutMs: number;
  private readonly companions: Array<() => Promise<void>> = [];

  private constructor(
    readonly root: string,
    nodes: ChaosNode[],
    token: string,
    configPath: string,
    cfg: ClusterFile,
    /** Set in --netns mode: the namespaces and links the nodes run on. */
    readonly network: NetnsNetwork | null,
  ) {
    this.nodes = nodes;
    this.token = token;
    this.configPath = configPath;
    this.electionTimeoutMs = cfg.electionTimeoutMs;
    this.workerTimeoutMs = cfg.workerTimeoutMs;
  }

  /** Writes the chaos copy of `cfg` into a new temp dir. Refuses any node that is not on loopback. */
  static async create(cfg: ClusterFile, opts: ChaosClusterOptions = {}): Promise<ChaosCluster> {
    for (const n of cfg.nodes) {
      if (!isLoopbackHost(n.host)) {
        throw new RaftschedError(
          "NOT_LOOPBACK",
          `chaos runs only on loopback (127.0.0.0/8): node "${n.id}" is at ${n.host}; use a loopback cluster file (e.g. cluster-configs/local-3.json)`,
        );
      }
    }
    const network = opts.netns ? await NetnsNetwork.create(cfg.nodes.length, opts.log ?? (() => undefined)) : null;
    const root = mkdtempSync(path.join(tmpdir(), "raftsched-chaos-"));
    const token = randomBytes(18).toString("base64url");
    const nodes: ChaosNode[] = [];
    for (const [i, n] of cfg.nodes.entries()) {
      let host: string;
      let port: number;
      if (network) {
        // Alone in its namespace: the cluster file's own port is free there.
        host = network.address(i);
        port = n.port;
      } else {
        host = n.host === "localhost" ? "127.0.0.1" : n.host;
        port = await freePort(host); // distinct from every other node's: freePort never repeats within a process
      }
      const dataDir = path.join(root, n.id);
      mkdirSync(dataDir, { recursive: true });
      nodes.push({
        id: n.id,
        url: `${cfg.tls ? "https" : "http"}://${host}:${port}`, // a TLS cluster's certificates must name these hosts
        host,
        port,
        role: n.role,
        dataDir,
        logFile: path.join(root, `${n.id}.log`),
        proc: null,
        exited: null,
        paused: false,
        starts: 0,
      });
    }
    // Same shape and timings; the built-in handler (the workload's payloads are {sleepMs, fail}).
    const file = {
      cluster: `${cfg.cluster}-chaos`.slice(0, 64),
      token,
      electionTimeoutMs: cfg.electionTimeoutMs,
      heartbeatMs: cfg.heartbeatMs,
      workerTimeoutMs: cfg.workerTimeoutMs,
      strategy: cfg.strategy,
      tickMs: cfg.tickMs,
      snapshotEveryEntries: cfg.snapshotEveryEntries,
      ...(cfg.tls ? { tls: cfg.tls } : {}),
      nodes: cfg.nodes.map((n, i) => ({
        id: n.id,
        url: nodes[i]!.url,
        role: n.role,
        capacity: n.capacity,
        worker: n.worker,
      })),
    };
    const configPath = path.join(root, "cluster.json");
    writeFileSync(configPath, JSON.stringify(file, null, 2) + "\n");
    return new ChaosCluster(root, nodes, token, configPath, cfg, network);
  }

  node(id: string): ChaosNode {
    const n = this.nodes.find((x) => x.id === id);
    if (!n) throw new Error(`no chaos node ${id}`);
    return n;
  }

  isRunning(n: ChaosNode): boolean {
    return n.proc !== null;
  }

  start(n: ChaosNode): void {
    if (n.proc) return;
    const env: NodeJS.ProcessEnv = { ...process.env, RAFTSCHED_TOKEN: this.token };
    if (this.network) delete env[FAULTS_ENV];
    else env[FAULTS_ENV] = "1";
    const network = this.network;
    const index = this.nodes.indexOf(n);
    const proc = NodeProcess.spawn({
      id: n.id,
      configPath: this.configPath,
      dataDir: n.dataDir,
      logFile: n.logFile,
      env,
      ...(network ? { wrap: (argv: readonly string[]) => network.wrap(index, argv) } : {}),
    });
    n.proc = proc;
    n.paused = false;
    n.starts++;
    n.exited = proc.exited.then(() => {
      if (n.proc === proc) {
        n.proc = null;
        n.paused = false;
      }
    });
  }

  /** kill -9, and wait until the process is gone (so its port is free for the restart). */
  async kill(n: ChaosNode): Promise<void> {
    const proc = n.proc;
    if (!proc) return;
    const exited = n.exited;
    await proc.kill();
    await exited;
  }

  /** SIGTERM (the node hands leadership over and closes its store), SIGKILL after a grace period. */
  async stop(n: ChaosNode): Promise<void> {
    const proc = n.proc;
    if (!proc) return;
    const exited = n.exited;
    n.paused = false; // stop() resumes a paused process first
    await proc.stop(GRACEFUL_STOP_MS);
    await exited;
  }

  /** SIGSTOP: a GC-pause-like freeze. */
  pause(n: ChaosNode): void {
    if (!n.proc || n.paused) return;
    n.proc.pause();
    n.paused = true;
  }

  resume(n: ChaosNode): void {
    if (!n.proc || !n.paused) return;
    n.proc.resume();
    n.paused = false;
  }

  /** Kills every child by PID (SIGKILL works on stopped processes too). */
  async killAll(): Promise<void> {
    await Promise.all(this.nodes.map((n) => this.kill(n)));
  }

  /** Other processes of the run (its external workers) that shutdown() stops with the nodes. */
  stopWithNodes(stop: () => Promise<void>): void {
    this.companions.push(stop);
  }

  /** killAll, then (--netns) removes every namespace and link of this run. Safe to call more than once. */
  async shutdown(): Promise<void> {
    await Promise.all(this.companions.map((stop) => stop()));
    await this.killAll();
    await this.network?.teardown();
  }

  /**
   * --netns: checks that each running child's PID is the node itself (`ip netns exec` replaced itself with node),
   * so kill -9 and SIGSTOP by PID hit the node and not a wrapper. Throws when one is not.
   */
  verifyNodePids(): void {
    if (!this.network) return;
    const node = realpathSync(process.execPath);
    for (const n of this.nodes) {
      const pid = n.proc?.pid;
      if (pid === undefined) continue;
      let exe = "";
      try {
        exe = readlinkSync(`/proc/${pid}/exe`);
      } catch {
        continue; // exited meanwhile: nothing to signal
      }
      if (exe !== node) {
        throw new RaftschedError("NETNS_WRAPPER", `chaos --netns: process ${pid} of ${n.id} is ${exe}, not ${node}: signals by PID would miss the node`);
      }
    }
  }

  async status(n: ChaosNode, timeoutMs = 500): Promise<NodeStatusView | null> {
    if (!n.proc || n.paused) return null;
    const r = await requestJson(`${n.url}/v1/status`, { timeoutMs });
    if (r.status !== 200 || typeof r.body !== "object" || r.body === null) return null;
    return r.body as NodeStatusView;
  }

  /** Sets the cut links on one node through its fault endpoint. */
  async setBlocked(n: ChaosNode, blocked: ReadonlyArray<readonly [string, string]>, timeoutMs = 1000): Promise<Answer> {
    return await requestJson(`${n.url}/v1/debug/faults`, { method: "POST", body: { blocked }, token: this.token, timeoutMs });
  }

  /** Sets one node's disk fault (stall, latency, EIO, ENOSPC, none) through its fault endpoint. */
  async setDisk(n: ChaosNode, disk: { mode: string; latencyMs?: number }, timeoutMs = 1000): Promise<Answer> {
    return await requestJson(`${n.url}/v1/debug/faults`, { method: "POST", body: { disk }, token: this.token, timeoutMs });
  }
}

export interface NodeStatusView {
  readonly id: string;
  readonly role: string;
  readonly term: number;
  readonly leaderId: string | null;
  readonly commitIndex: number;
  readonly appliedIndex: number;
}
