// The whole-cluster simulator: 3 or 5 RaftNodes over MemoryStorage, one process, one seed. Every random
// choice (network delays and losses, faults, client requests, the cores' own election timeouts) comes from
// PRNG streams derived from the seed, so a seed replays exactly.
//
// One tick = 10 ms of logical time. Each tick: inject faults -> tick every live core -> client requests ->
// delivery rounds (deliver due messages, work through Readies; messages with zero delay arrive within the same
// tick) -> observe roles and terms -> run the checkers. After the fault phase comes the heal phase, which checks
// liveness: a stable leader within a bound, and a proposal to it applied everywhere within a bound.
import type { BrokenRules } from "../../src/raft/api.js";
import type { Entry, Message, NodeId, ReadState, Ready } from "../../src/raft/types.js";
import { RaftError } from "../../src/raft/types.js";
import { SAFETY_CHECKERS, SAFETY_CHECKER_NAMES, type SafetyCheckerName, leaderCompleteness } from "./checkers.js";
import { makeRaftNode } from "./core.js";
import { bytesEqual, describeEntry, payloadText } from "./entries.js";
import { type FaultProfile, type ProfileName, PROFILES, pickProfile } from "./faults.js";
import { GOOD_NETWORK, type NetworkConditions, SimNetwork } from "./network.js";
import { type MakeCore, type RunnerSink, SimNode, errorText } from "./node.js";
import { Rng, mixSeed, mulberry32 } from "./prng.js";
import { Trace, describeMessage } from "./trace.js";
import type { CheckerName, ClusterView, CommitRecord, LeaderRecord, ReadRecord, Violation } from "./view.js";

export interface SimOptions {
  readonly seed: number;
  /** Cluster size; by default the seed picks 3 or 5. */
  readonly nodes?: 3 | 5;
  /** Fault profile; by default the seed picks one. */
  readonly profile?: ProfileName;
  readonly brokenRules?: BrokenRules;
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
  /** Simulation steps per tick (default 1). Above 1, every node ticks at its own random phase within the tick, as
   *  real nodes' timers do, and network and fsync delays count in steps: 10 steps per tick = 1 ms resolution.
   *  The election timing script uses it; random runs keep lockstep ticks. */
  readonly stepsPerTick?: number;
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
}

export interface SimResult {
  readonly seed: number;
  readonly nodes: number;
  readonly profile: ProfileName;
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
/** Delivery rounds per tick; zero-delay messages chain at most this deep within one tick. */
const MAX_ROUNDS_PER_TICK = 12;
const PROPOSE_RATE = 0.12;
const READ_RATE = 0.03;

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
  private readonly clientsOn: boolean;

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

  // Scheduling.
  private readonly restartAt = new Map<NodeId, number>();
  private readonly crashAt = new Map<NodeId, number>();
  private readonly crashMidSync = new Set<NodeId>();

  private readonly violations: Violation[] = [];
  private readonly reported = new Set<CheckerName>();
  private readonly dirty = new Set<SafetyCheckerName>();
  private stopped = false;
  private counter = 0;
  private stats = { proposals: 0, reads: 0, crashes: 0, maxTerm: 0 };

  constructor(private readonly opts: SimOptions) {
    this.seed = opts.seed;
    this.faultsOn = !opts.scripted;
    this.clientsOn = !opts.scripted;
    this.rng = new Rng(mixSeed(opts.seed, 1));
    this.clientRng = new Rng(mixSeed(opts.seed, 2));
    this.net = new SimNetwork(new Rng(mixSeed(opts.seed, 3)));
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
    const makeCore = opts.makeCore ?? makeRaftNode;
    ids.forEach((id, i) => {
      const node = new SimNode(
        id,
        ids,
        {
          electionTicksMin: ELECTION_TICKS_MIN,
          electionTicksMax: ELECTION_TICKS_MAX,
          heartbeatTicks: HEARTBEAT_TICKS,
          ...(opts.brokenRules ? { brokenRules: opts.brokenRules } : {}),
          ...(this.maxEntriesPerMsg ? { maxEntriesPerMsg: this.maxEntriesPerMsg } : {}),
          ...(this.maxInflightMsgs ? { maxInflightMsgs: this.maxInflightMsgs } : {}),
          ...(opts.sendBeforeSync ? { sendBeforeSync: true } : {}),
          random: (incarnation) => mulberry32(mixSeed(opts.seed, 4, i, incarnation)),
        },
        makeCore,
      );
      this.nodes.push(node);
      this.byId.set(id, node);
    });
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
        `batch ${this.maxEntriesPerMsg ?? "default"} entries, inflight ${this.maxInflightMsgs ?? "default"}, ` +
        `network delay ${c.minDelayTicks}..${c.maxDelayTicks} drop ${c.dropRate.toFixed(2)} dup ${c.duplicateRate.toFixed(2)}` +
        (this.opts.brokenRules ? `, broken rules ${JSON.stringify(this.opts.brokenRules)}` : ""),
    );
    for (const n of this.nodes) this.guard(n, () => n.start());
    this.markAllDirty();
  }

  result(): SimResult {
    return {
      seed: this.seed,
      nodes: this.nodes.length,
      profile: this.profile.name,
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
      },
    };
  }

  // ------------------------------------------------------------------------------------------------------------
  // One tick.
  // ------------------------------------------------------------------------------------------------------------

  private step(): void {
    this.now++;
    if (this.faultsOn) this.injectFaults();
    this.nodes.forEach((n, i) => {
      const ticksNow = this.stepsPerTick === 1 || (this.now + this.tickPhase[i]!) % this.stepsPerTick === 0;
      if (n.core && ticksNow) this.guard(n, () => n.core!.tick());
    });
    if (this.clientsOn) this.clientActions();
    for (let round = 0; round < MAX_ROUNDS_PER_TICK && !this.stopped; round++) {
      let progressed = this.deliver();
      for (const n of this.nodes) {
        if (n.core) progressed = this.guard(n, () => n.processReadies(this.now, this.fsyncDelay, this.sink)) || progressed;
        if (this.crashMidSync.delete(n.id) && n.alive) this.crash(n, "right after taking a Ready to sync");
      }
      if (!progressed) break;
    }
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
        continue;
      }
      this.trace.message(this.now, "deliver", m);
      this.guard(target, () => target.core!.step(m));
      // A vote response can make a leader that a later message deposes before its first Ready: record it now.
      if (m.type === "voteResp" && target.core) {
        const st = target.core.status();
        if (st.role === "leader") this.recordLeader(target, st.term, undefined);
      }
    }
    return due.length > 0;
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
    applied: (node: SimNode, e: Entry) => {
      this.dirty.add("stateMachineSafety");
      if (!this.committed.has(e.index)) {
        this.committed.set(e.index, { entry: e, node: node.id, tick: this.now });
        this.maxCommittedIndex = Math.max(this.maxCommittedIndex, e.index);
        this.changedCommits.add(e.index);
        this.dirty.add("committedEntryLost");
        this.trace.note(this.now, `${node.id} applies ${describeEntry(e)} first`);
      } else if (this.trace.full) {
        this.trace.note(this.now, `${node.id} applies ${describeEntry(e)}`);
      }
    },
    readState: (node: SimNode, rs: ReadState) => {
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
    if (st.role === "leader") this.recordLeader(node, st.term, node.log.slice());
    this.noteState(node, st.role, st.term, st.leaderId);
  }

  private observe(): void {
    for (const n of this.nodes) {
      if (!n.core) continue;
      const st = n.core.status();
      if (st.role === "leader") this.recordLeader(n, st.term, undefined);
      this.noteState(n, st.role, st.term, st.leaderId);
    }
  }

  private noteState(node: SimNode, role: SimNode["role"], term: number, leaderId: NodeId | null): void {
    node.role = role;
    node.term = term;
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
      this.trace.note(this.now, `${node.id} is leader of term ${term}, log ends at ${node.log.length}`);
      if (this.faultsOn && this.rng.chance(this.profile.crashNewLeaderRate)) {
        this.crashAt.set(node.id, this.now + this.rng.int(0, this.profile.leaderCrashWithinTicks));
      }
    } else if (log && !this.leaders[at]!.log) {
      this.leaders[at] = { ...this.leaders[at]!, log };
      this.newLeaders.push(at);
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
      })),
      leaders: this.leaders,
      committed: this.committed,
      commitTerms: this.commitTerms,
      reads: this.reads,
    };
  }

  private markAllDirty(): void {
    for (const name of SAFETY_CHECKER_NAMES) if (name !== "leaderCompleteness") this.dirty.add(name);
  }

  /** Runs the checkers whose inputs changed this tick. */
  private check(): void {
    const incremental = this.newLeaders.length > 0 || this.changedCommits.size > 0;
    if (this.dirty.size === 0 && !incremental) return;
    const view = this.view();
    for (const name of SAFETY_CHECKER_NAMES) {
      if (!this.dirty.has(name)) continue;
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
    if (!this.rng.chance(this.profile.faultRate)) return;
    const ids = this.nodes.map((n) => n.id);
    const alive = this.nodes.filter((n) => n.alive);
    const dead = this.nodes.filter((n) => !n.alive);
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
    this.stats.crashes++;
    this.crashAt.delete(n.id);
    this.dirty.add("logMatching");
    this.trace.note(this.now, `CRASH ${n.id} ${why}${lost}`);
    if (this.faultsOn) {
      const [lo, hi] = this.profile.restartAfterTicks;
      this.restartAt.set(n.id, this.now + this.rng.int(lo, hi));
    }
  }

  private restart(n: SimNode): void {
    this.restartAt.delete(n.id);
    if (n.alive) return;
    this.guard(n, () => n.start());
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
      const leaders = alive.filter((n) => n.core!.status().role === "leader");
      const target = leaders.length > 0 && this.clientRng.chance(0.8) ? this.clientRng.pick(leaders) : this.clientRng.pick(alive);
      this.propose(target, `p${++this.counter}`);
    }
    if (this.clientRng.chance(READ_RATE)) this.readIndex(this.clientRng.pick(alive));
  }

  /** Proposes; returns where the entry should land, or null when the node refused. */
  private propose(n: SimNode, text: string): { index: number; term: number } | null {
    const core = n.core!;
    const wasLeader = core.status().role === "leader";
    try {
      const p = core.propose(encoder.encode(text));
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
    return n.core ? this.propose(n, text) : null;
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
    for (const n of this.nodes) if (!n.alive) this.restart(n);
    this.net.healAll();
    this.net.conditions = GOOD_NETWORK;
    const healTick = this.now;
    this.trace.note(this.now, "HEAL: all nodes up, network whole, delay 0..2, no loss");

    let leader: SimNode | null = null;
    while (!this.stopped && this.now < healTick + LEADER_WITHIN_TICKS) {
      this.step();
      leader = this.stableLeader();
      if (leader) break;
    }
    if (this.stopped) return;
    if (!leader) {
      const states = this.nodes.map((n) => {
        const st = n.core!.status();
        return `${n.id} ${st.role} t${st.term} leader=${st.leaderId ?? "-"}`;
      });
      this.report("liveness", `no leader known to every node within ${LEADER_WITHIN_TICKS} ticks of the heal: ${states.join(", ")}`);
      return;
    }
    this.trace.note(this.now, `stable leader ${leader.id} after ${this.now - healTick} ticks`);

    const text = `heal-marker-${this.seed}`;
    const p = this.propose(leader, text);
    if (this.stopped) return;
    if (!p) {
      this.report("liveness", `stable leader ${leader.id} refused a proposal`);
      return;
    }
    const proposedAt = this.now;
    const data = encoder.encode(text);
    const appliedEverywhere = () =>
      this.nodes.every((n) => {
        const e = n.applied[p.index - 1];
        return e !== undefined && e.term === p.term && bytesEqual(e.data, data);
      });
    while (!this.stopped && this.now < proposedAt + COMMIT_WITHIN_TICKS) {
      this.step();
      if (appliedEverywhere()) break;
    }
    if (this.stopped) return;
    if (!appliedEverywhere()) {
      const states = this.nodes.map((n) => `${n.id} applied ${n.applied.length} ${n.role} t${n.term}`);
      this.report("liveness", `proposal "${text}" (index ${p.index} term ${p.term}) to ${leader.id} not applied everywhere within ${COMMIT_WITHIN_TICKS} ticks: ${states.join(", ")}`);
      return;
    }
    this.trace.note(this.now, `"${text}" applied on every node ${this.now - proposedAt} ticks after the proposal`);
  }

  /** A live leader that every node knows, in its term. */
  private stableLeader(): SimNode | null {
    let leader: SimNode | null = null;
    for (const n of this.nodes) {
      if (n.core?.status().role === "leader") leader = n;
    }
    if (!leader) return null;
    const term = leader.core!.status().term;
    for (const n of this.nodes) {
      const st = n.core?.status();
      if (!st || st.term !== term || st.leaderId !== leader.id) return null;
    }
    return leader;
  }
}

// Kept for callers that print one message or payload.
export { describeMessage, payloadText };
