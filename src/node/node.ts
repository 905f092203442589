// One raftsched replica, wired: LevelDB store → in-memory log → pure core → runner, the peer transport, the
// replicated task table, the leader's duties and the local task executor. It serves no HTTP itself: the layers above
// see it through its ReplicaHandle (replica-handle.ts), and src/server.ts (the composition root) puts the HTTP API,
// the dashboard and the metrics in front of it.
import { randomBytes, randomUUID } from "node:crypto";
import path from "node:path";
import { pathToFileURL } from "node:url";
import type { Logger } from "pino";
import { findNode, ticksOf, type ClusterFile } from "../config/cluster-file.js";
import { RaftNode } from "../raft/raft.js";
import { makePrng } from "../raft/prng.js";
import type { ConfChange, ConfState, Entry, MemberFacts, Message, NodeId, Role, Snapshot } from "../raft/types.js";
import { applyConfChange, decodeConfChange } from "../raft/confchange.js";
import { decodeSnapshotData, encodeSnapshotData, encodeSnapshotDataSliced } from "./snapshot-data.js";
import { LevelStore } from "../storage/level.js";
import type { MemoryStorage } from "../storage/memory.js";
import { WsTransport, type PeerTlsOptions } from "../transport/ws-transport.js";
import { TaskTable } from "../scheduler/table.js";
import { encodeCommand, type Command } from "../scheduler/commands.js";
import { retryAtMs } from "../scheduler/planner.js";
import type { ApplyResult } from "../scheduler/types.js";
import { RaftRunner } from "./raft-runner.js";
import { LeaderDuties } from "./leader-duties.js";
import { StorageIdentity } from "./storage-identity.js";
import { TaskExecutor, type TaskHandler } from "./task-executor.js";
import { RejoinLeaveWatcher } from "./rejoin-leave-watcher.js";
import { isMember, latestConfInLog, membersOfEither } from "./rejoin-leave-decision.js";
import { yieldIfLarge } from "./large-request-yield.js";
import { notAPeerWatchFor, type NotAPeerWatch, type WatchedNode } from "./not-a-peer-watch.js";
import { waitUntilReady } from "./leader-wait.js";
import { factsOf, workerCapacities } from "./member-facts.js";
import type { NodeStatus, ReplicaHandle, StateCapture } from "./replica-handle.js";
import { wiringOf } from "./replica-wiring.js";
import type { ReplicaHooks } from "./replica-hooks.js";
export type { ReplicaHooks } from "./replica-hooks.js";
export type { ReplicaWiring } from "./replica-wiring.js";
import { RaftschedError, errorMessage } from "../util/errors.js";

export interface ReplicaOptions {
  readonly cfg: ClusterFile;
  readonly id: string;
  /** The data dir, resolved and existing. */
  readonly dataDir: string;
  /** Never bootstrap: wait to be added by a member (POST /v1/cluster/members). */
  readonly join?: boolean;
  readonly logger: Logger;
  /** The task handler; default: the cluster file's handler module, else the built-in sleep/fail handler. */
  readonly handler?: TaskHandler;
  readonly hooks: ReplicaHooks;
  readonly peerTls?: PeerTlsOptions; // TLS between peers (a cluster file with `tls`; src/tls/node-tls.ts)
}

/** What the composition root (src/server.ts) plugs into the replica. */

/** How long an API call waits for its proposal to commit before answering "outcome unknown". */
const PROPOSAL_TIMEOUT_MS = 5000;
/** How long one "is my table current?" question to the leader may take before the executor asks again. */
const CONFIRM_COMMIT_TIMEOUT_MS = 2000;

export class Replica {
  readonly id: string;
  readonly url: string;
  readonly logger: Logger;
  private readonly cfg: ClusterFile;
  private readonly opts: ReplicaOptions;
  private readonly hooks: ReplicaHooks;
  private readonly dataDir: string;
  /** The narrow view the API, the metrics and the composition root use. */
  readonly handle: ReplicaHandle;
  private store!: LevelStore;
  /** This data dir's storage id and the ones its peers presented (refuses a peer that lost its disk). */
  private identity!: StorageIdentity;
  private storage!: MemoryStorage;
  private table = new TaskTable();
  private runner!: RaftRunner;
  private core!: RaftNode;
  private transport!: WsTransport;
  /** The HTTP server the composition root put in front (ReplicaHooks.serve). */
  private served: { close(): Promise<void> } | null = null;
  private duties!: LeaderDuties;
  private executor!: TaskExecutor;
  /** Decides when this node, removed, stops: not on a replayed removal that its log undoes (issue #16). */
  private leaveWatch!: RejoinLeaveWatcher;
  /** Member id → url: the cluster file's nodes, then whatever membership changes say. */
  private readonly memberUrls = new Map<string, string>();
  /** Member id → the capacity/worker flag its runtime addition carried (member-facts.ts). */
  private readonly memberFacts = new Map<string, MemberFacts>();
  private fatalCbs: Array<(err: Error) => void> = [];
  private removedCbs: Array<() => void> = [];
  private closed = false;
  private role: Role = "follower";
  /** This node knows it is no longer a member (applied its removal, or its peers confirmed it): /healthz says so. */
  private removed = false;
  private notAPeerWatch: NotAPeerWatch | null = null;
  /** The configuration at the last entry applied here. The core's changes only in advance(), after a whole batch:
   *  two config entries in one batch must not compute the second from the configuration before the first. */
  private appliedConf: ConfState = { voters: [], learners: [] };

  constructor(opts: ReplicaOptions) {
    this.cfg = opts.cfg;
    this.opts = opts;
    this.hooks = opts.hooks;
    this.id = opts.id;
    this.url = findNode(opts.cfg, opts.id).url;
    this.logger = opts.logger;
    this.dataDir = opts.dataDir;
    for (const n of opts.cfg.nodes) this.memberUrls.set(n.id, n.url);
    this.handle = replicaHandle(this, {
      runner: () => this.runner,
      table: () => this.table,
      executor: () => this.executor,
      duties: () => this.duties,
      removed: () => this.removed,
      memberUrl: (id) => this.memberUrls.get(id),
    });
  }

  async start(): Promise<void> {
    this.store = await LevelStore.open(this.dataDir);
    try {
      await this.startOnStore();
    } catch (err) {
      // A node that cannot start must not linger half-started (dialing peers, timers keeping the process alive):
      // undo what was started and let the caller exit with the error.
      await this.abandonStart();
      throw err;
    }
  }

  /** Undoes a failed start(): whatever was created is stopped, the store closed. Never throws. */
  private async abandonStart(): Promise<void> {
    this.closed = true;
    const quietly = async (f: () => unknown) => {
      try {
        await f();
      } catch {
        // best effort: the start already failed with the error that matters
      }
    };
    await quietly(() => this.duties?.stop());
    await quietly(() => this.notAPeerWatch?.stop());
    await quietly(() => this.executor?.stop());
    await quietly(() => this.runner?.stop());
    await quietly(() => this.transport?.close());
    await quietly(() => this.served?.close());
    await quietly(() => this.store.close());
  }

  private async startOnStore(): Promise<void> {
    this.identity = StorageIdentity.open(this.dataDir);
    this.storage = await this.store.load();
    this.store.onSyncedBatch = this.hooks.observer?.fsync ?? null;
    const init = this.storage.initialState();
    const fresh = init.hardState.term === 0 && this.storage.lastIndex() === 0 && init.confState.voters.length === 0;
    if (fresh && !this.opts.join) {
      // The cluster file's voters and learners form the first configuration. Persisted as the snapshot at index 0,
      // so every later start reads the membership from the store, not from the file.
      const conf: ConfState = {
        voters: this.cfg.nodes.filter((n) => n.role === "voter").map((n) => n.id).sort(),
        learners: this.cfg.nodes.filter((n) => n.role === "learner").map((n) => n.id).sort(),
      };
      const boot: Snapshot = {
        meta: { index: 0, term: 0, conf },
        data: encodeSnapshotData({ memberUrls: this.memberUrls, table: new TaskTable().snapshot() }),
      };
      await this.store.persist({ entries: [], snapshot: boot });
      this.storage.applySnapshot(boot);
      this.logger.info({ voters: conf.voters, learners: conf.learners }, "bootstrapped the first configuration from the cluster file");
    } else if (fresh) {
      this.logger.info("empty data dir and --join: waiting to be added by a member of the cluster");
    }
    const snap = this.storage.snapshot();
    this.restoreFromSnapshot(snap);

    const ticks = ticksOf(this.cfg);
    const seed = randomBytes(4).readUInt32LE(0);
    this.core = new RaftNode({ id: this.id, storage: this.storage, ...ticks, random: makePrng(seed) });

    this.duties = new LeaderDuties({
      selfId: this.id,
      logger: this.logger,
      table: () => this.table,
      workerTimeoutMs: this.cfg.workerTimeoutMs,
      strategy: this.cfg.strategy,
      rng: makePrng(seed ^ 0x9e3779b9),
      workerMembers: () => this.workerMembers(), memberTags: (id) => this.cfg.nodes.find((n) => n.id === id)?.tags ?? [],
      inLatestConf: (id) => isMember(this.latestConfAfter(this.confApplied(), this.runner.appliedIndex), id),
      propose: (cmd) => this.proposeCommand(cmd), retention: this.cfg.retention,
      // The role as announced by the last Ready: duties start only after becameLeader() granted the grace period.
      isLeader: () => this.role === "leader",
    });
    const self = this;
    this.executor = new TaskExecutor({
      selfId: this.id,
      // Read at every scheduling pass: a capacity given when this node was added at runtime wins over the file's.
      get capacity() {
        return self.memberFacts.get(self.id)?.capacity ?? findNode(self.cfg, self.id).capacity;
      },
      logger: this.logger,
      assignedToMe: () => this.table.listTasks({ worker: this.id, state: "assigned", limit: 1000 }).tasks,
      lookup: (id) => this.table.getTask(id),
      report: (id, attempt, outcome) => this.hooks.reportOutcome(id, attempt, outcome), reportProgress: async (id, attempt, value) => void (await this.hooks.reportProgress?.(id, attempt, value)),
      // Attempts wait until the leader confirmed a commit index this node has applied (attempt-start-gate.ts).
      confirmCommit: async () => {
        const term = this.core.status().term;
        return { term, index: await this.runner.readIndex(CONFIRM_COMMIT_TIMEOUT_MS) };
      },
      currentTerm: () => this.core.status().term, appliedIndex: () => this.runner.appliedIndex,
      lingeringTo: { leader: () => this.runner?.knownLeader ?? null, send: async (count) => void (await this.hooks.reportLingering?.(count)) },
    });
    await this.loadHandler();

    // The transport dials the peers as soon as it exists: create it only once nothing local can fail any more
    // (a bad handler module), so a node that cannot start never talks to the cluster.
    const peers = new Map<NodeId, string>();
    for (const [id, url] of this.memberUrls) if (id !== this.id) peers.set(id, url);
    this.transport = new WsTransport({ selfId: this.id, token: this.cfg.token, peers, logger: this.logger, identity: this.identity, ...(this.opts.peerTls ? { tls: this.opts.peerTls } : {}) });

    this.leaveWatch = new RejoinLeaveWatcher({
      selfId: this.id,
      logger: this.logger,
      appliedConf: () => this.confApplied(),
      latestConf: () => this.latestConfAfter(this.confApplied(), this.runner.appliedIndex),
      appliedIndex: () => this.runner.appliedIndex,
      onLeave: () => {
        this.removed = true;
        this.notAPeerWatch?.stop();
        for (const cb of this.removedCbs) cb();
      },
    });
    this.runner = new RaftRunner({
      core: this.core,
      storage: this.storage,
      durable: this.store,
      tickMs: this.cfg.tickMs,
      logger: this.logger,
      send: (msgs) => {
        for (const m of msgs) this.transport.send(m);
      },
      apply: (e) => this.applyEntry(e),
      restore: (s) => {
        this.restoreFromSnapshot(s);
        this.onMembershipChanged(s.meta.conf, s.meta.index);
        this.leaveWatch.onSnapshotRestored(s.meta.conf, s.meta.index);
        this.logger.info({ index: s.meta.index, bytes: s.data.byteLength }, "restored the task table from a snapshot");
      },
      onRoleChange: (role, leaderId, term) => this.onRoleChange(role, leaderId, term),
      onApplied: () => this.executor.reconcile(),
      snapshotEveryEntries: this.cfg.snapshotEveryEntries,
      writeStallAfterMs: this.cfg.electionTimeoutMs[1],
      takeSnapshot: () => this.captureState().data,
      observer: this.hooks.observer,
    });
    this.transport.onSnapshotSent((to, ok) => this.runner.reportSnapshot(to, ok));
    this.transport.onMessage((m: Message) => {
      this.duties.heard(m.from);
      this.leaveWatch.heard(m);
      this.runner.step(m);
    });

    this.served = await this.hooks.serve(wiringOf(this.transport, this.store.faults));

    this.runner.start();
    this.duties.start();
    this.executor.start();
    // A member removed while it could not hear about it finds out from its peers (issue #18).
    this.notAPeerWatch = notAPeerWatchFor(this.watched(), (evidence) => this.announceRemoval(`every peer refuses it as not a peer, and ${evidence}`));
    this.notAPeerWatch.start();
    const timer = setInterval(() => {
      const err = this.runner.fatalError;
      if (err) {
        clearInterval(timer);
        for (const cb of this.fatalCbs) cb(err);
      }
    }, 100);
    timer.unref();
  }

  /** What the not-a-peer watch reads. */
  private watched(): WatchedNode {
    return { id: this.id, logger: this.logger, cfg: this.cfg, memberUrls: this.memberUrls, raftStatus: () => this.core.status(), transport: this.transport };
  }

  private async loadHandler(): Promise<void> {
    if (this.opts.handler) {
      this.executor.setHandler(this.opts.handler);
      return;
    }
    if (this.cfg.handler) {
      const base = this.cfg.path ? path.dirname(this.cfg.path) : process.cwd();
      const file = path.resolve(base, this.cfg.handler);
      let mod: { default?: unknown };
      try {
        mod = (await import(pathToFileURL(file).href)) as { default?: unknown };
      } catch (err) {
        throw new RaftschedError("BAD_HANDLER", `cannot load handler module ${file}: ${errorMessage(err)}`);
      }
      if (typeof mod.default !== "function") throw new RaftschedError("BAD_HANDLER", `${file} has no default export function`);
      this.executor.setHandler(mod.default as TaskHandler);
    }
  }

  /** Members that run tasks, with their capacity (member-facts.ts: the replicated facts, the file, the default). */
  workerMembers(): Map<string, number> {
    return workerCapacities(this.core.status().conf, this.cfg.nodes, this.memberFacts);
  }

  private restoreFromSnapshot(s: Snapshot): void {
    const d = decodeSnapshotData(s.data);
    this.table = d.table.byteLength > 0 ? TaskTable.restore(d.table) : new TaskTable();
    this.appliedConf = s.meta.conf;
    this.hooks.onRestored?.(s.meta.index);
    for (const [id, url] of d.memberUrls) this.memberUrls.set(id, url);
    for (const [id, facts] of d.memberFacts ?? []) this.memberFacts.set(id, facts);
  }

  private applyEntry(e: Entry): unknown {
    if (e.kind === "config") return this.applyConfigEntry(e);
    if (e.data.byteLength === 0) return undefined; // a new leader's no-op
    const result = this.table.applyEntry(e.index, e.data);
    this.hooks.onApplied?.(result, e.index);
    if (this.runner?.isLeader) this.duties.applied(result); // attempt clocks start, then a placement round
    return result;
  }

  /** The core applies the change to its own membership right after this (in advance()); we compute the same
   *  result here so the transport can dial a new member at once. */
  private applyConfigEntry(e: Entry): unknown {
    let cc: ConfChange;
    try {
      cc = decodeConfChange(e.data);
    } catch (err) {
      this.logger.error({ index: e.index, err: errorMessage(err) }, "undecodable membership entry; ignored like the core does");
      return { ok: false };
    }
    if (cc.op !== "remove" && cc.url) this.memberUrls.set(cc.id, cc.url);
    const facts = cc.op === "remove" ? null : factsOf(cc);
    if (facts) this.memberFacts.set(cc.id, facts);
    else if (cc.op === "remove") this.memberFacts.delete(cc.id);
    const conf = applyConfChange(this.confApplied(), cc);
    this.appliedConf = conf;
    this.onMembershipChanged(conf, e.index);
    this.logger.info({ change: cc, voters: conf.voters, learners: conf.learners, index: e.index }, "membership changed");
    this.leaveWatch.onConfChangeApplied(cc, e.index);
    return { ok: true, conf };
  }

  /** `conf` holds at `index`. Links and remembered disks follow the members of it or of the latest configuration
   *  in the log, so a replayed removal that a later entry undoes drops neither (rejoin-leave-decision.ts). */
  private onMembershipChanged(conf: ConfState, index: number): void {
    const members = membersOfEither(conf, this.latestConfAfter(conf, index));
    // A member that left may come back under its id with a new disk (remove, --join, add): forget its old one.
    if (members.size > 0) this.identity.retainOnly(members);
    // A --join node that knows no configuration yet keeps every peer it knows of: any of them may lead.
    if (members.size === 0) for (const id of this.memberUrls.keys()) members.add(id);
    const leader = this.runner?.knownLeader;
    if (leader) members.add(leader); // a re-added node keeps its link to the leader feeding it the log
    const peers = new Map<NodeId, string>();
    for (const id of members) {
      const url = this.memberUrls.get(id);
      if (id !== this.id && url) peers.set(id, url);
    }
    this.transport.setPeers(peers);
  }

  private announceRemoval(how = "it applied its own removal"): void {
    if (this.removed) return;
    this.removed = true;
    this.notAPeerWatch?.stop();
    this.logger.warn({ how }, `this node was removed from the cluster (${how}): it no longer takes part and will stop`);
    // Let the removal's own Ready finish (the leader still sends the commit to its former followers) first.
    setTimeout(() => {
      for (const cb of this.removedCbs) cb();
    }, 500).unref();
  }

  /** The configuration at the applied index. A --join node's first snapshot from the leader is the bootstrap one at
   *  index 0, which the core takes (its configuration) but the runner does not restore (nothing to replace): until
   *  a configuration is applied here the core's is the one to use. A configuration with no voter exists only then. */
  private confApplied(): ConfState {
    return this.appliedConf.voters.length > 0 ? this.appliedConf : this.core.status().conf;
  }

  /** The configuration of the last config entry in the stored log after `index` (`conf`, which holds there, if none). */
  private latestConfAfter(conf: ConfState, index: number): ConfState {
    const from = Math.max(index + 1, this.storage.firstIndex());
    const last = this.storage.lastIndex();
    return from > last ? conf : latestConfInLog(conf, this.storage.entries(from, last + 1));
  }

  onRemoved(cb: () => void): void {
    this.removedCbs.push(cb);
  }

  private onRoleChange(role: Role, leaderId: NodeId | null, term: number): void {
    const was = this.role;
    this.role = role;
    if (role === "leader" && was !== "leader") {
      this.duties.becameLeader();
      this.logger.info({ term }, "became leader");
    } else if (was === "leader" && role !== "leader") {
      this.logger.info({ term, leaderId }, "stepped down");
    }
    this.hooks.onRoleChange?.(role, term);
    // A new leader may be missing from the configuration applied so far (a node replaying old entries): link to it.
    if (leaderId && leaderId !== this.id) this.onMembershipChanged(this.confApplied(), this.runner.appliedIndex);
  }

  /** Proposes on this node (which must be the leader) and returns the state machine's answer. */
  async proposeCommand(cmd: Command, timeoutMs = PROPOSAL_TIMEOUT_MS): Promise<ApplyResult> {
    const data = encodeCommand(cmd);
    await yieldIfLarge(data.length); // encoding a large command and appending it are separate turns (heartbeats)
    const result = await this.runner.propose(data, timeoutMs).catch((err) => {
      throw translateRaftError(err);
    });
    return result as ApplyResult;
  }

  retryAt(failedAttempt: number): number {
    return retryAtMs(Date.now(), failedAttempt);
  }

  leaderUrl(): string | null {
    const leader = this.runner.knownLeader;
    if (!leader || leader === this.id) return null;
    return this.memberUrls.get(leader) ?? null;
  }

  onTask(handler: TaskHandler): void {
    this.executor.setHandler(handler);
  }

  ready(opts: { timeoutMs?: number } = {}): Promise<void> {
    const probe = {
      knownLeader: () => this.runner.knownLeader,
      commitIndex: () => this.core.status().commit,
      appliedIndex: () => this.runner.appliedIndex,
      stopped: () => this.closed || this.runner.fatalError !== null,
    };
    return waitUntilReady(probe, opts.timeoutMs);
  }

  status(): NodeStatus {
    const st = this.core.status();
    const learner = st.conf.learners.includes(this.id);
    const role = st.role === "leader" ? "leader" : st.role === "candidate" ? "candidate" : learner ? "learner" : "follower";
    return {
      id: this.id,
      role,
      term: st.term,
      leaderId: st.leaderId,
      commitIndex: st.commit,
      appliedIndex: this.runner ? this.runner.appliedIndex : st.applied,
    };
  }

  raftStatus() {
    return this.core.status();
  }

  /** The state machine as of the last applied entry: the urls and the table view are captured now, synchronously;
   *  the table serializes in slices while entries keep applying (local snapshots, and backups). */
  captureState(): StateCapture {
    const members = { memberUrls: new Map(this.memberUrls), memberFacts: new Map(this.memberFacts) };
    const index = this.runner.appliedIndex;
    return { index, term: this.core.status().term, data: encodeSnapshotDataSliced(members, this.table.beginSnapshot()) };
  }

  /** The cluster-file settings the layers above read (its token, timeouts). */
  get settings(): ClusterFile {
    return this.cfg;
  }

  onFatal(cb: (err: Error) => void): void {
    this.fatalCbs.push(cb);
  }

  newTaskId(): string {
    return randomUUID();
  }

  /** Stops everything; `beforeStop` (the composition root's hand-over) runs first, once, while all still runs. */
  async close(beforeStop?: () => Promise<void>): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    await beforeStop?.();
    this.duties.stop();
    this.notAPeerWatch?.stop();
    this.executor.stop();
    this.leaveWatch.stop();
    await this.runner.stop();
    await this.transport.close();
    await this.served?.close();
    await this.store.close();
    this.logger.info("node stopped");
  }
}

/** What replicaHandle reads from the replica's private fields, at each use (a restore replaces the table). */
interface ReplicaParts {
  runner(): RaftRunner;
  table(): TaskTable;
  executor(): TaskExecutor;
  duties(): LeaderDuties;
  removed(): boolean;
  memberUrl(id: string): string | undefined;
}

function replicaHandle(r: Replica, parts: ReplicaParts): ReplicaHandle {
  return {
    id: r.id,
    get cfg() {
      return r.settings;
    },
    get runner() {
      return parts.runner();
    },
    get table() {
      return parts.table();
    },
    get executor() {
      return parts.executor();
    },
    get duties() {
      return parts.duties();
    },
    get removed() {
      return parts.removed();
    },
    status: () => r.status(),
    raftStatus: () => r.raftStatus(),
    captureState: () => r.captureState(),
    workerMembers: () => r.workerMembers(),
    memberUrl: (id) => parts.memberUrl(id),
    leaderUrl: () => r.leaderUrl(),
    newTaskId: () => r.newTaskId(),
    retryAt: (failedAttempt) => r.retryAt(failedAttempt),
    proposeCommand: (cmd, timeoutMs) => r.proposeCommand(cmd, timeoutMs),
  };
}

/** Maps core errors to API errors a client can act on. */
export function translateRaftError(err: unknown): Error {
  const e = err as { code?: string; leaderId?: string | null; message?: string };
  if (e?.code === "NOT_LEADER") return new RaftschedError("NOT_LEADER", e.message ?? "not the leader", { leaderId: e.leaderId ?? null });
  return err instanceof Error ? err : new Error(String(err));
}
