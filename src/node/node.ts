// One raftsched replica, wired: LevelDB store → in-memory log → pure core → runner, the peer transport, the
// replicated task table, the leader's duties and the local task executor. It serves no HTTP itself: the layers above
// see it through its ReplicaHandle (replica-handle.ts), and src/server.ts (the composition root) puts the HTTP API,
// the dashboard and the metrics in front of it.
import { randomBytes, randomUUID } from "node:crypto";
import type { Logger } from "pino";
import { findNode, ticksOf, type ClusterFile } from "../config/cluster-file.js";
import { RaftNode } from "../raft/raft.js";
import { makePrng } from "../raft/prng.js";
import type { ConfChange, ConfState, Entry, Message, NodeId, Role, Snapshot } from "../raft/types.js";
import { decodeSnapshotData, encodeSnapshotDataSliced } from "./snapshot-data.js";
import { LevelStore } from "../storage/level.js";
import type { MemoryStorage } from "../storage/memory.js";
import { WsTransport, type PeerTlsOptions } from "../transport/ws-transport.js";
import { TaskTable } from "../scheduler/table.js";
import type { Command } from "../scheduler/commands.js";
import { ProposedCommands, largeEntryHooks } from "./proposed-command-reuse.js";
import { retryAtMs } from "../scheduler/planner.js";
import type { ApplyResult } from "../scheduler/types.js";
import { RaftRunner } from "./raft-runner.js";
import { LeaderDuties } from "./leader-duties.js";
import { StorageIdentity } from "./storage-identity.js";
import { TaskExecutor, type TaskHandler } from "./task-executor.js";
import { RejoinLeaveWatcher } from "./rejoin-leave-watcher.js";
import { createDuties, createExecutor, type ReplicaInsides } from "./replica-assembly.js";
import { ReplicaMembership } from "./replica-membership.js";
import { yieldIfLarge } from "./large-request-yield.js";
import { restoreTableInSlices } from "../scheduler/table-restore-async.js";
import { notAPeerWatchFor, type NotAPeerWatch, type WatchedNode } from "./not-a-peer-watch.js";
import { waitUntilReady } from "./leader-wait.js";
import type { NodeStatus, ReplicaHandle, StateCapture } from "./replica-handle.js";
import { wiringOf } from "./replica-wiring.js";
import type { ReplicaHooks } from "./replica-hooks.js";
export type { ReplicaHooks } from "./replica-hooks.js";
export type { ReplicaWiring } from "./replica-wiring.js";
import { errorMessage } from "../util/errors.js";
import { replicaHandleOf, translateRaftError } from "./replica-handle-of.js";
import { loadHandlerModule } from "./handler-module.js";
import { bootstrapIfFresh } from "./first-configuration.js";

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

/** How long an API call waits for its proposal to commit before answering "outcome unknown". */
const PROPOSAL_TIMEOUT_MS = 5000;

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
  private readonly proposed = new ProposedCommands(); // large submits this node proposed, applied without a decode
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
  /** Member urls and facts, and the configuration applied here (replica-membership.ts). */
  private readonly members: ReplicaMembership;
  private fatalCbs: Array<(err: Error) => void> = [];
  private removedCbs: Array<() => void> = [];
  private closed = false;
  private role: Role = "follower";
  /** This node knows it is no longer a member (applied its removal, or its peers confirmed it): /healthz says so. */
  private removed = false;
  private notAPeerWatch: NotAPeerWatch | null = null;

  constructor(opts: ReplicaOptions) {
    this.cfg = opts.cfg;
    this.opts = opts;
    this.hooks = opts.hooks;
    this.id = opts.id;
    this.url = findNode(opts.cfg, opts.id).url;
    this.logger = opts.logger;
    this.dataDir = opts.dataDir;
    this.members = new ReplicaMembership(opts.cfg, () => this.core.status().conf, () => this.storage);
    const memberUrls = this.members.urls;
    this.handle = replicaHandleOf({
      id: this.id,
      settings: () => this.cfg,
      runner: () => this.runner,
      table: () => this.table,
      executor: () => this.executor,
      duties: () => this.duties,
      removed: () => this.removed,
      memberUrl: (id) => memberUrls.get(id),
      status: () => this.status(),
      raftStatus: () => this.core.status(),
      captureState: () => this.captureState(),
      workerMembers: () => this.members.workerCapacities(),
      leaderUrl: () => this.leaderUrl(),
      newTaskId: () => randomUUID(),
      retryAt: (failedAttempt) => retryAtMs(Date.now(), failedAttempt),
      proposeCommand: (cmd, timeoutMs) => this.proposeCommand(cmd, timeoutMs),
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
    await bootstrapIfFresh({ cfg: this.cfg, join: this.opts.join ?? false, store: this.store, storage: this.storage, memberUrls: this.members.urls, logger: this.logger });
    await this.restoreFromSnapshot(this.storage.snapshot());
    const seed = randomBytes(4).readUInt32LE(0);
    this.core = new RaftNode({ id: this.id, storage: this.storage, ...ticksOf(this.cfg), random: makePrng(seed) });
    const insides: ReplicaInsides = {
      id: this.id, cfg: this.cfg, logger: this.logger, hooks: this.hooks, members: this.members,
      table: () => this.table, core: () => this.core, runner: () => this.runner,
      isLeader: () => this.role === "leader",
      propose: (cmd) => this.proposeCommand(cmd),
    };
    this.duties = createDuties(insides, seed);
    this.executor = createExecutor(insides);
    const handler = this.opts.handler ?? (await loadHandlerModule(this.cfg));
    if (handler) this.executor.setHandler(handler);

    // The transport dials the peers as soon as it exists: create it only once nothing local can fail any more
    // (a bad handler module), so a node that cannot start never talks to the cluster.
    const peers = this.members.peerUrls(this.members.urls.keys(), this.id);
    this.transport = new WsTransport({ selfId: this.id, token: this.cfg.token, peers, logger: this.logger, identity: this.identity, ...(this.opts.peerTls ? { tls: this.opts.peerTls } : {}) });
    this.leaveWatch = this.createLeaveWatch();
    this.runner = this.createRunner();
    this.transport.onSnapshotSent((to, ok) => this.runner.reportSnapshot(to, ok));
    this.transport.onMessage((m: Message) => {
      this.duties.heard(m.from);
      this.leaveWatch.heard(m);
      this.runner.step(m);
    });

    this.served = await this.hooks.serve(wiringOf(this.transport, this.store.faults));
    this.startLoops();
  }

  private createLeaveWatch(): RejoinLeaveWatcher {
    return new RejoinLeaveWatcher({
      selfId: this.id,
      logger: this.logger,
      appliedConf: () => this.members.applied(),
      latestConf: () => this.members.latestAfter(this.members.applied(), this.runner.appliedIndex),
      appliedIndex: () => this.runner.appliedIndex,
      onLeave: () => {
        this.removed = true;
        this.notAPeerWatch?.stop();
        for (const cb of this.removedCbs) cb();
      },
    });
  }

  private createRunner(): RaftRunner {
    return new RaftRunner({
      core: this.core,
      storage: this.storage,
      durable: this.store,
      tickMs: this.cfg.tickMs,
      logger: this.logger,
      send: (msgs) => {
        for (const m of msgs) this.transport.send(m);
      },
      apply: (e) => this.applyEntry(e), largeEntries: largeEntryHooks(this.proposed, () => this.runner.isLeader), // 14.3: decoded in slices
      restore: async (s) => {
        await this.restoreFromSnapshot(s);
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
  }

  /** Everything built: the Raft loop, the leader's duties, the executor, and the watches start. */
  private startLoops(): void {
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
    return { id: this.id, logger: this.logger, cfg: this.cfg, memberUrls: this.members.urls, raftStatus: () => this.core.status(), transport: this.transport };
  }

  private async restoreFromSnapshot(s: Snapshot): Promise<void> {
    const d = decodeSnapshotData(s.data);
    this.table = d.table.byteLength > 0 ? await restoreTableInSlices(d.table) : new TaskTable(); // in slices: timers go on
    this.members.restored(s.meta.conf, d);
    this.hooks.onRestored?.(s.meta.index);
  }

  private applyEntry(e: Entry): unknown {
    if (e.kind === "config") return this.applyConfigEntry(e);
    if (e.data.byteLength === 0) return undefined; // a new leader's no-op
    const result = this.proposed.apply(this.table, e.index, e.data); // the leader's own large submits: not decoded again
    this.hooks.onApplied?.(result, e.index);
    if (this.runner?.isLeader) this.duties.applied(result); // attempt clocks start, then a placement round
    return result;
  }

  /** The core applies the change to its own membership right after this (in advance()); we compute the same
   *  result here so the transport can dial a new member at once. */
  private applyConfigEntry(e: Entry): unknown {
    let applied: { change: ConfChange; conf: ConfState };
    try {
      applied = this.members.apply(e.data);
    } catch (err) {
      this.logger.error({ index: e.index, err: errorMessage(err) }, "undecodable membership entry; ignored like the core does");
      return { ok: false };
    }
    const { change, conf } = applied;
    this.onMembershipChanged(conf, e.index);
    this.logger.info({ change, voters: conf.voters, learners: conf.learners, index: e.index }, "membership changed");
    this.leaveWatch.onConfChangeApplied(change, e.index);
    return { ok: true, conf };
  }

  /** `conf` holds at `index`. Links and remembered disks follow the members of it or of the latest configuration
   *  in the log, so a replayed removal that a later entry undoes drops neither (rejoin-leave-decision.ts). */
  private onMembershipChanged(conf: ConfState, index: number): void {
    const members = this.members.membersAround(conf, index);
    // A member that left may come back under its id with a new disk (remove, --join, add): forget its old one.
    if (members.size > 0) this.identity.retainOnly(members);
    // A --join node that knows no configuration yet keeps every peer it knows of: any of them may lead.
    if (members.size === 0) for (const id of this.members.urls.keys()) members.add(id);
    const leader = this.runner?.knownLeader;
    if (leader) members.add(leader); // a re-added node keeps its link to the leader feeding it the log
    this.transport.setPeers(this.members.peerUrls(members, this.id));
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
    if (leaderId && leaderId !== this.id) this.onMembershipChanged(this.members.applied(), this.runner.appliedIndex);
  }

  /** Proposes on this node (which must be the leader) and returns the state machine's answer. */
  async proposeCommand(cmd: Command, timeoutMs = PROPOSAL_TIMEOUT_MS): Promise<ApplyResult> {
    const data = await this.proposed.encode(cmd); // a large one in slices (large-command-slices.ts)
    await yieldIfLarge(data.length); // encoding a large command and appending it are separate turns (heartbeats)
    const result = await this.duties.proposed(cmd, this.runner.propose(data, timeoutMs)).catch((err) => { // duties: placement-pipeline.ts
      throw translateRaftError(err);
    });
    return result as ApplyResult;
  }

  leaderUrl(): string | null {
    const leader = this.runner.knownLeader;
    if (!leader || leader === this.id) return null;
    return this.members.urls.get(leader) ?? null;
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

  /** The state machine as of the last applied entry: the urls and the table view are captured now, synchronously;
   *  the table serializes in slices while entries keep applying (local snapshots, and backups). */
  captureState(): StateCapture {
    const members = { memberUrls: new Map(this.members.urls), memberFacts: new Map(this.members.facts) };
    const index = this.runner.appliedIndex;
    return { index, term: this.core.status().term, data: encodeSnapshotDataSliced(members, this.table.beginSnapshot()) };
  }

  onFatal(cb: (err: Error) => void): void {
    this.fatalCbs.push(cb);
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
