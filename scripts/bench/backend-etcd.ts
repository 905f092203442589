// etcd as a benchmark backend: a fresh 3-member etcd cluster in a temp dir on free loopback ports, each member a
// child of this driver (killed by PID), with the same heartbeat / election timeout flags the etcd anchor used.
// Writes: the etcd3 gRPC client, one Etcd3 instance (its own HTTP/2 connection) per logical client, with etcd3's
// retry and circuit-breaker policies off so the workload sees every error itself. Leader: Maintenance.Status.
import type { ChildProcess } from "node:child_process";
import { mkdirSync, mkdtempSync } from "node:fs";
import os from "node:os";
import path from "node:path";
import { noop } from "cockatiel";
import { Etcd3 } from "etcd3";
import type { Backend, KilledLeader, LeaderInfo, LeaderView, WriteClient } from "./backend.js";
import { BenchError } from "./backend.js";
import { isRunning, killChild, removeTempDir, spawnTracked, trackTempDir } from "./children.js";
import type { EtcdBinary } from "./etcd-install.js";
import { freePorts } from "../../src/util/ports.js";
import { now, sleep } from "./stats.js";

export interface EtcdOptions {
  readonly heartbeatMs: number;
  readonly electionTimeoutMs: number;
  readonly binary: EtcdBinary;
}

interface Member {
  readonly name: string;
  readonly clientPort: number;
  readonly peerPort: number;
  child: ChildProcess | null;
  started: boolean;
}

function grpcClient(endpoint: string, reqTimeoutMs: number): Etcd3 {
  return new Etcd3({
    hosts: endpoint,
    dialTimeout: Math.min(reqTimeoutMs, 3000),
    faultHandling: { host: () => noop, global: noop },
    defaultCallOptions: (ctx) => (ctx.isStream ? {} : { deadline: Date.now() + reqTimeoutMs }),
    // grpc-js shares subchannels process-wide unless told otherwise: one connection per logical client.
    grpcOptions: { "grpc.use_local_subchannel_pool": 1 },
  });
}

export class EtcdBackend implements Backend {
  readonly system = "etcd";
  readonly label: string;
  readonly settings: Readonly<Record<string, unknown>>;
  readonly endpointCount = 3;
  private dir = "";
  private members: Member[] = [];
  private admin: Etcd3[] = [];
  /** etcd member id (decimal string) → member name. */
  private names = new Map<string, string>();

  constructor(private readonly opts: EtcdOptions) {
    this.label = `etcd ${opts.binary.version} HB ${opts.heartbeatMs} ET ${opts.electionTimeoutMs}`;
    this.settings = { version: opts.binary.version, heartbeatMs: opts.heartbeatMs, electionTimeoutMs: opts.electionTimeoutMs, client: "etcd3 1.1.2 gRPC, one connection per client" };
  }

  private endpoint(i: number): string {
    const m = this.members[i % this.members.length];
    if (!m) throw new BenchError("NOT_STARTED", "cluster not started");
    return `http://127.0.0.1:${m.clientPort}`;
  }

  async start(): Promise<void> {
    this.dir = mkdtempSync(path.join(os.tmpdir(), "etcd-bench-"));
    trackTempDir(this.dir);
    const ports = await freePorts(6);
    this.members = [0, 1, 2].map((i) => ({ name: `n${i + 1}`, clientPort: ports[i]!, peerPort: ports[i + 3]!, child: null, started: false }));
    for (const m of this.members) this.spawnMember(m);
    this.admin = this.members.map((_, i) => grpcClient(this.endpoint(i), 400));
  }

  private spawnMember(m: Member): void {
    const initialCluster = this.members.map((x) => `${x.name}=http://127.0.0.1:${x.peerPort}`).join(",");
    const dataDir = path.join(this.dir, m.name);
    mkdirSync(dataDir, { recursive: true });
    m.child = spawnTracked(
      this.opts.binary.path,
      [
        "--name", m.name,
        "--data-dir", dataDir,
        "--listen-client-urls", `http://127.0.0.1:${m.clientPort}`,
        "--advertise-client-urls", `http://127.0.0.1:${m.clientPort}`,
        "--listen-peer-urls", `http://127.0.0.1:${m.peerPort}`,
        "--initial-advertise-peer-urls", `http://127.0.0.1:${m.peerPort}`,
        "--initial-cluster", initialCluster,
        "--initial-cluster-token", "bench-cluster",
        // A restarted member finds its data dir and ignores the initial-cluster flags.
        "--initial-cluster-state", m.started ? "existing" : "new",
        "--heartbeat-interval", String(this.opts.heartbeatMs),
        "--election-timeout", String(this.opts.electionTimeoutMs),
        "--logger", "zap",
        "--log-outputs", path.join(this.dir, `${m.name}.zap.log`),
      ],
      { logFile: path.join(this.dir, `${m.name}.log`) },
    );
    m.started = true;
  }

  createClient(endpointIndex: number, reqTimeoutMs: number): WriteClient {
    const c = grpcClient(this.endpoint(endpointIndex), reqTimeoutMs);
    return {
      multiplexed: true,
      async put(key: string, value: string): Promise<void> {
        await c.put(key).value(value).exec();
      },
      close: () => c.close(),
    };
  }

  private async loadNames(): Promise<void> {
    for (const a of this.admin) {
      try {
        const r = await a.cluster.memberList({});
        const m = new Map<string, string>();
        for (const mem of r.members) m.set(mem.ID, mem.name);
        this.names = m;
        return;
      } catch {
        /* try the next member */
      }
    }
  }

  async leaderViews(): Promise<LeaderView[]> {
    const all = await Promise.all(
      this.admin.map(async (a, i): Promise<LeaderView | null> => {
        const m = this.members[i];
        if (!m?.child || !isRunning(m.child)) return null;
        try {
          const s = await a.maintenance.status({});
          if (!this.names.has(s.header.member_id) || (s.leader !== "0" && !this.names.has(s.leader))) await this.loadNames();
          const self = this.names.get(s.header.member_id) ?? `id:${s.header.member_id}`;
          const leader = s.leader === "0" ? null : (this.names.get(s.leader) ?? `id:${s.leader}`);
          return { endpointIndex: i, self, leader };
        } catch {
          return null;
        }
      }),
    );
    return all.filter((v): v is LeaderView => v !== null);
  }

  async leader(): Promise<LeaderInfo | null> {
    const views = await this.leaderViews();
    const self = views.find((v) => v.leader === v.self);
    if (!self) return null;
    const m = this.members[self.endpointIndex];
    if (!m?.child?.pid || !isRunning(m.child)) return null;
    return { name: m.name, endpointIndex: self.endpointIndex, pid: m.child.pid };
  }

  async killLeader(): Promise<KilledLeader> {
    const l = await this.leader();
    if (!l) throw new BenchError("NO_LEADER", "no leader to kill");
    const tKill = now();
    process.kill(l.pid, "SIGKILL");
    return { ...l, tKill };
  }

  async restartMember(name: string): Promise<void> {
    const m = this.members.find((x) => x.name === name);
    if (!m) throw new BenchError("NO_SUCH_MEMBER", `no member ${name}`);
    if (m.child) await killChild(m.child);
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
        const ok = await Promise.all(probes.map((p) => p.put(`health/${key++}`, "ok").then(() => true, () => false)));
        await Promise.all(probes.map((p) => p.close()));
        if (ok.every(Boolean)) return;
      }
      for (const m of this.members) {
        if (m.child && m.child.exitCode !== null) {
          throw new BenchError("MEMBER_EXITED", `etcd ${m.name} exited with code ${m.child.exitCode}; see ${path.join(this.dir, `${m.name}.zap.log`)}`);
        }
      }
      await sleep(100);
    }
    throw new BenchError("NOT_HEALTHY", `etcd cluster not healthy within ${timeoutMs} ms (logs in ${this.dir})`);
  }

  pids(): Array<number | null> {
    return this.members.map((m) => (m.child?.pid && isRunning(m.child) ? m.child.pid : null));
  }

  async stop(): Promise<void> {
    for (const a of this.admin) a.close();
    this.admin = [];
    await Promise.all(this.members.map((m) => (m.child ? killChild(m.child) : Promise.resolve())));
    if (this.dir) removeTempDir(this.dir);
  }
}
