// raftsched as a benchmark backend: a fresh 3-node cluster from the compiled CLI (bin/raftsched.js, so run
// `npm run build` first) in a temp dir, on free loopback ports. "Raw Raft" rows give every node capacity 0 so
// submitted tasks stay pending — a submit is then exactly a replicated, durable, applied write, the same work as an
// etcd put. "Real workload" rows (runTasks) keep the default capacity: every task is assigned, run and completed.
// Writes: POST /v1/tasks {id, payload} over a raw keep-alive HTTP/1.1 socket per client (raw-http.ts); 201 means
// committed on a majority and applied. Leader: GET /v1/status on each node.
import type { ChildProcess } from "node:child_process";
import { mkdirSync, mkdtempSync, writeFileSync } from "node:fs";
import os from "node:os";
import path from "node:path";
import { fileURLToPath } from "node:url";
import type { Backend, KilledLeader, LeaderInfo, LeaderView, WriteClient } from "./backend.js";
import { BenchError } from "./backend.js";
import { isRunning, killChild, removeTempDir, stopGracefully, trackChild, trackTempDir } from "./children.js";
import { NodeProcess } from "../../src/process-cluster/node-process.js";
import { freePorts } from "../../src/util/ports.js";
import { RawHttpClient } from "./raw-http.js";
import { now, sleep } from "./stats.js";

const ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), "..", "..");
const TOKEN = "bench-token-0123456789abcdef";
const STATUS_TIMEOUT_MS = 400;

export interface RaftschedOptions {
  readonly electionTimeoutMs: readonly [number, number];
  readonly heartbeatMs: number;
  /** Default capacity, so tasks run (the real workload); otherwise capacity 0. */
  readonly runTasks?: boolean;
  /** RAFTSCHED_TRACE_STAGES for every member: each writes its per-stage timings to <dir>/<name>.stages.json. */
  readonly traceStages?: boolean;
  /** Cluster size (default 3): the scale benchmark runs 5 and 7 too (scripts/bench/scale.ts). */
  readonly nodes?: number;
  /** More cluster-file fields (e.g. snapshotEveryEntries). */
  readonly clusterFields?: Readonly<Record<string, unknown>>;
  /** The members' log level (default warn). */
  readonly logLevel?: string;
  /** Runs after the cluster file is written and before any member starts: seeds the (empty) data dirs. */
  readonly seed?: (clusterFile: string, dataDirs: ReadonlyArray<{ name: string; dir: string }>) => Promise<void>;
  /** node --cpu-prof for every member, profiles written to this dir; stop() then ends members with SIGTERM (a
   *  SIGKILLed process writes no profile) and SIGKILLs only those still there after STOP_GRACE_MS. */
  readonly cpuProfDir?: string;
  /** Members run no tasks (`"worker": false`): all work goes to external workers (bench:workers). */
  readonly externalWorkersOnly?: boolean;
  readonly workerTimeoutMs?: number;
}

const STOP_GRACE_MS = 15_000;

interface Member {
  readonly name: string;
  readonly port: number;
  child: ChildProcess | null;
}

export interface StatusBody {
  id?: string;
  role?: string;
  leaderId?: string | null;
  term?: number;
  commitIndex?: number;
  appliedIndex?: number;
}

export class RaftschedBackend implements Backend {
  readonly system = "raftsched";
  readonly label: string;
  readonly settings: Readonly<Record<string, unknown>>;
  readonly endpointCount: number;
  private dir = "";
  private cfgPath = "";
  private members: Member[] = [];
  private readonly statusClients = new Map<number, RawHttpClient>();

  constructor(private readonly opts: RaftschedOptions) {
    const [lo, hi] = opts.electionTimeoutMs;
    this.endpointCount = opts.nodes ?? 3;
    this.label = `raftsched ${this.endpointCount === 3 ? "" : `${this.endpointCount} nodes `}${opts.runTasks ? "(tasks run) " : ""}ET ${lo}-${hi}`;
    this.settings = { electionTimeoutMs: [lo, hi], heartbeatMs: opts.heartbeatMs, capacity: opts.runTasks ? "default (4)" : 0, client: "raw HTTP/1.1 keep-alive, one socket per client" };
  }

  async start(): Promise<void> {
    this.dir = mkdtempSync(path.join(os.tmpdir(), "raftsched-bench-"));
    trackTempDir(this.dir);
    const ports = await freePorts(this.endpointCount);
    this.members = ports.map((port, i) => ({ name: `n${i + 1}`, port, child: null }));
    this.cfgPath = path.join(this.dir, "cluster.json");
    writeFileSync(
      this.cfgPath,
      JSON.stringify(
        {
          cluster: "bench",
          token: TOKEN,
          electionTimeoutMs: this.opts.electionTimeoutMs,
          heartbeatMs: this.opts.heartbeatMs,
          ...this.opts.clusterFields,
          ...(this.opts.workerTimeoutMs !== undefined ? { workerTimeoutMs: this.opts.workerTimeoutMs } : {}),
          nodes: this.members.map((m) => ({
            id: m.name,
            url: `http://127.0.0.1:${m.port}`,
            ...(this.opts.externalWorkersOnly ? { worker: false } : this.opts.runTasks ? {} : { capacity: 0 }),
          })),
        },
        null,
        2,
      ),
    );
    if (this.opts.seed) {
      const dirs = this.members.map((m) => ({ name: m.name, dir: this.dataDirOf(m) }));
      for (const d of dirs) mkdirSync(d.dir, { recursive: true });
      await this.opts.seed(this.cfgPath, dirs);
    }
    for (const m of this.members) this.spawnMember(m);
  }

  private dataDirOf(m: Member): string {
    return path.join(this.dir, m.name);
  }

  private spawnMember(m: Member): void {
    const dataDir = this.dataDirOf(m);
    mkdirSync(dataDir, { recursive: true });
    const prof = this.opts.cpuProfDir ? ["--cpu-prof", `--cpu-prof-dir=${this.opts.cpuProfDir}`, `--cpu-prof-name=${m.name}.cpuprofile`] : [];
    // NodeProcess: the one place that spawns a node (PID tracked, killed by PID if the driver dies first); the
    // child is also tracked with the benchmark's other processes so the driver's exit hooks see it.
    const proc = NodeProcess.spawn({
      id: m.name,
      configPath: this.cfgPath,
      dataDir,
      nodeArgs: prof,
      logFile: path.join(this.dir, `${m.name}.log`),
      // The token in the environment would override the cluster file's; pin it to ours.
      env: {
        ...process.env,
        RAFTSCHED_LOG_LEVEL: this.opts.logLevel ?? process.env.BENCH_LOG_LEVEL ?? "warn",
        RAFTSCHED_TOKEN: TOKEN,
        ...(this.opts.traceStages ? { RAFTSCHED_TRACE_STAGES: this.stagesFile(m.name) } : {}),
      },
      cwd: ROOT,
    });
    trackChild(proc.child);
    m.child = proc.child;
  }

  createClient(endpointIndex: number, reqTimeoutMs: number): WriteClient {
    const m = this.member(endpointIndex);
    const http = new RawHttpClient("127.0.0.1", m.port, reqTimeoutMs, `Authorization: Bearer ${TOKEN}\r\n`);
    return {
      multiplexed: false,
      async put(key: string, value: string): Promise<void> {
        const r = await http.request("POST", "/v1/tasks", `{"id":${JSON.stringify(key)},"payload":${JSON.stringify(value)}}`);
        if (r.status !== 201 && r.status !== 200) throw new BenchError("WRITE_REFUSED", `HTTP ${r.status} ${r.body.toString("utf8", 0, 200)}`);
      },
      close: () => http.close(),
    };
  }

  /** The HTTP port of endpoint i, and the header a request needs (the real workload's metrics watch). */
  endpointOf(i: number): { port: number; authHeader: string } {
    return { port: this.member(i).port, authHeader: `Authorization: Bearer ${TOKEN}\r\n` };
  }

  /** Where a member started with traceStages writes its stage timings. */
  stagesFile(name: string): string {
    return path.join(this.dir, `${name}.stages.json`);
  }

  /** A client of the real workload: submit a task, and read its state from the node's own table (stale read). */
  createTaskClient(
    endpointIndex: number,
    reqTimeoutMs: number,
  ): { submit(id: string, payload: unknown): Promise<void>; state(id: string, waitMs?: number): Promise<string | null>; close(): void } {
    const m = this.member(endpointIndex);
    const auth = `Authorization: Bearer ${TOKEN}\r\n`;
    const writes = new RawHttpClient("127.0.0.1", m.port, reqTimeoutMs, auth);
    const reads = new RawHttpClient("127.0.0.1", m.port, reqTimeoutMs, auth);
    return {
      async submit(id, payload) {
        const r = await writes.request("POST", "/v1/tasks", JSON.stringify({ id, payload }));
        if (r.status !== 201 && r.status !== 200) throw new BenchError("WRITE_REFUSED", `HTTP ${r.status} ${r.body.toString("utf8", 0, 200)}`);
      },
      // waitMs: a long poll (?wait=terminal) that answers once the node applied the task's end, or after waitMs.
      async state(id, waitMs) {
        const wait = waitMs === undefined ? "" : `&wait=terminal&timeoutMs=${waitMs}`;
        const r = await reads.request("GET", `/v1/tasks/${encodeURIComponent(id)}?stale=true${wait}`);
        if (r.status === 404) return null;
        if (r.status !== 200) throw new BenchError("READ_REFUSED", `HTTP ${r.status} ${r.body.toString("utf8", 0, 200)}`);
        return (JSON.parse(r.body.toString("utf8")) as { state?: string }).state ?? null;
      },
      close() {
        writes.close();
        reads.close();
      },
    };
  }

  private member(i: number): Member {
    const m = this.members[i % this.members.length];
    if (!m) throw new BenchError("NOT_STARTED", "cluster not started");
    return m;
  }

  /** Member i's loopback port and log file (the scale benchmark reads /metrics and the snapshot log lines). */
  memberPort(i: number): number {
    return this.member(i).port;
  }

  memberLog(i: number): string {
    return path.join(this.dir, `${this.member(i).name}.log`);
  }

  /** GET /v1/status of member i; null when it does not answer. */
  async statusOf(i: number): Promise<StatusBody | null> {
    return this.status(i);
  }

  private async status(i: number): Promise<StatusBody | null> {
    let c = this.statusClients.get(i);
    if (!c) {
      c = new RawHttpClient("127.0.0.1", this.member(i).port, STATUS_TIMEOUT_MS);
      this.statusClients.set(i, c);
    }
    try {
      const r = await c.request("GET", "/v1/status");
      return r.status === 200 ? (JSON.parse(r.body.toString("utf8")) as StatusBody) : null;
    } catch {
      return null;
    }
  }

  async leaderViews(): Promise<LeaderView[]> {
    const all = await Promise.all(
      this.members.map(async (m, i): Promise<LeaderView | null> => {
        if (!m.child || !isRunning(m.child)) return null;
        const s = await this.status(i);
        if (!s || typeof s.id !== "string") return null;
        return { endpointIndex: i, self: s.id, leader: s.role === "leader" ? s.id : (s.leaderId ?? null) };
      }),
    );
    return all.filter((v): v is LeaderView => v !== null);
  }

  async leader(): Promise<LeaderInfo | null> {
    const views = await this.leaderViews();
    const self = views.find((v) => v.leader === v.self);
    if (!self) return null;
    const m = this.member(self.endpointIndex);
    if (!m.child?.pid || !isRunning(m.child)) return null;
    return { name: m.name, endpointIndex: self.endpointIndex, pid: m.child.pid };
  }

  async killLeader(): Promise<KilledLeader> {
    // On a loaded box a status poll can time out or fall in an election: look again for a few seconds.
    let l = await this.leader();
    for (const deadline = now() + 10_000; !l && now() < deadline; l = await this.leader()) await sleep(50);
    if (!l) throw new BenchError("NO_LEADER", "no leader to kill");
    const tKill = now();
    process.kill(l.pid, "SIGKILL");
    return { ...l, tKill };
  }

  async restartMember(name: string): Promise<void> {
    const i = this.members.findIndex((m) => m.name === name);
    const m = this.members[i];
    if (!m) throw new BenchError("NO_SUCH_MEMBER", `no member ${name}`);
    if (m.child) await killChild(m.child); // wait for the SIGKILLed process to be reaped before reusing its port
    this.statusClients.get(i)?.close();
    this.statusClients.delete(i);
    this.spawnMember(m);
  }

  async waitHealthy(timeoutMs: number): Promise<void> {
    const deadline = now() + timeoutMs;
    let key = 0;
    while (now() < deadline) {
      const views = await this.leaderViews();
      const leaders = new Set(views.map((v) => v.leader));
      if (views.length === this.members.length && leaders.size === 1 && !leaders.has(null)) {
        const probes = this.members.map((_, i) => this.createClient(i, 1000));
        const stamp = Date.now().toString(36);
        const ok = await Promise.all(probes.map((p, i) => p.put(`health.${stamp}.${i}.${key++}`, "ok").then(() => true, () => false)));
        probes.forEach((p) => p.close());
        if (ok.every(Boolean)) return;
      }
      for (const m of this.members) {
        if (m.child && !isRunning(m.child) && m.child.exitCode !== null) {
          throw new BenchError("MEMBER_EXITED", `${m.name} exited with code ${m.child.exitCode}; see ${path.join(this.dir, `${m.name}.log`)}`);
        }
      }
      await sleep(100);
    }
    throw new BenchError("NOT_HEALTHY", `raftsched cluster not healthy within ${timeoutMs} ms (logs in ${this.dir})`);
  }

  pids(): Array<number | null> {
    return this.members.map((m) => (m.child?.pid && isRunning(m.child) ? m.child.pid : null));
  }

  async stop(): Promise<void> {
    for (const c of this.statusClients.values()) c.close();
    this.statusClients.clear();
    if (this.opts.cpuProfDir) await Promise.all(this.members.map((m) => (m.child ? stopGracefully(m.child, STOP_GRACE_MS) : Promise.resolve())));
    await Promise.all(this.members.map((m) => (m.child ? killChild(m.child) : Promise.resolve())));
    if (this.dir) removeTempDir(this.dir);
  }
}
