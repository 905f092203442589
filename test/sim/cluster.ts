// The whole-cluster simulator: 3 or 5 RaftNodes over MemoryStorage, one process, one seed. Every random
// choice (network delays and losses, faults, client requests, the cores' own election timeouts) comes from
// PRNG streams derived from the seed, so a seed replays exactly.
//
// One tick = 10 ms of logical time. Each tick: inject faults -> tick every live core -> client requests ->
// delivery rounds (deliver due messages, work through Readies; messages with zero delay arrive within the same
// tick) -> observe roles and terms -> run the checkers. After the fault phase comes the heal phase, which checks
// liveness: a stable leader within a bound, and a proposal to it applied on every member within a bound.
//
// Most seeds also take snapshots and compact logs (every node, at random points between Readies) and change the
// membership at random during the fault phase (membership.ts): learners join with empty storage and catch up from
// a snapshot or the log, get promoted, voters and learners are removed, the leader included.
import type { BrokenRules } from "../../src/raft/api.js";
import { snapshotDue, snapshotPosition } from "../../src/node/snapshot-schedule.js";
import { decodeConfChange } from "../../src/raft/confchange.js";
import { makePrng } from "../../src/raft/prng.js";
import type { ConfChange, ConfState, Entry, Message, NodeId, ReadState, Ready, Snapshot } from "../../src/raft/types.js";
import { RaftError } from "../../src/raft/types.js";
import {
  SAFETY_CHECKERS,
  SAFETY_CHECKER_NAMES,
  type SafetyCheckerName,
  disjointMajorities,
  leaderCompleteness,
} from "./checkers.js";
import { makeRaftNode } from "./core.js";
import { bytesEqual, describeEntry, payloadText } from "./entries.js";
import { type FaultProfile, type ProfileName, PROFILES, pickProfile } from "./faults.js";
import { GOOD_NETWORK, type NetworkConditions, SimNetwork } from "./network.js";
import { type BrokenScheduler, type CoreSettings, type MakeCore, type RunnerSink, SimNode, errorText } from "./node.js";
import { MembershipChanger } from "./membership.js";
import { SimLeaveModel } from "./leave-model.js";
import type { BrokenLeaveRules } from "../../src/node/rejoin-leave-decision.js";
import { Rng, mixSeed } from "./prng.js";
import { type SchedulerHost, type SchedulerStats, SimScheduler } from "./scheduler-model.js";
import type { BrokenExternalWorkers } from "./external-workers.js";
import { confAfter, confText } from "./statemachine.js";
import { Trace, describeMessage } from "./trace.js";
import { reconfigRefusal, reconfigViewOf } from "../../src/node/reconfig-check.js";
import { reconfigQuorumLoss } from "./reconfig-safety.js";
import type {
  CheckerName,
  ClusterView,
  CommitRecord,
  ConfRecord,
  LeaderRecord,
  QuorumRecord,
  ReadRecord,
  RemovalRecord,
  Violation,
} from "./view.js";

export interface SimOptions {
  readonly seed: number;
  /** Cluster size at the start; by default the seed picks 3 or 5 (scripted scenarios may start with 1). */
  readonly nodes?: number;
  /** Random membership changes during the fault phase; by default the seed decides (on in most seeds). */
  readonly membership?: boolean;
  /** Snapshots and log compaction; by default the seed decides (on in most seeds). */
  readonly snapshots?: boolean;
  /** Fault profile; by default the seed picks one. */
  readonly profile?: ProfileName;
  readonly brokenRules?: BrokenRules;
  /** A deliberately wrong leave rule (a removed node stops on any removal it applies, even a replayed old one). */
  readonly brokenLeave?: BrokenLeaveRules;
  /** Deliberately wrong scheduler replicas (tests prove the scheduler checkers fire). */
  readonly brokenScheduler?: BrokenScheduler;
  /** Issue 13's retention (deletions) and a recurring schedule run alongside the clients (lifecycle-sim.ts). */
  readonly lifecycle?: boolean;
  /** External workers (not members) beside the members' own executors (external-workers.ts); `broken` for the
   *  checker's own test. Off by default. */
  readonly externalWorkers?: boolean | { readonly broken: BrokenExternalWorkers };
  /** Length of the fault phase in ticks. Default 1500 (15 s of simulated time). */
  readonly faultTicks?: number;
  /** Keep the full event trace (every message), not just the last 60 notable events. */
  readonly trace?: boolean;
  /** Keep running after the first violation (the default stops at the first tick that has any). */
  readonly continueAfterViolation?: boolean;
  readonly makeCore?: MakeCore;
  /** No random faults and no random clients: the caller drives the cluster through the scripted API. */
  readonly scripted?: boolean;
  /** Overrides of what the seed would pick (for scripted scenarios and the election timing script). */
  readonly network?: NetworkConditions;
  readonly maxFsyncTicks?: number;
  readonly maxEntriesPerMsg?: number;
  readonly maxInflightMsgs?: number;
  /** Test-only runner bug: send each Ready's messages before its batch is synced (proves crashes lose state). */
  readonly sendBeforeSync?: boolean;
  /** Broken-rule switch: membership changes skip the production rule (src/node/reconfig-check.ts), so the
   *  reconfigQuorumLoss checker can be shown to fire. */
  readonly skipReconfigCheck?: boolean;
  /** Pre-vote in every core (default on, as in production); off only to show what a scenario guards against. */
  readonly preVote?: boolean;
  /** Check-quorum in every core (default on, as in production); off only to show what a scenario guards against. */
  readonly checkQuorum?: boolean;
  /** Simulation steps per tick (default 1). Above 1, every node ticks at its own random phase within the tick, as
   *  real nodes' timers do, and network and fsync delays count in steps: 10 steps per tick = 1 ms resolution.
   *  The election timing script uses it; random runs keep lockstep ticks. */
  readonly stepsPerTick?: number;
  /** Broken-rule switch: nodes ignore the stalled-disk rule (src/node/disk-stall-rule.ts), so a leader whose disk
   *  hangs stays leader; the disk-stall scenario's check must then fire. */
  readonly ignoreDiskStallRule?: boolean;
}

export interface SimStats {
  readonly ticks: number;
  readonly leaders: number;
  readonly maxTerm: number;
  readonly proposals: number;
  readonly committed: number;
  readonly reads: number;
  readonly crashes: number;
  readonly messagesSent: number;
  readonly messagesDropped: number;
  readonly snapshotsTaken: number;
  readonly snapshotsInstalled: number;
  /** Membership changes committed, and nodes ever created (the initial ones included). */
  readonly confChanges: number;
  readonly nodesCreated: number;
  /** The scheduler workload (absent in scripted runs, which drive the cluster themselves). */
  readonly tasks?: SchedulerStats;
}

export interface SimResult {
  readonly seed: number;
  /** Nodes at the start (stats.nodesCreated counts the ones that joined too). */
  readonly nodes: number;
  readonly profile: ProfileName;
  readonly membership: boolean;
  readonly snapshots: boolean;
  readonly violations: readonly Violation[];
  readonly trace: readonly string[];
  readonly stats: SimStats;
}

export const TICK_MS = 10;
export const ELECTION_TICKS_MIN = 15;
export const ELECTION_TICKS_MAX = 30;
export const HEARTBEAT_TICKS = 5;
/** After the heal: every node agrees on one leader within this many ticks (2 s). */
export const LEADER_WITHIN_TICKS = 200;
/** ...and a proposal to it is applied on every node within this many ticks (2 s). */
export const COMMIT_WITHIN_TICKS = 200;
const DEFAULT_FAULT_TICKS = 1500;
/** After the heal every task the leader knows reaches an end state within this many ticks, plus the time its
 *  backlog needs on the members' capacity (tasks / capacity rounds of the longest run and a report). */
export const TASKS_SETTLE_WITHIN_TICKS = 400;
/** Heal-phase marker proposals: a leader removing itself may lose one, legitimately; more than this is a failure. */
const HEAL_MARKER_ATTEMPTS = 3;
/** Delivery rounds per tick; zero-delay messages chain at most this deep within one tick. */
const MAX_ROUNDS_PER_TICK = 12;
const PROPOSE_RATE = 0.12;
const READ_RATE = 0.03;
/** Share of seeds with random membership changes, and with snapshots + compaction (drawn independently). */
const MEMBERSHIP_SEED_SHARE = 0.6;
const SNAPSHOT_SEED_SHARE = 0.7;

const encoder = new TextEncoder();

/** The override if given, else the seed's pick (drawn either way, so an override does not shift later draws). */
function pickOr<T>(override: T | undefined, drawn: T): T {
  return override !== undefined ? override : drawn;
}

export function runSeed(opts: SimOptions): SimResult {
  return new SimCluster(opts).run();
}

export class SimCluster {
  readonly seed: number;
  readonly profile: FaultProfile;
  readonly nodes: SimNode[] = [];
  private readonly byId = new Map<NodeId, SimNode>();
  private readonly rng: Rng;
  private readonly clientRng: Rng;
  /** Snapshots and membership draw from their own stream, so turning them off leaves every other draw alone. */
  private readonly memberRng: Rng;
  readonly membershipOn: boolean;
  readonly snapshotsOn: boolean;
  /** A node snapshots once it applied this many entries past its last snapshot... */
  private readonly snapshotEveryEntries: number;
  /** ...and compacts its log to keep 0..this many entries below the snapshot. */
  private readonly keepEntriesMax: number;
  private readonly membershipChanger: MembershipChanger | null;
  private readonly makeCore: MakeCore;
  private nextNodeNumber: number;
  /** Nodes at the start (more may join). */
  readonly initialSize: number;
  private readonly net: SimNetwork;
  private readonly trace: Trace;
  private readonly maxFsyncTicks: number;
  private readonly maxEntriesPerMsg: number | undefined;
  private readonly maxInflightMsgs: number | undefined;
  /** Simulation steps so far; equal to ticks unless stepsPerTick > 1. */
  private now = 0;
  private readonly stepsPerTick: number;
  /** Per node: the step within each tick at which it ticks. */
  private readonly tickPhase: number[] = [];
  private faultsOn: boolean;
  /** Random client requests; off in scripted runs, and while the heal phase waits for the tasks to settle. */
  private clientsOn: boolean;

  // History the checkers read.
  private readonly leaders: LeaderRecord[] = [];
  private readonly leaderAt = new Map<string, number>();
  private readonly committed = new Map<number, CommitRecord>();
  private readonly commitTerms = new Map<number, number>();
  private readonly reads: ReadRecord[] = [];
  private readonly pendingReads = new Map<string, number>();
  private maxCommittedIndex = 0;
  private lastLogVersions = -1;
  /** Leader completeness is checked incrementally: leaders new (or with a newly recorded log) since the last
   *  check against every committed entry, and every leader against entries newly committed (or whose commit
   *  term dropped). Both are sub-views of the history, so the pure checker needs no change. */
  private readonly newLeaders: number[] = [];
  private readonly changedCommits = new Set<number>();
  private readonly confs: ConfRecord[] = [];
  private readonly quorums: QuorumRecord[] = [];
  private readonly quorumsByTerm = new Map<number, QuorumRecord[]>();
  /** Quorum records not yet checked, and per term: its elections and the nodes that decided in it. */
  private readonly newQuorums: QuorumRecord[] = [];
  private readonly electionsByTerm = new Map<number, QuorumRecord[]>();
  private readonly decidersByTerm = new Map<number, Set<NodeId>>();
  private readonly removals: RemovalRecord[] = [];
  /** term/candidate -> the voters whose grants reached the candidate. */
  private readonly votes = new Map<string, Set<NodeId>>();
  /** Per leader node: the term and commit index its last commit quorum was recorded at. */
  private readonly commitBaseline = new Map<NodeId, { term: number; commit: number }>();

  // Scheduling.
  private readonly restartAt = new Map<NodeId, number>();
  private readonly crashAt = new Map<NodeId, number>();
  private readonly crashMidSync = new Set<NodeId>();
  /** Removed nodes shut down for good: never restarted. */
  private readonly retired = new Set<NodeId>();
  private readonly retireAt = new Map<NodeId, number>();

  /** Per node: when (tick) it last received a message from each other node, this incarnation: what a leader
   *  knows of who is alive, as the production leader's record of what it heard. */
  private readonly lastHeard = new Map<NodeId, Map<NodeId, number>>();
  /** Nodes down (crashed, or created and not started), and since when: the ground truth for reconfigQuorumLoss. */
  private readonly downSince = new Map<NodeId, number>();

  private readonly violations: Violation[] = [];
  private readonly reported = new Set<CheckerName>();
  private readonly dirty = new Set<SafetyCheckerName>();
  private stopped = false;
  private counter = 0;
  private stats = { proposals: 0, reads: 0, crashes: 0, maxTerm: 0 };
  /** The scheduler workload and its checkers; null in scripted runs. */
  private readonly scheduler: SimScheduler | null;
  private readonly coreSettings: (i: number) => CoreSettings;
  /** Nodes stop on their own once removed, by the production rule (src/node/rejoin-leave-decision.ts). */
  private readonly leaveModel: SimLeaveModel;

  constructor(private readonly opts: SimOptions) {
    this.seed = opts.seed;
    this.faultsOn = !opts.scripted;
    this.clientsOn = !opts.scripted;
    this.rng = new Rng(mixSeed(opts.seed, 1));
    this.clientRng = new Rng(mixSeed(opts.seed, 2));
    this.net = new SimNetwork(new Rng(mixSeed(opts.seed, 3)));
    this.net.onLost = (m) => {
      if (m.type === "snapshot") this.reportSnapshot(m, false);
    };
    this.memberRng = new Rng(mixSeed(opts.seed, 5));
    this.trace = new Trace(opts.trace ?? false);
    const size = opts.nodes ?? (this.rng.chance(0.5) ? 3 : 5);
    this.profile = opts.profile ? PROFILES[opts.profile] : pickProfile(this.rng);
    this.maxFsyncTicks = pickOr(opts.maxFsyncTicks, this.rng.int(0, 3));
    // Sometimes tiny batches and pipelines: one entry per append makes partial replication common.
    this.maxEntriesPerMsg = pickOr(opts.maxEntriesPerMsg, this.rng.chance(0.4) ? this.rng.int(1, 3) : undefined);
    this.maxInflightMsgs = pickOr(opts.maxInflightMsgs, this.rng.chance(0.3) ? this.rng.int(1, 4) : undefined);
    this.net.conditions = pickOr(opts.network, this.profile.network(this.rng));
    this.stepsPerTick = Math.max(1, Math.floor(opts.stepsPerTick ?? 1));
    const ids = Array.from({ length: size }, (_, i) => `n${i + 1}`);
    if (this.stepsPerTick > 1) for (let i = 0; i < size; i++) this.tickPhase.push(this.rng.int(0, this.stepsPerTick - 1));
    this.makeCore = opts.makeCore ?? makeRaftNode;
    this.coreSettings = (i) => ({
      electionTicksMin: ELECTION_TICKS_MIN,
      electionTicksMax: ELECTION_TICKS_MAX,
      heartbeatTicks: HEARTBEAT_TICKS,
      ...(opts.brokenRules ? { brokenRules: opts.brokenRules } : {}),
      ...(this.maxEntriesPerMsg ? { maxEntriesPerMsg: this.maxEntriesPerMsg } : {}),
      ...(this.maxInflightMsgs ? { maxInflightMsgs: this.maxInflightMsgs } : {}),
      ...(opts.sendBeforeSync ? { sendBeforeSync: true } : {}),
      ...(opts.brokenScheduler ? { brokenScheduler: opts.brokenScheduler } : {}),
      ...(opts.preVote === false ? { preVote: false } : {}),
      ...(opts.checkQuorum === false ? { checkQuorum: false } : {}),
      random: (incarnation) => makePrng(mixSeed(opts.seed, 4, i, incarnation)),
    });
    const bootstrap: ConfState = { voters: ids, learners: [] };
    for (const id of ids) this.createNode(id, bootstrap);
    this.nextNodeNumber = size + 1;
    this.initialSize = size;
    this.confs.push({ index: 0, tick: 0, conf: bootstrap });

    const membershipDrawn = this.memberRng.chance(MEMBERSHIP_SEED_SHARE);
    const snapshotsDrawn = this.memberRng.chance(SNAPSHOT_SEED_SHARE);
    this.membershipOn = !opts.scripted && pickOr(opts.membership, membershipDrawn);
    this.snapshotsOn = pickOr(opts.snapshots, opts.scripted ? false : snapshotsDrawn);
    this.snapshotEveryEntries = this.memberRng.int(3, 40);
    this.keepEntriesMax = this.memberRng.int(0, 20);
    this.membershipChanger = this.membershipOn ? new MembershipChanger(this, this.memberRng, size) : null;
    this.leaveModel = new SimLeaveModel(opts.brokenLeave);
    const external = opts.externalWorkers === true ? {} : opts.externalWorkers || undefined;
    this.scheduler = opts.scripted ? null : new SimScheduler(this.schedulerHost(), new Rng(mixSeed(opts.seed, 6)), external);
  }

  private schedulerHost(): SchedulerHost {
    // eslint-disable-next-line @typescript-eslint/no-this-alias
    const cluster = this;
    return {
      seed: this.seed,
      get tick() {
        return cluster.now;
      },
      nodes: this.nodes,
      nodeById: (id) => this.byId.get(id),
      proposeBytes: (n, data, label) => this.propose(n, data, label),
      record: (v) => {
        this.record(v);
        if (!this.opts.continueAfterViolation) this.stopped = true;
      },
      readIndex: (n, context) => this.executorReadIndex(n, context),
      ...(this.opts.brokenScheduler ? { brokenScheduler: this.opts.brokenScheduler } : {}),
      ...(this.opts.lifecycle ? { lifecycle: true } : {}),
    };
  }

  /** A ReadIndex round an executor asks for (attempt-start-gate.ts); answered through SimScheduler.readAnswered. */
  private executorReadIndex(n: SimNode, context: string): boolean {
    if (!n.core) return false;
    try {
      n.core.readIndex(context);
      return true;
    } catch (err) {
      if (!(err instanceof RaftError)) {
        this.report("coreThrew", `${n.id} readIndex: ${errorText(err)}`);
        this.stopped = true;
      }
      return false;
    }
  }

  private createNode(id: NodeId, conf: ConfState): SimNode {
    const node = new SimNode(id, conf, this.coreSettings(this.nodes.length), this.makeCore);
    if (this.stepsPerTick > 1 && this.tickPhase.length < this.nodes.length + 1) this.tickPhase.push(this.memberRng.int(0, this.stepsPerTick - 1));
    this.nodes.push(node);
    this.byId.set(id, node);
    this.downSince.set(id, this.now);
    return node;
  }

  run(): SimResult {
    this.start();
    const faultTicks = this.opts.faultTicks ?? DEFAULT_FAULT_TICKS;
    while (this.now < faultTicks && !this.stopped) this.step();
    if (!this.stopped) this.healPhase();
    return this.result();
  }

  /** Boots every node. run() calls it; a scripted scenario calls it, then drives the cluster itself. */
  start(): void {
    const c = this.net.conditions;
    this.trace.note(
      0,
      `seed ${this.seed}: ${this.nodes.length} nodes, profile ${this.profile.name}, fsync 0..${this.maxFsyncTicks} ticks, ` +
        `membership changes ${this.membershipOn ? "on" : "off"}, snapshots ${this.snapshotsOn ? `every ${this.snapshotEveryEntries} entries keeping 0..${this.keepEntriesMax}` : "off"}, ` +
        `batch ${this.maxEntriesPerMsg ?? "default"} entries, inflight ${this.maxInflightMsgs ?? "default"}, ` +
        (this.scheduler ? `${this.scheduler.describe()}, ` : "") +
        `network delay ${c.minDelayTicks}..${c.maxDelayTicks} drop ${c.dropRate.toFixed(2)} dup ${c.duplicateRate.toFixed(2)}` +
        (this.opts.brokenRules ? `, broken rules ${JSON.stringify(this.opts.brokenRules)}` : ""),
    );
    for (const n of this.nodes) this.guard(n, () => n.start());
    for (const n of this.nodes) if (n.alive) this.downSince.delete(n.id);
    this.markAllDirty();
  }

  result(): SimResult {
    return {
      seed: this.seed,
      nodes: this.initialSize,
      profile: this.profile.name,
      membership: this.membershipOn,
      snapshots: this.snapshotsOn,
      violations: this.violations,
      trace: this.trace.lines(),
      stats: {
        ticks: this.now,
        leaders: this.leaders.length,
        maxTerm: this.stats.maxTerm,
        proposals: this.stats.proposals,
        committed: this.committed.size,
        reads: this.stats.reads,
        crashes: this.stats.crashes,
        messagesSent: this.net.sent,
        messagesDropped: this.net.dropped,
        snapshotsTaken: this.nodes.reduce((sum, n) => sum + n.snapshotsTaken, 0),
        snapshotsInstalled: this.nodes.reduce((sum, n) => sum + n.snapshotsInstalled, 0),
        confChanges: this.confs.length - 1,
        nodesCreated: this.nodes.length,
        ...(this.scheduler ? { tasks: this.scheduler.result() } : {}),
      },
    };
  }

  // ------------------------------------------------------------------------------------------------------------
  // One tick.
  // ------------------------------------------------------------------------------------------------------------

  private step(): void {
    this.now++;
    if (this.faultsOn) this.injectFaults();
    if (this.faultsOn) this.membershipChanger?.tick();
    this.nodes.forEach((n, i) => {
      const ticksNow = this.stepsPerTick === 1 || (this.now + this.tickPhase[i]!) % this.stepsPerTick === 0;
      if (n.core && ticksNow) this.guard(n, () => n.tickWithStallRule(this.now, this.opts.ignoreDiskStallRule === true));
    });
    if (this.clientsOn) this.clientActions();
    this.scheduler?.tick(this.clientsOn);
    for (let round = 0; round < MAX_ROUNDS_PER_TICK && !this.stopped; round++) {
      let progressed = this.deliver();
      for (const n of this.nodes) {
        if (n.core) progressed = this.guard(n, () => n.processReadies(this.now, this.fsyncDelay, this.sink)) || progressed;
        if (this.crashMidSync.delete(n.id) && n.alive) this.crash(n, "right after taking a Ready to sync");
      }
      if (!progressed) break;
    }
    for (const n of this.leaveModel.leaving(this.nodes, this.now)) this.leaveOnItsOwn(n);
    const logVersions = this.nodes.reduce((sum, n) => sum + n.logVersion, 0);
    if (logVersions !== this.lastLogVersions) {
      this.lastLogVersions = logVersions;
      this.dirty.add("logMatching");
      this.dirty.add("committedEntryLost");
    }
    this.observe();
    this.check();
  }

  private readonly fsyncDelay = (): number => this.rng.int(0, this.maxFsyncTicks);

  private deliver(): boolean {
    const due = this.net.due(this.now);
    for (const m of due) {
      const target = this.byId.get(m.to);
      if (!target?.core) {
        this.trace.message(this.now, "lost (target down)", m);
        if (m.type === "snapshot") this.reportSnapshot(m, false);
        continue;
      }
      this.trace.message(this.now, "deliver", m);
      this.scheduler?.heard(target.id, m.from);
      this.noteHeard(target.id, m.from);
      if (m.type === "voteResp" && !m.reject) {
        const key = `${m.term}/${m.to}`;
        const granted = this.votes.get(key);
        if (granted) granted.add(m.from);
        else this.votes.set(key, new Set([m.from]));
      }
      this.guard(target, () => target.core!.step(m));
      this.leaveModel.heard(target.id, m);
      if (m.type === "snapshot") this.reportSnapshot(m, true);
      // A vote response can make a leader that a later message deposes before its first Ready: record it now.
      if (m.type === "voteResp" && target.core) {
        const st = target.core.status();
        if (st.role === "leader") this.recordLeader(target, st.term, undefined);
      }
    }
    return due.length > 0;
  }

  /** What a real transport tells the sender's core once a snapshot transfer ends (delivered or lost). */
  private reportSnapshot(m: Message, ok: boolean): void {
    const sender = this.byId.get(m.from);
    if (sender?.core) this.guard(sender, () => sender.core!.reportSnapshot(m.to, ok));
  }

  /** Runs a call into a core; a throw is a violation (a core must never throw on its inputs) and ends the seed. */
  private guard<T>(node: SimNode, f: () => T): T | false {
    try {
      return f();
    } catch (err) {
      this.report("coreThrew", `${node.id}: ${errorText(err)}${err instanceof Error && err.stack ? `\n${err.stack.split("\n").slice(1, 6).join("\n")}` : ""}`);
      this.stopped = true;
      return false;
    }
  }

  private readonly sink: RunnerSink = {
    send: (m: Message) => {
      Object.freeze(m);
      if (m.type === "append") {
        Object.freeze(m.entries);
        for (const e of m.entries) Object.freeze(e);
      }
      const fate = this.net.send(m, this.now);
      this.trace.message(this.now, fate === "queued" ? "send" : fate, m);
    },
    applied: (node: SimNode, e: Entry, command, result) => {
      this.scheduler?.applied(node, e, command, result);
      this.leaveModel.applied(node, e, this.now);
      this.dirty.add("stateMachineSafety");
      if (!this.committed.has(e.index)) {
        this.committed.set(e.index, { entry: e, node: node.id, tick: this.now });
        this.maxCommittedIndex = Math.max(this.maxCommittedIndex, e.index);
        this.changedCommits.add(e.index);
        this.dirty.add("committedEntryLost");
        this.trace.note(this.now, `${node.id} applies ${describeEntry(e)} first`);
        if (e.kind === "config") this.confCommitted(e);
      } else if (this.trace.full) {
        this.trace.note(this.now, `${node.id} applies ${describeEntry(e)}`);
      }
      this.noteRemovalKnown(node);
    },
    restored: (node: SimNode, snap: Snapshot) => {
      this.dirty.add("stateMachineSafety");
      this.trace.note(this.now, `${node.id} installs a snapshot at ${snap.meta.index}@t${snap.meta.term} (${confText(snap.meta.conf)})`);
      this.noteRemovalKnown(node);
      this.leaveModel.restored(node, snap);
      this.scheduler?.restored(node);
    },
    advanced: (node: SimNode, rd: Ready) => {
      if (!this.snapshotsOn) return;
      // The node's own schedule: each member snapshots at its own phase of the period (staggered).
      const { position, members } = snapshotPosition(node.id, node.conf.voters, node.conf.learners);
      if (!snapshotDue(node.applied.length, node.storage.snapshot().meta.index, this.snapshotEveryEntries, position, members)) return;
      const keep = this.memberRng.chance(0.2) ? null : this.memberRng.int(0, this.keepEntriesMax);
      if (node.takeSnapshot(keep, this.sink) && this.trace.full) {
        this.trace.note(this.now, `${node.id} snapshots at ${node.applied.length}, log now starts at ${node.storage.firstIndex()}`);
      }
    },
    readState: (node: SimNode, rs: ReadState) => {
      if (rs.context.startsWith("x")) {
        this.scheduler?.readAnswered(node, rs.context, rs.index);
        return;
      }
      const at = this.pendingReads.get(rs.context);
      if (at === undefined) return;
      this.pendingReads.delete(rs.context);
      const r = this.reads[at]!;
      this.reads[at] = { ...r, answerIndex: rs.index, answerTick: this.now };
      this.dirty.add("linearizableRead");
      this.trace.note(this.now, `${node.id} read ${rs.context} answered: read index ${rs.index} (needs >= ${r.minIndex})`);
    },
    readyTaken: (node: SimNode, rd: Ready) => this.readyTaken(node, rd),
    contractBroken: (node: SimNode, detail: string) => this.report("readyContract", `${node.id}: ${detail}`),
  };

  private readyTaken(node: SimNode, rd: Ready): void {
    const st = node.core!.status();
    if (this.faultsOn && rd.mustSync && this.rng.chance(this.profile.crashMidSyncRate)) this.crashMidSync.add(node.id);
    if (rd.entries.length > 0 && this.trace.full) {
      this.trace.note(this.now, `${node.id} persists [${rd.entries[0]!.index}..${rd.entries[rd.entries.length - 1]!.index}] t${st.term}`);
    }
    // Any node whose commit index covers i in term T shows that i was committed in a term <= T.
    if (st.commit > node.commitSeen) {
      for (let i = node.commitSeen + 1; i <= st.commit; i++) {
        const known = this.commitTerms.get(i);
        if (known === undefined || st.term < known) {
          this.commitTerms.set(i, st.term);
          if (this.committed.has(i)) this.changedCommits.add(i);
        }
      }
      node.commitSeen = st.commit;
    }
    // The first Ready of a leader shows its whole log (ready() hands out every unstable entry).
    if (st.role === "leader") {
      const at = this.leaderAt.get(`${st.term}/${node.id}`);
      const logKnown = at !== undefined && this.leaders[at]!.log !== undefined;
      this.recordLeader(node, st.term, logKnown ? undefined : node.log.slice());
      this.recordCommitQuorum(node, st.term, st.commit);
    }

    this.noteState(node, st.role, st.term, st.leaderId);
  }

  private observe(): void {
    for (const n of this.nodes) {
      if (!n.core) continue;
      // Term and role changes come with a Ready (readyTaken notes them); between Readies only look closer when the
      // cheap accessors show a change (status() copies the membership, and on a leader all progress).
      if (n.core.currentRole() === n.role && n.core.currentLeader() === n.leaderId) continue;
      const st = n.core.status();
      if (st.role === "leader") this.recordLeader(n, st.term, undefined);
      this.noteState(n, st.role, st.term, st.leaderId);
    }
  }

  private noteState(node: SimNode, role: SimNode["role"], term: number, leaderId: NodeId | null): void {
    node.role = role;
    node.term = term;
    node.leaderId = leaderId;
    if (term > this.stats.maxTerm) this.stats.maxTerm = term;
    const text = `${role} t${term}${leaderId && role !== "leader" ? ` (leader ${leaderId})` : ""}`;
    if (text !== node.lastTraced) {
      node.lastTraced = text;
      this.trace.note(this.now, `${node.id} ${text}`);
    }
  }

  private recordLeader(node: SimNode, term: number, log: readonly Entry[] | undefined): void {
    const key = `${term}/${node.id}`;
    const at = this.leaderAt.get(key);
    if (at === undefined) {
      this.leaderAt.set(key, this.leaders.length);
      this.newLeaders.push(this.leaders.length);
      this.leaders.push({ term, id: node.id, tick: this.now, ...(log ? { log } : {}) });
      this.dirty.add("electionSafety");
      this.dirty.add("removedNodeLeads");
      const granted = this.votes.get(key) ?? new Set<NodeId>();
      this.votes.delete(key);
      this.addQuorum({ term, kind: "election", by: node.id, members: [node.id, ...granted], voters: node.conf.voters, tick: this.now });
      this.commitBaseline.set(node.id, { term, commit: node.core?.status().commit ?? 0 });
      this.trace.note(this.now, `${node.id} is leader of term ${term}, log ends at ${node.log.length}`);
      if (this.faultsOn && this.rng.chance(this.profile.crashNewLeaderRate)) {
        this.crashAt.set(node.id, this.now + this.rng.int(0, this.profile.leaderCrashWithinTicks));
      }
    } else if (log && !this.leaders[at]!.log) {
      this.leaders[at] = { ...this.leaders[at]!, log };
      this.newLeaders.push(at);
      this.dirty.add("removedNodeLeads");
    }
  }

  /** When a leader's commit index passes an index (seen at its next Ready), the voters holding that entry: the
   *  leader's own copy may still be in flight to its disk, a follower's counts once synced (it acks only then).
   *  Between two Readies the node applied at most one batch, so the core counted with the configuration from
   *  before that batch or the one after it: the record takes whichever the holders are a majority of (the newer
   *  if both), and the newer when neither (a violation either way). */
  private recordCommitQuorum(node: SimNode, term: number, commit: number): void {
    const base = this.commitBaseline.get(node.id);
    if (!base || base.term !== term || commit <= base.commit) return;
    this.commitBaseline.set(node.id, { term, commit });
    const entry = node.log[commit - 1];
    if (!entry) return;
    const holders = (voters: readonly NodeId[]) =>
      voters.filter((id) => {
        const held = id === node.id ? node.log[commit - 1] : this.byId.get(id)?.durableLog[commit - 1];
        return held !== undefined && held.term === entry.term;
      });
    let voters = node.conf.voters;
    let members = holders(voters);
    if (members.length <= voters.length / 2 && node.confBeforeLastBatch !== node.conf) {
      const older = holders(node.confBeforeLastBatch.voters);
      if (older.length > node.confBeforeLastBatch.voters.length / 2) {
        voters = node.confBeforeLastBatch.voters;
        members = older;
      }
    }
    this.addQuorum({ term, kind: "commit", by: node.id, index: commit, members, voters, tick: this.now });
  }

  private addQuorum(q: QuorumRecord): void {
    this.quorums.push(q);
    const list = this.quorumsByTerm.get(q.term);
    if (list) list.push(q);
    else this.quorumsByTerm.set(q.term, [q]);
    this.newQuorums.push(q);
    const deciders = this.decidersByTerm.get(q.term);
    if (deciders) deciders.add(q.by);
    else this.decidersByTerm.set(q.term, new Set([q.by]));
    if (q.kind === "election") {
      const elections = this.electionsByTerm.get(q.term);
      if (elections) elections.push(q);
      else this.electionsByTerm.set(q.term, [q]);
    }
  }

  /** A config entry was applied for the first time anywhere: the configuration in force changes. */
  private confCommitted(e: Entry): void {
    const prev = this.confs[this.confs.length - 1]!.conf;
    const conf = confAfter(prev, e);
    this.confs.push({ index: e.index, tick: this.now, conf });
    this.dirty.add("committedEntryLost");
    this.dirty.add("memberStopped");
    this.trace.note(this.now, `membership from ${e.index}: ${confText(conf)}`);
    let cc: ConfChange;
    try {
      cc = decodeConfChange(e.data);
    } catch {
      return;
    }
    if (cc.op !== "remove") return;
    this.removals.push({ id: cc.id, index: e.index, tick: this.now, entry: e });
    this.dirty.add("removedNodeLeads");
    this.membershipChanger?.removed(cc.id);
    for (const n of this.nodes) this.noteRemovalKnown(n);
  }

  /** A removed node learns its removal once its state machine passes the removal entry. */
  /** A node learns its removal by applying it, and may apply committed entries before the Ready that carries the
   *  commit index is on disk (the runner applies during the write). If it crashes then, its disk says the removal is
   *  not known to be committed: restarted, it holds the removal entry without knowing it committed, which the
   *  removedNodeLeads rule allows (sim:long seed 9510). Knowledge counts only once durable. */
  private forgetUndurableRemovalKnowledge(node: SimNode): void {
    const durableCommit = node.storage.initialState().hardState.commit;
    const snapshotIndex = node.storage.snapshot().meta.index;
    for (let k = 0; k < this.removals.length; k++) {
      const r = this.removals[k]!;
      if (r.id !== node.id || r.knownTick === undefined || durableCommit >= r.index || snapshotIndex >= r.index) continue;
      const { knownTick: _forgotten, ...rest } = r;
      this.removals[k] = rest;
      this.dirty.add("removedNodeLeads");
      this.trace.note(this.now, `${node.id} forgets it was removed (index ${r.index}): its disk has commit ${durableCommit}`);
    }
  }

  private noteRemovalKnown(node: SimNode): void {
    for (let k = 0; k < this.removals.length; k++) {
      const r = this.removals[k]!;
      if (r.id !== node.id || r.knownTick !== undefined || node.applied.length < r.index) continue;
      this.removals[k] = { ...r, knownTick: this.now };
      this.dirty.add("removedNodeLeads");
      this.trace.note(this.now, `${node.id} knows it was removed (index ${r.index})`);
    }
  }

  // ------------------------------------------------------------------------------------------------------------
  // Checkers.
  // ------------------------------------------------------------------------------------------------------------

  view(): ClusterView {
    return {
      seed: this.seed,
      tick: this.now,
      nodes: this.nodes.map((n) => ({
        id: n.id,
        alive: n.alive,
        role: n.role,
        term: n.term,
        log: n.log,
        durableLog: n.durableLog,
        applied: n.applied,
        ...(this.retired.has(n.id) ? { stoppedForGood: true } : {}),
      })),
      leaders: this.leaders,
      committed: this.committed,
      commitTerms: this.commitTerms,
      reads: this.reads,
      confs: this.confs,
      quorums: this.quorums,
      removals: this.removals,
    };
  }

  private markAllDirty(): void {
    for (const name of SAFETY_CHECKER_NAMES) if (name !== "leaderCompleteness" && name !== "disjointMajorities") this.dirty.add(name);
  }

  /** Runs the checkers whose inputs changed this tick. */
  private check(): void {
    const incremental = this.newLeaders.length > 0 || this.changedCommits.size > 0 || this.newQuorums.length > 0;
    if (this.dirty.size === 0 && !incremental) return;
    const view = this.view();
    for (const name of SAFETY_CHECKER_NAMES) {
      if (!this.dirty.has(name) || name === "leaderCompleteness" || name === "disjointMajorities") continue;
      for (const v of SAFETY_CHECKERS[name](view)) this.record(v);
    }
    this.dirty.clear();
    if (this.newLeaders.length > 0) {
      const leaders = [...new Set(this.newLeaders)].map((k) => this.leaders[k]!);
      for (const v of leaderCompleteness({ ...view, leaders })) this.record(v);
      this.newLeaders.length = 0;
    }
    if (this.changedCommits.size > 0) {
      const committed = new Map<number, CommitRecord>();
      for (const i of this.changedCommits) committed.set(i, this.committed.get(i)!);
      for (const v of leaderCompleteness({ ...view, committed })) this.record(v);
      this.changedCommits.clear();
    }
    if (this.newQuorums.length > 0) {
      // Quorums only meet within a term. A new record is compared with its term's elections; only a term with two
      // deciders (already two leaders) needs all its records compared with each other.
      const quorums = new Set<QuorumRecord>();
      for (const q of this.newQuorums) {
        if ((this.decidersByTerm.get(q.term)?.size ?? 0) > 1) for (const x of this.quorumsByTerm.get(q.term) ?? []) quorums.add(x);
        for (const x of this.electionsByTerm.get(q.term) ?? []) quorums.add(x);
        quorums.add(q);
      }
      for (const v of disjointMajorities({ ...view, quorums: [...quorums] })) this.record(v);
      this.newQuorums.length = 0;
    }
    if (this.violations.length > 0 && !this.opts.continueAfterViolation) this.stopped = true;
  }

  private report(checker: CheckerName, detail: string): void {
    this.record({ checker, seed: this.seed, tick: this.now, detail });
    if (!this.opts.continueAfterViolation) this.stopped = true;
  }

  /** One violation per checker per seed: the first is the interesting one. */
  private record(v: Violation): void {
    if (this.reported.has(v.checker)) return;
    this.reported.add(v.checker);
    this.violations.push(v);
    this.trace.note(this.now, `VIOLATION ${v.checker}: ${v.detail}`);
  }

  // ------------------------------------------------------------------------------------------------------------
  // Faults.
  // ------------------------------------------------------------------------------------------------------------

  private injectFaults(): void {
    for (const [id, at] of this.crashAt) {
      if (at > this.now) continue;
      this.crashAt.delete(id);
      const n = this.byId.get(id)!;
      if (n.alive) this.crash(n, "right after its election");
    }
    for (const [id, at] of this.restartAt) {
      if (at <= this.now) this.restart(this.byId.get(id)!);
    }
    for (const [id, at] of this.retireAt) {
      if (at <= this.now) this.retire(id);
    }
    if (!this.rng.chance(this.profile.faultRate)) return;
    const ids = this.nodes.map((n) => n.id);
    const alive = this.nodes.filter((n) => n.alive);
    const dead = this.nodes.filter((n) => !n.alive && !this.retired.has(n.id));
    switch (this.rng.weighted(this.profile.weights)) {
      case "crash":
        if (alive.length > 0) this.crash(this.rng.pick(alive), "at random");
        break;
      case "crashLeader": {
        const leaders = alive.filter((n) => n.role === "leader");
        if (leaders.length > 0) this.crash(this.rng.pick(leaders), "as leader");
        break;
      }
      case "crashUnsynced": {
        const syncing = alive.filter((n) => n.inflight?.rd.mustSync);
        if (syncing.length > 0) this.crash(this.rng.pick(syncing), "mid-fsync");
        break;
      }
      case "restart":
        if (dead.length > 0) this.restart(this.rng.pick(dead));
        break;
      case "partition": {
        this.net.healAll();
        const order = this.rng.shuffled(ids);
        const cut = this.rng.int(1, ids.length - 1);
        const groups = [order.slice(0, cut), order.slice(cut)];
        this.net.partition(groups);
        this.trace.note(this.now, `partition ${groups.map((g) => `{${g.join(",")}}`).join(" | ")}`);
        break;
      }
      case "isolate": {
        const victim = this.rng.pick(ids);
        this.net.partition([[victim], ids.filter((id) => id !== victim)]);
        this.trace.note(this.now, `isolate ${victim}`);
        break;
      }
      case "asymmetric": {
        const links: string[] = [];
        for (let k = this.rng.int(1, 3); k > 0; k--) {
          const [a, b] = this.rng.shuffled(ids);
          this.net.cutLink(a!, b!);
          links.push(`${a}->${b}`);
        }
        this.trace.note(this.now, `cut ${links.join(" ")} (one way)`);
        break;
      }
      case "heal":
        this.net.healAll();
        this.trace.note(this.now, "heal network");
        break;
      case "network": {
        const c = this.profile.network(this.rng);
        this.net.conditions = c;
        this.trace.note(
          this.now,
          `network delay ${c.minDelayTicks}..${c.maxDelayTicks} drop ${c.dropRate.toFixed(2)} dup ${c.duplicateRate.toFixed(2)}`,
        );
        break;
      }
    }
  }

  private crash(n: SimNode, why: string): void {
    const lost = n.inflight ? ` (loses an unsynced Ready: ${n.inflight.rd.entries.length} entries, ${n.inflight.rd.messages.length} messages)` : "";
    n.crash();
    this.downSince.set(n.id, this.now);
    this.lastHeard.delete(n.id);
    this.leaveModel.reset(n.id);
    this.scheduler?.crashed(n);
    this.forgetUndurableRemovalKnowledge(n);
    this.stats.crashes++;
    this.crashAt.delete(n.id);
    this.dirty.add("logMatching");
    this.trace.note(this.now, `CRASH ${n.id} ${why}${lost}`);
    if (this.faultsOn && !this.retired.has(n.id)) {
      const [lo, hi] = this.profile.restartAfterTicks;
      this.restartAt.set(n.id, this.now + this.rng.int(lo, hi));
    }
  }

  /** Shuts a removed node down for good, as an operator does once the removal went through. */
  private retire(id: NodeId): void {
    this.retireAt.delete(id);
    this.restartAt.delete(id);
    if (this.retired.has(id)) return;
    this.retired.add(id);
    this.dirty.add("memberStopped");
    const n = this.node(id);
    if (n.alive) this.crash(n, "to retire it (removed)");
    else this.trace.note(this.now, `RETIRE ${id} (removed)`);
  }

  /** The node applied its own removal and the leave rule says it is final: its process exits for good. */
  private leaveOnItsOwn(n: SimNode): void {
    this.retireAt.delete(n.id);
    this.restartAt.delete(n.id);
    this.retired.add(n.id);
    this.dirty.add("memberStopped");
    this.crash(n, `leaving the cluster on its own (its removal applied, ${n.applied.length} entries applied)`);
  }

  private restart(n: SimNode): void {
    this.restartAt.delete(n.id);
    if (n.alive || this.retired.has(n.id)) return;
    this.guard(n, () => n.start());
    if (n.alive) this.downSince.delete(n.id);
    if (n.alive) this.scheduler?.restored(n);
    this.dirty.add("logMatching");
    const hs = n.storage.initialState().hardState;
    this.trace.note(this.now, `RESTART ${n.id}: durable log ends at ${n.durableLog.length}, term ${hs.term}, vote ${hs.vote ?? "-"}, commit ${hs.commit}`);
  }

  // ------------------------------------------------------------------------------------------------------------
  // Clients.
  // ------------------------------------------------------------------------------------------------------------

  private clientActions(): void {
    const alive = this.nodes.filter((n) => n.core);
    if (alive.length === 0) return;
    if (this.clientRng.chance(PROPOSE_RATE)) {
      const leaders = alive.filter((n) => n.core!.currentRole() === "leader");
      const target = leaders.length > 0 && this.clientRng.chance(0.8) ? this.clientRng.pick(leaders) : this.clientRng.pick(alive);
      if (this.scheduler) this.scheduler.maybeSubmitTo(target);
      else this.propose(target, encoder.encode(`p${++this.counter}`), `p${this.counter}`);
    }
    if (this.clientRng.chance(READ_RATE)) this.readIndex(this.clientRng.pick(alive));
  }

  /** Proposes; returns where the entry should land, or null when the node refused. `text` names it in the trace. */
  private propose(n: SimNode, data: Uint8Array, text: string): { index: number; term: number } | null {
    const core = n.core!;
    const wasLeader = core.currentRole() === "leader";
    try {
      const p = core.propose(data);
      this.stats.proposals++;
      this.trace.note(this.now, `client proposes "${text}" to ${n.id}: index ${p.index} term ${p.term}`);
      if (!wasLeader) this.report("readyContract", `${n.id} (not leader) accepted proposal "${text}"`);
      return p;
    } catch (err) {
      if (!(err instanceof RaftError)) {
        this.report("coreThrew", `${n.id} propose: ${errorText(err)}`);
        this.stopped = true;
        return null;
      }
      if (this.trace.full) this.trace.note(this.now, `client proposes "${text}" to ${n.id}: ${err.code}${err.leaderId ? ` (leader ${err.leaderId})` : ""}`);
      if (wasLeader && err.code === "NOT_LEADER") this.report("readyContract", `${n.id} is leader but refused "${text}" with NOT_LEADER`);
      if (!wasLeader && err.code !== "NOT_LEADER") this.report("readyContract", `${n.id} (not leader) refused "${text}" with ${err.code}, expected NOT_LEADER`);
      return null;
    }
  }

  private readIndex(n: SimNode): void {
    const context = `r${++this.counter}`;
    try {
      n.core!.readIndex(context);
    } catch (err) {
      if (!(err instanceof RaftError)) {
        this.report("coreThrew", `${n.id} readIndex: ${errorText(err)}`);
        this.stopped = true;
      }
      return;
    }
    this.stats.reads++;
    this.pendingReads.set(context, this.reads.length);
    this.reads.push({ node: n.id, context, requestTick: this.now, minIndex: this.maxCommittedIndex });
    if (this.trace.full) this.trace.note(this.now, `client reads ${context} on ${n.id} (applied somewhere: ${this.maxCommittedIndex})`);
  }

  // ------------------------------------------------------------------------------------------------------------
  // The scripted API: targeted schedules (Figure 8, the election timing script) drive the cluster with it.
  // Checkers run after every tick exactly as in random runs.
  // ------------------------------------------------------------------------------------------------------------

  /** Simulation steps so far (ticks, unless stepsPerTick > 1). */
  get tick(): number {
    return this.now;
  }

  get halted(): boolean {
    return this.stopped;
  }

  node(id: NodeId): SimNode {
    const n = this.byId.get(id);
    if (!n) throw new Error(`no node ${id}`);
    return n;
  }

  /** Runs steps until `done()` holds (checked after each step) or `maxSteps` pass; returns whether it held. */
  runUntil(done: () => boolean, maxSteps: number): boolean {
    const end = this.now + maxSteps;
    while (!this.stopped && this.now < end) {
      this.step();
      if (done()) return true;
    }
    return false;
  }

  /** The live leader with the highest term, if any. */
  leader(): SimNode | null {
    let best: SimNode | null = null;
    for (const n of this.nodes) {
      const st = n.core?.status();
      if (st?.role === "leader" && (!best || st.term > best.core!.status().term)) best = n;
    }
    return best;
  }

  crashNode(id: NodeId, why = "by the script"): void {
    const n = this.node(id);
    if (n.alive) this.crash(n, why);
  }

  restartNode(id: NodeId): void {
    this.restart(this.node(id));
  }

  /** Crashes a node, loses its disk (back to the bootstrap membership, empty log, term 0, no vote) and restarts it
   *  on the empty disk, as an operator restarting it from the cluster file would. */
  wipeNode(id: NodeId): void {
    const n = this.node(id);
    if (n.alive) this.crash(n, "to wipe its disk");
    n.wipe(this.confs[0]!.conf);
    this.trace.note(this.now, `WIPE ${id}: its disk is lost; it restarts empty from the cluster file's membership`);
    this.restart(n);
  }

  /** README "Deploying" step 6 for a removed id: the node (stopped, or still running) loses its disk and starts
   *  again empty with --join (no membership: it waits to be added). A retired node may come back this way. */
  rejoinEmpty(id: NodeId): void {
    const n = this.node(id);
    if (n.alive) this.crash(n, "to wipe its disk for a rejoin");
    this.retired.delete(id);
    this.retireAt.delete(id);
    this.dirty.add("memberStopped");
    n.wipe({ voters: [], learners: [] });
    this.trace.note(this.now, `WIPE ${id}: starts empty with --join, waiting to be added back`);
    this.restart(n);
  }

  /** The node's disk stops answering for `ticks`: no write it starts (or has in flight) completes before then. */
  stallDisk(id: NodeId, ticks: number): void {
    const n = this.node(id);
    n.diskStalledUntil = this.now + ticks;
    if (n.inflight && n.inflight.writeStartTick !== null) n.inflight = { ...n.inflight, doneTick: Math.max(n.inflight.doneTick, n.diskStalledUntil) };
    this.trace.note(this.now, `disk of ${id} stalls for ${ticks} ticks`);
  }

  cutLink(from: NodeId, to: NodeId): void {
    this.net.cutLink(from, to);
    this.trace.note(this.now, `cut ${from}->${to} (one way)`);
  }

  isolateNode(id: NodeId): void {
    this.net.partition([[id], this.nodes.map((n) => n.id).filter((x) => x !== id)]);
    this.trace.note(this.now, `isolate ${id}`);
  }

  partitionNodes(groups: readonly (readonly NodeId[])[]): void {
    this.net.partition(groups);
    this.trace.note(this.now, `partition ${groups.map((g) => `{${g.join(",")}}`).join(" | ")}`);
  }

  healNetwork(): void {
    this.net.healAll();
    this.trace.note(this.now, "heal network");
  }

  proposeTo(id: NodeId, text: string): { index: number; term: number } | null {
    const n = this.node(id);
    return n.core ? this.propose(n, encoder.encode(text), text) : null;
  }

  /** Creates a node with empty storage (no membership: it waits to be added) under a fresh id; `start` boots it. */
  addJoiningNode(start: boolean): SimNode {
    const id = `n${this.nextNodeNumber++}`;
    const n = this.createNode(id, { voters: [], learners: [] });
    this.trace.note(this.now, `NEW NODE ${id} (empty storage${start ? "" : ", not started"})`);
    if (start) this.guard(n, () => n.start());
    if (n.alive) this.downSince.delete(n.id);
    this.dirty.add("logMatching");
    return n;
  }

  /** Starts a node that was created but never started (or restarts a crashed one). */
  startNode(id: NodeId): void {
    this.restart(this.node(id));
  }

  /** Proposes a membership change to `id`; returns where it landed, or null when refused (the code is traced). */
  proposeConfChangeTo(id: NodeId, cc: ConfChange): { index: number; term: number } | null {
    const core = this.node(id).core;
    if (!core) return null;
    try {
      const p = core.proposeConfChange(cc);
      this.trace.note(this.now, `member: ${cc.op} ${cc.id} proposed to ${id}: index ${p.index} term ${p.term}`);
      return p;
    } catch (err) {
      if (!(err instanceof RaftError)) {
        this.report("coreThrew", `${id} proposeConfChange: ${errorText(err)}`);
        return null;
      }
      this.trace.note(this.now, `member: ${cc.op} ${cc.id} refused by ${id}: ${err.code}`);
      return null;
    }
  }

  /** Proposes a membership change to leader `id` the way the production leader does: through the rule of
   *  src/node/reconfig-check.ts (unless skipReconfigCheck), with the leader's record of what it heard as its view.
   *  Every change that reaches the log here is judged by the reconfigQuorumLoss checker. */
  proposeCheckedConfChange(id: NodeId, cc: ConfChange): { index: number; term: number } | null {
    const core = this.node(id).core;
    if (!core || core.currentRole() !== "leader") return this.proposeConfChangeTo(id, cc);
    const st = core.status();
    const heard = this.lastHeard.get(id);
    const silenceMs = (m: NodeId): number | null => {
      const t = heard?.get(m);
      return t === undefined ? null : (this.now - t) * TICK_MS;
    };
    if (!this.opts.skipReconfigCheck) {
      const refusal = reconfigRefusal(reconfigViewOf(st, silenceMs, ELECTION_TICKS_MAX * TICK_MS), cc);
      if (refusal) {
        this.trace.note(this.now, `member: ${cc.op} ${cc.id} refused by the rule: ${refusal.code} ${refusal.message}`);
        return null;
      }
    }
    const p = this.proposeConfChangeTo(id, cc);
    if (p) {
      const downFor = (m: NodeId): number | null => {
        const since = this.downSince.get(m);
        return since === undefined ? null : this.now - since;
      };
      const v = reconfigQuorumLoss({ seed: this.seed, tick: this.now, change: cc, voters: st.conf.voters, downForTicks: downFor });
      if (v) this.report(v.checker, v.detail);
    }
    return p;
  }

  private noteHeard(by: NodeId, from: NodeId): void {
    let heard = this.lastHeard.get(by);
    if (!heard) this.lastHeard.set(by, (heard = new Map()));
    heard.set(from, this.now);
  }

  /** Snapshots node `id` at its applied index and compacts its log to keep `keepEntries` below it. */
  snapshotNode(id: NodeId, keepEntries: number | null): boolean {
    const n = this.node(id);
    const took = n.takeSnapshot(keepEntries, this.sink);
    if (took) this.trace.note(this.now, `${id} snapshots at ${n.applied.length}, log now starts at ${n.storage.firstIndex()}`);
    return took;
  }

  /** Shuts a node down for good after a random delay (membership changer) or now (delay 0). */
  retireLater(id: NodeId, afterTicks: number): void {
    if (afterTicks <= 0) this.retire(id);
    else this.retireAt.set(id, this.now + afterTicks);
  }

  isRetired(id: NodeId): boolean {
    return this.retired.has(id);
  }

  /** The configuration in force (the last committed one). */
  confInForce(): ConfState {
    return this.confs[this.confs.length - 1]!.conf;
  }

  /** Removals committed so far, with when the removed node learned of its own. */
  removalRecords(): readonly RemovalRecord[] {
    return this.removals;
  }

  note(text: string): void {
    this.trace.note(this.now, text);
  }

  // ------------------------------------------------------------------------------------------------------------
  // Heal phase: liveness.
  // ------------------------------------------------------------------------------------------------------------

  /** Restarts every node, heals the network, and checks liveness. */
  healPhase(): void {
    this.faultsOn = false;
    this.crashAt.clear();
    this.retireAt.clear();
    for (const n of this.nodes) if (!n.alive) this.restart(n);
    this.net.healAll();
    this.net.conditions = GOOD_NETWORK;
    this.trace.note(this.now, "HEAL: all nodes up, network whole, delay 0..2, no loss");
    // A leader whose own removal is still on its way may accept the marker and then step down, and its successor
    // may rightly drop it (it was never committed): then the marker goes again to the next stable leader.
    for (let attempt = 1; attempt <= HEAL_MARKER_ATTEMPTS; attempt++) {
      const outcome = this.healMarker(attempt);
      if (outcome === "ok") this.settleTasks();
      if (outcome !== "leaderLost" || this.stopped) return;
    }
    this.report("liveness", `every stable leader since the heal lost leadership before committing the marker (${HEAL_MARKER_ATTEMPTS} attempts)`);
  }

  /** One liveness round: a stable leader within a bound, then a proposal to it applied on every member. */
  private healMarker(attempt: number): "ok" | "failed" | "leaderLost" {
    const from = this.now;
    let leader: SimNode | null = null;
    while (!this.stopped && this.now < from + LEADER_WITHIN_TICKS) {
      this.step();
      leader = this.stableLeader();
      if (leader) break;
    }
    if (this.stopped) return "failed";
    if (!leader) {
      const states = this.nodes.map((n) => {
        const st = n.core?.status();
        return st ? `${n.id} ${st.role} t${st.term} leader=${st.leaderId ?? "-"} ${confText(st.conf)}` : `${n.id} retired`;
      });
      this.report("liveness", `no leader known to every member within ${LEADER_WITHIN_TICKS} ticks of the heal: ${states.join(", ")}`);
      return "failed";
    }
    this.trace.note(this.now, `stable leader ${leader.id} after ${this.now - from} ticks`);

    const text = attempt === 1 ? `heal-marker-${this.seed}` : `heal-marker-${this.seed}-${attempt}`;
    const p = this.propose(leader, encoder.encode(text), text);
    if (this.stopped) return "failed";
    if (!p) {
      this.report("liveness", `stable leader ${leader.id} refused a proposal`);
      return "failed";
    }
    const proposedAt = this.now;
    const data = encoder.encode(text);
    const lag = Math.max(0, ...this.members(leader).map((n) => p.index - n.applied.length));
    const deadline = proposedAt + COMMIT_WITHIN_TICKS + this.catchUpTicks(lag);
    const appliedEverywhere = () =>
      this.members(leader).every((n) => {
        const e = n.applied[p.index - 1];
        return e !== undefined && e.term === p.term && bytesEqual(e.data, data);
      });
    const stillLeads = () => {
      const st = leader.core?.status();
      return st !== undefined && st.role === "leader" && st.term === p.term;
    };
    while (!this.stopped && this.now < deadline) {
      this.step();
      if (appliedEverywhere()) break;
      const appliedOnLeader = leader.applied[p.index - 1];
      if (!stillLeads() && !(appliedOnLeader && bytesEqual(appliedOnLeader.data, data))) {
        this.trace.note(this.now, `${leader.id} lost leadership before committing "${text}"`);
        return "leaderLost";
      }
    }
    if (this.stopped) return "failed";
    if (!appliedEverywhere()) {
      const states = this.members(leader).map((n) => `${n.id} applied ${n.applied.length} ${n.role} t${n.term}`);
      this.report("liveness", `proposal "${text}" (index ${p.index} term ${p.term}) to ${leader.id} not applied everywhere within ${deadline - proposedAt} ticks (lag ${lag} entries): ${states.join(", ")}`);
      return "failed";
    }
    this.trace.note(this.now, `"${text}" applied on every member ${this.now - proposedAt} ticks after the proposal`);
    return "ok";
  }


  /** How long a member `entries` behind may take to catch up, so the heal-phase bounds test liveness, not the
   *  throttle some seeds pick (1 entry per append). No credit for pipelining: with the network reordering appends
   *  a follower rejects the ones that overtake a missing one and the leader falls back to probing, one append per
   *  answer or heartbeat (sim:long seed 17576: a learner 38 entries behind took ~600 ticks). */
  private catchUpTicks(entries: number): number {
    const perAppend = this.maxEntriesPerMsg ?? 512;
    const roundTicks = 2 * (this.net.conditions.maxDelayTicks + 1) + this.maxFsyncTicks + 1 + HEARTBEAT_TICKS;
    return Math.ceil(entries / perAppend) * roundTicks;
  }

  /** Scheduler liveness after the heal: every task the leader's table holds unfinished (pending or assigned)
   *  reaches an end state (completed, dead or cancelled) within a bound. A task stuck assigned to a worker that
   *  forgot it, or pending while workers have room, fails the seed. */
  private settleTasks(): void {
    const scheduler = this.scheduler;
    const leader = this.stableLeader();
    if (!scheduler || !leader || this.stopped) return;
    const ids = scheduler.unfinishedOn(leader);
    if (ids.length === 0) return;
    // New submissions would keep the backlog from ever draining under a throttled replication setting: the
    // clients stop; their retries of ids already sent stop too (those ids are in the table or never will be).
    this.clientsOn = false;
    const rounds = Math.ceil(ids.length / Math.max(1, scheduler.capacityOfMembers(leader)));
    // Each task needs about three more entries (assign, report, maybe a retry).
    const bound = TASKS_SETTLE_WITHIN_TICKS + rounds * (scheduler.maxRunTicks + 20) + this.catchUpTicks(3 * ids.length);
    const from = this.now;
    const unfinished = (): string[] => {
      const l = this.leader();
      if (!l) return ids;
      return ids.filter((id) => {
        const t = l.tasks.getTask(id);
        // With retention on (lifecycle runs) a task gone from the table was deleted, and only terminal ones are.
        if (t === undefined && this.opts.lifecycle) return false;
        // A pending task no live worker carries the tags for stays pending by contract (it says why: `waiting`).
        if (t?.state === "pending" && t.waiting !== undefined) return false;
        return t?.state !== "completed" && t?.state !== "dead" && t?.state !== "cancelled";
      });
    };
    while (!this.stopped && this.now < from + bound) {
      this.step();
      if (this.now % 10 === 0 && unfinished().length === 0) {
        this.trace.note(this.now, `all ${ids.length} unfinished tasks ended ${this.now - from} ticks after the heal marker`);
        return;
      }
    }
    if (this.stopped) return;
    const l = this.leader();
    const stuck = unfinished().slice(0, 5).map((id) => {
      const t = l?.tasks.getTask(id);
      return t ? `${id} ${t.state} worker=${t.worker ?? "-"} attempt ${t.attempt}` : `${id} missing`;
    });
    const workers = l ? l.tasks.workers().map((w) => `${w.id}${w.alive ? "" : " dead"} ${w.active}/${w.capacity}`) : [];
    this.report("liveness", `${unfinished().length} of ${ids.length} tasks unfinished ${bound} ticks after the heal marker (leader ${l?.id ?? "none"}; ${stuck.join("; ")}; workers ${workers.join(", ")})`);
  }

  /** A live leader that every member of its configuration knows, in its term. Nodes outside it (removed, or
   *  never added) do not count: they may wait or knock forever, as long as they do not disturb the members. */
  private stableLeader(): SimNode | null {
    const voters = this.confInForce().voters;
    let leader: SimNode | null = null;
    for (const n of this.nodes) {
      const st = n.core?.status();
      if (st?.role === "leader" && voters.includes(n.id) && (!leader || st.term > leader.core!.status().term)) leader = n;
    }
    if (!leader) return null;
    const term = leader.core!.status().term;
    for (const n of this.members(leader)) {
      const st = n.core?.status();
      if (!st || st.term !== term || st.leaderId !== leader.id) return null;
    }
    return leader;
  }

  /** The voters and learners of `leader`'s configuration (from its applied entries). */
  members(leader: SimNode): SimNode[] {
    const ids = [...leader.conf.voters, ...leader.conf.learners];
    return ids.map((id) => this.byId.get(id)).filter((n): n is SimNode => n !== undefined);
  }
}

// Kept for callers that print one message or payload.
export { describeMessage, payloadText };
