// The scheduler in the simulator: the production TaskTable runs on every node (node.ts applies every committed
// command to it), and this module plays everything around it, deterministically from the seed:
//
//   clients   submit tasks with ids to any node (mostly the leader), retry the same id when the answer is lost or
//             late, sometimes resubmit an id already acknowledged (an answer lost on the way back), cancel some;
//   leader    what src/node/leader-duties.ts does: heartbeats are the Raft messages a member sends the leader;
//             commits workerUp / workerDead / workerRemoved as the production rule decides them
//             (src/node/worker-liveness.ts: a new leader grants everyone one workerTimeout of grace); proposes
//             assign commands from planAssignments (the production planner, with the seed's strategy) through the
//             production PlacementPipeline (several in flight; a report in flight gives its slot back), counting
//             as occupied the slots that aborted handlers still hold as the workers told it
//             (src/node/lingering-handlers.ts);
//   workers   what src/node/task-executor.ts does: every node runs the tasks its own table assigns to it, reports
//             complete or fail (with the attempt) through the leader and retries a lost report. A report already
//             on its way when the attempt is superseded is sometimes still delivered, so fencing is exercised.
//
// It also records the history the scheduler checkers read (scheduler-checkers.ts) and checks it incrementally:
// each new record against the first one of its kind, every table state against the first table seen at the same
// applied index. All randomness comes from one PRNG stream of the seed, separate from the Raft simulator's.
import type { Entry, NodeId } from "../../src/raft/types.js";
import { type Command, encodeCommand } from "../../src/scheduler/commands.js";
import { type LeaderConfirmation, attemptStartGate, freeSlots, mayStartTaskHere } from "../../src/node/attempt-start-gate.js";
import { isMember, latestConfInLog } from "../../src/node/rejoin-leave-decision.js";
import { decideWorkerLiveness } from "../../src/node/worker-liveness.js";
import { LingeringLedger, type LingeringTold, leadershipKey, lingeringReportDue } from "../../src/node/lingering-handlers.js";
import { type AssignCommand } from "../../src/scheduler/commands.js";
import type { TaskTable } from "../../src/scheduler/table.js";
import { planAssignments, retryAtMs } from "../../src/scheduler/planner.js";
import { STRATEGIES, type Strategy } from "../../src/scheduler/strategies.js";
import type { ApplyResult } from "../../src/scheduler/types.js";
import { staleAttemptStart } from "./attempt-start-checkers.js";
import { SimLifecycle } from "./lifecycle-sim.js";
import { AttemptDeadlines, expiredAttempts, timeoutFail } from "../../src/node/attempt-deadlines.js";
import type { FieldPlacementRecord } from "./task-field-checkers.js";
import { type SubmitFields, brokenAssignment, drawSubmitFields, memberTagsOf } from "./task-fields-model.js";
import { AttemptOwners, type BrokenExternalWorkers, type ExternalWorkersHost, SimExternalWorkers } from "./external-workers.js";
import { ExternalPresenceRegistry } from "../../src/node/external-presence.js";
import { PlacementPipeline, assignCommandsInFlightFor } from "../../src/node/placement-pipeline.js";
import type { BrokenScheduler, SimNode } from "./node.js";
import { Rng, mixSeed } from "./prng.js";
import { SCHEDULER_CHECKERS, type SchedulerCheckerName } from "./scheduler-checkers.js";
import { WatchRecorder } from "./watch-checker.js";
import type {
  AssignmentRecord,
  AttemptStartRecord,
  CreationRecord,
  FinishRecord,
  ReleaseRecord,
  SchedulerView,
  TableStateRecord,
  TaskAck,
  Violation,
} from "./view.js";

/** What the model needs from the cluster. */
export interface SchedulerHost {
  readonly seed: number;
  readonly tick: number;
  readonly nodes: readonly SimNode[];
  nodeById(id: NodeId): SimNode | undefined;
  /** Proposes bytes to a live node's core; null when it refused (not leader). */
  proposeBytes(n: SimNode, data: Uint8Array, label: string): { index: number; term: number } | null;
  record(v: Violation): void;
  /** Starts a ReadIndex round on a live node's core with `context`; false when the core refused. The answer comes
   *  back through SimScheduler.readAnswered. */
  readIndex(n: SimNode, context: string): boolean;
  readonly brokenScheduler?: BrokenScheduler;
  /** Issue 13's retention and schedules (lifecycle-sim.ts) run too. */
  readonly lifecycle?: boolean;
}

export interface SchedulerStats {
  readonly submits: number;
  readonly acknowledged: number;
  readonly completed: number;
  readonly failedAttempts: number;
  readonly staleReportsRefused: number;
  readonly requeued: number;
  /** Tables compared with another replica's at the same applied index. */
  readonly tableComparisons: number;
  /** Tables restored from a snapshot (installed from a leader, or the node's own at a restart). */
  readonly tablesRestored: number;
  /** Attempts a node's table still gave it after a restart, already superseded in the committed log, that the
   *  start gate kept from running (the case of issue #17.1). */
  readonly staleAttemptsHeldBack: number;
  /** Retention and schedule figures of a lifecycle run (the leader's applies). */
  readonly lifecycle?: { readonly deleteCommands: number; readonly deleted: number; readonly slotsFired: number };
  /** Attempts failed with TIMEOUT by a leader (their timeoutMs passed), and tasks placed that required tags. */
  readonly timedOut: number;
  readonly taggedPlaced: number;
}

/** One tick is 10 ms: commands carry leader clock readings in ms. */
const TICK_MS = 10;
/** A client gives up waiting for an answer after this many ticks and retries the same id. */
const CLIENT_TIMEOUT_TICKS = 80;
const CLIENT_MAX_TRIES = 6;
/** Share of new submissions that reuse an id a client already sent (a retry after a lost answer). */
const RESUBMIT_SHARE = 0.08;
/** Share of the cluster's client requests that submit a task. */
const SUBMIT_SHARE = 0.5;
const CANCEL_RATE = 0.01;
/** A report (or duty) proposal not applied on its proposer within this many ticks counts as lost. */
const PROPOSAL_TIMEOUT_TICKS = 150;
/** A report already on its way when its attempt was superseded is still delivered this often. */
const LATE_REPORT_SHARE = 0.3;
/** An aborted handler takes up to this many ticks to return (a handler cleaning up after its AbortSignal). */
const MAX_CLEANUP_TICKS = 40;
/** An executor's ReadIndex round not answered within this many ticks is asked again. */
const CONFIRM_TIMEOUT_TICKS = 40;
/** Acknowledged tasks are checked against every table this often (and after every restore). */
const FULL_LOSS_CHECK_EVERY_TICKS = 100;
/** Tables are compared at every applied index divisible by this (and at every snapshot install): serializing a
 *  table after every entry on every node would cost most of the simulator's time, and a replica that diverged
 *  stays diverged until a snapshot replaces its table, which is compared too. */
export const TABLE_COMPARE_EVERY_INDEXES = 16;

type ProposalOutcome = { readonly applied: true; readonly result: ApplyResult | undefined; readonly index: number } | { readonly applied: false };

interface Proposal {
  readonly node: NodeId;
  readonly incarnation: number;
  readonly index: number;
  readonly term: number;
  readonly expiresTick: number;
  readonly done: (o: ProposalOutcome) => void;
}

interface Duties {
  term: number;
  leaderSinceTick: number;
  readonly lastHeardTick: Map<NodeId, number>;
  /** Members heard from since this leadership began: only they are registered alive (leader-duties.ts). */
  readonly contacted: Set<NodeId>;
  readonly livenessInFlight: Set<NodeId>;
  /** Assign commands and reports in flight (the production PlacementPipeline, src/node/placement-pipeline.ts). */
  readonly pipeline: PlacementPipeline;
  /** The table index and tick of the last planning round that found nothing to assign. */
  idleAt: { tableIndex: number; tick: number } | null;
  /** Aborted handlers still running per worker, as the workers told this leadership (the production ledger). */
  readonly lingering: LingeringLedger;
  /** Running attempts' deadlines on this leadership's clock (the production bookkeeping), and the tasks whose
   *  TIMEOUT fail is being proposed. */
  readonly deadlines: AttemptDeadlines;
  readonly timingOut: Set<string>;
  /** External workers registered with this leadership (src/node/external-presence.ts, read by the liveness rule). */
  readonly externals: ExternalPresenceRegistry;
}

interface Run {
  readonly attempt: number;
  readonly doneTick: number;
  readonly fail: boolean;
}

interface Report {
  readonly attempt: number;
  readonly fail: boolean;
  nextTryTick: number;
  inFlight: boolean;
  /** Still delivered after the attempt was superseded (decided once, when the supersede is noticed). */
  late?: boolean;
}

interface Executor {
  readonly incarnation: number;
  /** The tick this incarnation's executor began. */
  readonly since: number;
  readonly running: Map<string, Run>;
  /** "id#attempt" -> an aborted attempt whose handler has not returned yet (it keeps its slot). */
  readonly draining: Map<string, { readonly id: string; readonly attempt: number; readonly returnTick: number }>;
  /** The last commit index the leader confirmed (attempt-start-gate.ts), and the round in flight. */
  confirmed: LeaderConfirmation | null;
  asking: { readonly context: string; readonly term: number; readonly untilTick: number } | null;
  /** task id -> the attempt being reported. */
  readonly reporting: Map<string, Report>;
  /** "id#attempt" already reported: never run again here. */
  readonly finished: Set<string>;
  /** What this incarnation last told a leader of its aborted handlers (lingering-handlers.ts). */
  told: LingeringTold | null;
}

interface ClientSubmit {
  readonly id: string;
  /** requires / runAt / timeoutMs, drawn once (task-fields-model.ts). */
  readonly fields: SubmitFields;
  tries: number;
  retryTick: number | null;
  acked: boolean;
}

export class SimScheduler {
  readonly strategy: Strategy;
  readonly workerTimeoutTicks: number;
  readonly maxRunTicks: number;
  readonly failRate: number;
  private readonly random: () => number;

  // History (first record of each kind per key; checkers compare later ones with it).
  private readonly acks: TaskAck[] = [];
  private readonly creations = new Map<string, CreationRecord>();
  private readonly assignmentsByAttempt = new Map<string, AssignmentRecord>();
  private readonly assignmentsByTask = new Map<string, AssignmentRecord[]>();
  private readonly finishes = new Map<string, FinishRecord>();
  private readonly releasesByTask = new Map<string, ReleaseRecord[]>();
  private readonly releaseKeys = new Set<string>();
  private readonly tableAt = new Map<number, TableStateRecord>();
  /** Every replica's watch events per index, compared (watch-checker.ts). */
  private readonly watch = new WatchRecorder((v) => this.host.record(v));

  private readonly proposals = new Map<string, Proposal>();
  private readonly duties = new Map<NodeId, Duties>();
  private readonly executors = new Map<NodeId, Executor>();
  private readonly submits = new Map<string, ClientSubmit>();
  private readonly submitOrder: string[] = [];
  private nextTaskNumber = 0;
  private stats = { submits: 0, acknowledged: 0, completed: 0, failedAttempts: 0, staleReportsRefused: 0, requeued: 0, tableComparisons: 0, tablesRestored: 0, staleAttemptsHeldBack: 0, timedOut: 0, taggedPlaced: 0 };
  private confirmSeq = 0;
  /** "node/incarnation/id#attempt" held back by the start gate, counted once. */
  private readonly heldBack = new Set<string>();
  /** Retention and schedules, when the run has them (SimOptions.lifecycle). */
  readonly lifecycle: SimLifecycle | null;
  /** External workers, when the run has them (external-workers.ts). */
  private readonly external: SimExternalWorkers | null;
  private readonly attemptOwners = new AttemptOwners();

  constructor(
    private readonly host: SchedulerHost,
    private readonly rng: Rng,
    externalWorkers?: { readonly broken?: BrokenExternalWorkers },
  ) {
    this.strategy = rng.pick(STRATEGIES);
    this.workerTimeoutTicks = rng.int(40, 120);
    this.maxRunTicks = rng.int(1, 40);
    this.failRate = rng.pick([0, 0.1, 0.3]);
    this.random = () => rng.next();
    this.lifecycle = host.lifecycle ? new SimLifecycle((name, parts) => this.check(name, parts), host.brokenScheduler?.slotsByIdOnly === true, host.brokenScheduler?.replayMissedSlots === true, host.brokenScheduler?.skipSlots === true, host.brokenScheduler?.oneFireInFlight === true) : null;
    // Their own PRNG stream: runs without external workers draw exactly as before.
    this.external = externalWorkers ? new SimExternalWorkers(this.externalHost(), new Rng(mixSeed(host.seed, 12)), this.maxRunTicks, this.failRate, externalWorkers.broken) : null;
  }

  private externalHost(): ExternalWorkersHost {
    const self = this;
    return {
      get seed() {
        return self.host.seed;
      },
      get tick() {
        return self.host.tick;
      },
      get nodes() {
        return self.host.nodes;
      },
      nodeById: (id) => self.host.nodeById(id),
      propose: (n, command, label, done) => self.propose(n, command, label, (o) => done(o.applied ? { applied: true, ...(o.result ? { result: o.result } : {}) } : { applied: false })),
      presenceOf: (n) => {
        const d = self.duties.get(n.id);
        return d && d.term === n.term ? d.externals : undefined;
      },
      readIndex: (n, context) => self.host.readIndex(n, context),
      started: (worker, id, attempt) => self.checkStart({ id, attempt, node: worker, tick: self.host.tick, since: self.host.tick }),
      refused: () => void self.stats.staleReportsRefused++,
    };
  }

  describe(): string {
    return `scheduler ${this.strategy}${this.external ? `, ${this.external.describe()}` : ""}, worker timeout ${this.workerTimeoutTicks} ticks, tasks run 1..${this.maxRunTicks} ticks, fail rate ${this.failRate}`;
  }

  /** What a member can run at once: fixed per node id, so a node keeps its capacity across restarts. */
  capacityOf(id: NodeId): number {
    return 1 + (mixSeed(this.host.seed, 7, Number(id.slice(1)) || 0) % 4);
  }

  result(): SchedulerStats {
    return { ...this.stats, ...(this.lifecycle ? { lifecycle: { ...this.lifecycle.stats } } : {}) };
  }

  // ----------------------------------------------------------------------------------------------------------
  // Proposals: a proposal is answered when its proposer applies its index (same term: applied; another entry
  // there: lost), or lost when the proposer crashes or the answer takes too long.
  // ----------------------------------------------------------------------------------------------------------

  private propose(n: SimNode, command: Command, label: string, whenDone: (o: ProposalOutcome) => void, timeoutTicks = PROPOSAL_TIMEOUT_TICKS): boolean {
    if (!n.core) return false;
    const p = this.host.proposeBytes(n, encodeCommand(command), label);
    if (!p) return false;
    // As the node's proposeCommand → LeaderDuties.proposed: a worker's report gives its slot back to placement now.
    const settle = this.reportProposed(n, command);
    const done = settle === null ? whenDone : (o: ProposalOutcome) => (settle(), whenDone(o));
    const key = `${n.id}/${n.incarnation}/${p.index}`;
    // An earlier proposal waiting at this index was appended in an earlier term of this node's leadership and has
    // been replaced in its log: it will never commit (sim:long seed 608 lost a report here, and its task hung).
    const replaced = this.proposals.get(key);
    if (replaced) {
      this.proposals.delete(key);
      replaced.done({ applied: false });
    }
    this.proposals.set(key, {
      node: n.id,
      incarnation: n.incarnation,
      index: p.index,
      term: p.term,
      expiresTick: this.host.tick + timeoutTicks,
      done,
    });
    return true;
  }

  private reportProposed(n: SimNode, command: Command): (() => void) | null {
    if (command.type !== "complete" && command.type !== "fail") return null;
    const d = this.duties.get(n.id);
    if (!d || d.term !== n.term || n.core?.currentRole() !== "leader") return null;
    const settle = d.pipeline.reportProposed(n.tasks.getTask(command.id), command.attempt);
    if (settle !== null) d.idleAt = null; // plan again at the next tick
    return settle;
  }

  private expireProposals(): void {
    const now = this.host.tick;
    for (const [key, p] of this.proposals) {
      const n = this.host.nodeById(p.node);
      if (p.expiresTick <= now || !n?.core || n.incarnation !== p.incarnation) {
        this.proposals.delete(key);
        p.done({ applied: false });
      }
    }
  }

  // ----------------------------------------------------------------------------------------------------------
  // Hooks from the cluster.
  // ----------------------------------------------------------------------------------------------------------

  /** A message from `from` reached `to`: for a leader, a heartbeat from that member. */
  heard(to: NodeId, from: NodeId): void {
    const d = this.duties.get(to);
    d?.lastHeardTick.set(from, this.host.tick);
    d?.contacted.add(from);
  }

  crashed(n: SimNode): void {
    this.executors.delete(n.id);
    this.duties.delete(n.id);
  }

  /** Every entry a node applies, with what its table made of it. */
  applied(n: SimNode, e: Entry, command: Command | undefined, result: ApplyResult | undefined): void {
    const key = `${n.id}/${n.incarnation}/${e.index}`;
    const p = this.proposals.get(key);
    if (p) {
      this.proposals.delete(key);
      p.done(p.term === e.term ? { applied: true, result, index: e.index } : { applied: false });
    }
    if (e.index % TABLE_COMPARE_EVERY_INDEXES === 0) this.recordTable(n);
    if (e.kind === "normal" && e.data.byteLength > 0) {
      const b = n.id === "n2" ? this.host.brokenScheduler : undefined;
      this.watch.applied(this.host.seed, this.host.tick, n.id, e.index, result, (id) => n.tasks.getTask(id), b?.watchDropsRequeued === true, b?.watchDropsDeleted === true);
    }
    if (command && result?.ok) this.lifecycle?.applied(n, e.index, this.host.tick, command, result, (c) => this.addCreation(c));
    if (!command || !result?.ok) {
      if (command && result && !result.ok && result.code === "STALE_ATTEMPT" && n.role === "leader") this.stats.staleReportsRefused++;
      return;
    }
    const tick = this.host.tick;
    switch (command.type) {
      case "submit":
        if (result.created) this.addCreation({ id: command.id, index: e.index, node: n.id, tick });
        break;
      case "assign":
        for (const a of result.assigned ?? []) this.addAssignment({ id: a.taskId, attempt: a.attempt, worker: a.worker, index: e.index, node: n.id, tick });
        this.assignedFields(n, e.index, result.assigned ?? []);
        break;
      case "complete":
      case "fail":
        // A repeated report of an attempt that already finished is answered without a change: not a finish.
        if (result.task && result.task.updatedIndex === e.index) {
          this.addFinish({ id: command.id, attempt: command.attempt, kind: command.type, index: e.index, node: n.id, tick });
        }
        break;
      case "cancel":
        if (result.task && result.task.state === "cancelled" && result.task.updatedIndex === e.index && result.task.attempt > 0) {
          this.addRelease({ id: command.id, attempt: result.task.attempt, why: "cancel", index: e.index, node: n.id, tick });
        }
        break;
      case "workerDead":
      case "workerRemoved":
        for (const id of result.requeued ?? []) {
          const t = n.tasks.getTask(id);
          if (t) this.addRelease({ id, attempt: t.attempt, why: command.type, index: e.index, node: n.id, tick });
        }
        break;
      default:
        break;
    }
  }

  /** A node's table was replaced: it restored a snapshot, or restarted from its stored one. */
  restored(n: SimNode): void {
    if (n.applied.length > 0) this.stats.tablesRestored++;
    this.recordTable(n);
    this.check("taskLost", { nodes: [this.nodeView(n)], acks: this.acks });
  }

  /** Records a node's table at its applied index and compares it with the first table recorded there. */
  private recordTable(n: SimNode): void {
    const rec: TableStateRecord = { index: n.applied.length, node: n.id, tick: this.host.tick, bytes: n.tasks.snapshot() };
    this.lifecycle?.checkTable(this.nodeView(n));
    const first = this.tableAt.get(rec.index);
    if (!first) this.tableAt.set(rec.index, rec);
    else {
      this.stats.tableComparisons++;
      this.check("replicaDivergence", { tableStates: [first, rec] });
    }
  }

  // ----------------------------------------------------------------------------------------------------------
  // One tick: clients, the leader's duties, every node's worker.
  // ----------------------------------------------------------------------------------------------------------

  tick(clientsOn: boolean): void {
    this.expireProposals();
    const live = this.host.nodes.filter((n) => n.core);
    if (clientsOn) this.clientRetries(live);
    for (const n of live) if (n.core!.currentRole() === "leader") this.leaderDuties(n);
    for (const n of live) this.work(n);
    this.external?.tick(clientsOn);
    if (this.host.tick % FULL_LOSS_CHECK_EVERY_TICKS === 0) {
      this.check("taskLost", { nodes: live.map((n) => this.nodeView(n)), acks: this.acks });
    }
  }

  /** A client's request to `target` (the cluster decides when and where, from its own client stream): a task
   *  takes about three entries (submit, assign, report), so only every other request submits one, which keeps
   *  the log about as long as the Raft-only simulator's and the seeds about as fast. */
  maybeSubmitTo(target: SimNode): void {
    if (this.rng.chance(1 - SUBMIT_SHARE)) return;
    let id: string;
    if (this.submitOrder.length > 0 && this.rng.chance(RESUBMIT_SHARE)) {
      id = this.rng.pick(this.submitOrder); // a client that never heard the answer, or heard it and lost it
    } else {
      id = `t${++this.nextTaskNumber}`;
      const fields = drawSubmitFields(this.rng, this.host.tick * TICK_MS, TICK_MS, this.maxRunTicks);
      this.submits.set(id, { id, fields, tries: 0, retryTick: null, acked: false });
      this.submitOrder.push(id);
    }
    this.sendSubmit(this.submits.get(id)!, target);
  }

  private sendSubmit(s: ClientSubmit, target: SimNode): void {
    s.tries++;
    s.retryTick = null;
    this.stats.submits++;
    const command: Command = {
      type: "submit",
      id: s.id,
      payload: { n: Number(s.id.slice(1)) },
      priority: this.rng.chance(0.2) ? this.rng.int(1, 3) : 0,
      maxAttempts: this.rng.int(1, 4),
      nowMs: this.host.tick * TICK_MS,
      ...s.fields,
    };
    const sent = this.propose(
      target,
      command,
      `submit ${s.id}`,
      (o) => {
        if (o.applied && o.result?.ok) {
          this.ack({ kind: "submit", id: s.id, index: o.index, node: target.id, tick: this.host.tick });
          s.acked = true;
        } else if (!s.acked && s.tries < CLIENT_MAX_TRIES && s.retryTick === null) {
          s.retryTick = this.host.tick + this.rng.int(3, 40);
        }
      },
      CLIENT_TIMEOUT_TICKS,
    );
    if (!sent && !s.acked && s.tries < CLIENT_MAX_TRIES) s.retryTick = this.host.tick + this.rng.int(3, 40);
  }

  private clientRetries(live: readonly SimNode[]): void {
    if (live.length === 0) return;
    const now = this.host.tick;
    for (const s of this.submits.values()) {
      if (s.retryTick === null || s.retryTick > now) continue;
      this.sendSubmit(s, this.pickTarget(live));
    }
    if (this.submitOrder.length > 0 && this.rng.chance(CANCEL_RATE)) {
      const leader = live.find((n) => n.core!.currentRole() === "leader");
      if (leader) this.propose(leader, { type: "cancel", id: this.cancelTarget(leader) }, "cancel", () => {});
    }
  }

  /** Half the cancels hit a task that runs now (the case where a handler is aborted while its node is alive and
   *  keeps its slot until it returns, issue #17.2); the others any id ever submitted. */
  private cancelTarget(leader: SimNode): string {
    if (this.rng.chance(0.5)) {
      const running = leader.tasks.listTasks({ state: "assigned", limit: 50 }).tasks;
      if (running.length > 0) return this.rng.pick(running).id;
    }
    return this.rng.pick(this.submitOrder);
  }

  private pickTarget(live: readonly SimNode[]): SimNode {
    const leaders = live.filter((n) => n.core!.currentRole() === "leader");
    return leaders.length > 0 && this.rng.chance(0.8) ? this.rng.pick(leaders) : this.rng.pick(live);
  }

  private ack(a: TaskAck): void {
    this.acks.push(a);
    if (a.kind === "submit") this.stats.acknowledged++;
    else this.stats.completed++;
    const nodes = this.host.nodes.filter((n) => n.core && n.applied.length >= a.index).map((n) => this.nodeView(n));
    this.check("taskLost", { nodes, acks: [a] });
  }

  // The leader (src/node/leader-duties.ts, on the simulator's clock).

  private leaderDuties(n: SimNode): void {
    // The term the cluster last observed for this node (it observes every tick; a leader's term never changes).
    const term = n.term;
    let d = this.duties.get(n.id);
    const now = this.host.tick;
    const members = [...n.conf.voters, ...n.conf.learners];
    if (!d || d.term !== term) {
      d = { term, leaderSinceTick: now, lastHeardTick: new Map(members.map((id) => [id, now])), contacted: new Set(), livenessInFlight: new Set(), pipeline: new PlacementPipeline(assignCommandsInFlightFor(this.strategy)), idleAt: null, lingering: new LingeringLedger(), deadlines: new AttemptDeadlines(), timingOut: new Set(), externals: new ExternalPresenceRegistry() };
      this.duties.set(n.id, d);
      // A new leader restarts the clocks of the running attempts (leader-duties.ts).
      for (const t of n.tasks.listTasks({ state: "assigned", limit: 1000 }).tasks) if (t.timeoutMs !== null) d.deadlines.start(t.id, t.attempt, t.timeoutMs, now * TICK_MS);
    }
    const duties = d;
    const table = n.tasks;
    const liveness = (worker: NodeId, command: Command) => {
      duties.livenessInFlight.add(worker);
      const ok = this.propose(n, command, `${command.type} ${worker}`, (o) => {
        duties.livenessInFlight.delete(worker);
        if (o.applied && o.result?.ok) this.stats.requeued += o.result.requeued?.length ?? 0;
      });
      if (!ok) duties.livenessInFlight.delete(worker);
    };
    // The production decision (src/node/worker-liveness.ts), on the simulator's clock in ms.
    const latestConf = latestConfInLog(n.conf, n.log.slice(n.applied.length));
    const decisions = decideWorkerLiveness({
      selfId: n.id,
      nowMs: now * TICK_MS,
      workerTimeoutMs: this.workerTimeoutTicks * TICK_MS,
      leaderSinceMs: duties.leaderSinceTick * TICK_MS,
      members: new Map(members.map((id) => [id, this.capacityOf(id)])),
      registered: table.workers(),
      lastHeardMs: (id) => {
        const t = duties.lastHeardTick.get(id);
        return t === undefined ? undefined : t * TICK_MS;
      },
      contacted: (id) => duties.contacted.has(id),
      inFlight: (id) => duties.livenessInFlight.has(id),
      inLatestConf: (id) => isMember(latestConf, id),
      memberTags: (id) => memberTagsOf(this.host.seed, id),
      externals: duties.externals.view(),
    });
    for (const d of decisions) liveness(d.worker, d.command);
    this.lifecycle?.leaderDuty(n, term, now * TICK_MS, (cmd, label, done) => this.propose(n, cmd, label, done));
    this.timeOutAttempts(n, duties);
    // Planning again is only worth it when the table changed or a task's retry time may have come (every 5 ticks).
    const idle = duties.idleAt;
    if (duties.pipeline.canPropose && !(idle && idle.tableIndex === table.lastAppliedIndex && now - idle.tick < 5)) {
      const own = this.executors.get(n.id);
      const lingering = duties.lingering.view({ id: n.id, count: own?.incarnation === n.incarnation ? own.draining.size : 0 });
      // What the leader counts as occupied: lingering handlers, plus assignments in flight, minus reports in flight.
      const counted = { lingering: duties.pipeline.occupied(this.host.brokenScheduler?.ignoreLingering ? new Map() : lingering) };
      let cmd = planAssignments(table, { nowMs: now * TICK_MS, strategy: this.strategy, rng: this.random, inFlight: duties.pipeline.inFlightTasks, ...counted });
      const wrong = brokenAssignment(table, cmd, now * TICK_MS, this.host.brokenScheduler, (id) => memberTagsOf(this.host.seed, id));
      if (wrong) cmd = { ...cmd, type: "assign", assignments: [...(cmd?.assignments ?? []), wrong] };
      duties.idleAt = cmd ? null : { tableIndex: table.lastAppliedIndex, tick: now };
      if (cmd) {
        this.checkPlacement(n, table, lingering, duties.pipeline.slotChanges, cmd);
        const settle = duties.pipeline.assignProposed(cmd);
        const ok = this.propose(n, cmd, `assign ${cmd.assignments.length}`, settle);
        if (!ok) settle();
      }
    }
  }

  /** The leader's deadline rule (src/node/attempt-deadlines.ts): TIMEOUT fails for attempts past their deadline. */
  private timeOutAttempts(n: SimNode, duties: Duties): void {
    const nowMs = this.host.tick * TICK_MS;
    const { expired, stale } = expiredAttempts(duties.deadlines.clocks, nowMs, (id) => n.tasks.getTask(id));
    for (const id of stale) duties.deadlines.forget(id);
    for (const { id, clock } of expired) {
      if (duties.timingOut.has(id)) continue;
      duties.timingOut.add(id);
      const ok = this.propose(n, timeoutFail(id, clock, retryAtMs(nowMs, clock.attempt)), `timeout ${id}`, (o) => {
        duties.timingOut.delete(id);
        if (o.applied && o.result?.ok) this.stats.timedOut++;
      });
      if (!ok) duties.timingOut.delete(id);
    }
  }

  /** An applied assignment: the leader starts its deadline clock; the taskFieldPlacement checker judges it. */
  private assignedFields(n: SimNode, index: number, assigned: readonly { taskId: string; worker: string; attempt: number }[]): void {
    const d = n.role === "leader" ? this.duties.get(n.id) : undefined;
    const nowMs = this.host.tick * TICK_MS;
    const fieldPlacements: FieldPlacementRecord[] = [];
    for (const a of assigned) {
      const t = n.tasks.getTask(a.taskId);
      if (!t) continue;
      if (d && d.term === n.term && t.timeoutMs !== null) d.deadlines.start(t.id, a.attempt, t.timeoutMs, nowMs);
      if (d && t.requires.length > 0) this.stats.taggedPlaced++;
      const workerTags = memberTagsOf(this.host.seed, a.worker);
      fieldPlacements.push({ id: t.id, attempt: a.attempt, worker: a.worker, node: n.id, index, tick: this.host.tick, nowMs, requires: t.requires, runAt: t.runAt, workerTags });
    }
    this.check("taskFieldPlacement", { fieldPlacements });
  }

  /** The placementCapacity checker over one planned command: what each worker it places on was known to run, and
   *  the slots that assignments and reports still in flight take or give back (placement-pipeline.ts). */
  private checkPlacement(n: SimNode, table: TaskTable, lingering: ReadonlyMap<string, number>, inFlight: ReadonlyMap<string, number>, cmd: AssignCommand): void {
    const placed = new Map<string, number>();
    for (const a of cmd.assignments) placed.set(a.worker, (placed.get(a.worker) ?? 0) + 1);
    const placements = table
      .workers()
      .filter((w) => placed.has(w.id))
      .map((w) => ({ leader: n.id, tick: this.host.tick, worker: w.id, capacity: w.capacity, active: w.active, lingering: lingering.get(w.id) ?? 0, inFlight: inFlight.get(w.id) ?? 0, placed: placed.get(w.id)! }));
    this.check("placementCapacity", { placements });
  }

  /** The worker tells the leader it knows of its count of aborted handlers still running, when due (the production
   *  rule). Delivered at once if that leader is up and still leads in that term (a report to a node that is down or
   *  no longer leads is lost; due again next tick). The simulator does not delay it: the window a real report
   *  spends on the way is covered by the executor's slot rule, which executorCapacity checks. */
  private tellLeader(n: SimNode, ex: Executor): void {
    const key = leadershipKey(n.leaderId, n.term);
    const count = ex.draining.size;
    if (!lingeringReportDue(ex.told, key, count) || key === null || n.leaderId === null) return;
    const leader = this.host.nodeById(n.leaderId);
    const d = leader?.alive && leader.term === n.term ? this.duties.get(leader.id) : undefined;
    if (!d || d.term !== n.term) return;
    d.lingering.set(n.id, count);
    ex.told = { leader: key, count };
  }

  // Every node's worker (src/node/task-executor.ts): the local table is the truth, once the leader confirmed a
  // commit index the node has applied (src/node/attempt-start-gate.ts, the production rule).

  private executorOf(n: SimNode): Executor {
    let ex = this.executors.get(n.id);
    if (!ex || ex.incarnation !== n.incarnation) {
      ex = { incarnation: n.incarnation, since: this.host.tick, running: new Map(), draining: new Map(), reporting: new Map(), finished: new Set(), confirmed: null, asking: null, told: null };
      this.executors.set(n.id, ex);
    }
    return ex;
  }

  private work(n: SimNode): void {
    const ex = this.executorOf(n);
    const now = this.host.tick;
    for (const [key, d] of ex.draining) if (d.returnTick <= now) ex.draining.delete(key);
    this.tellLeader(n, ex);
    if (ex.running.size === 0 && ex.draining.size === 0 && ex.reporting.size === 0 && ex.finished.size === 0 && n.tasks.activeOf(n.id) === 0) return;
    const current = (id: string, attempt: number) => {
      const t = n.tasks.getTask(id);
      return t !== undefined && t.state === "assigned" && t.worker === n.id && t.attempt === attempt;
    };
    // Abort attempts the table no longer gives us (their handler takes a while to return); forget finished ones the
    // table has moved past.
    for (const [id, run] of ex.running) {
      if (current(id, run.attempt)) continue;
      ex.running.delete(id);
      ex.draining.set(`${id}#${run.attempt}`, { id, attempt: run.attempt, returnTick: now + this.rng.int(0, MAX_CLEANUP_TICKS) });
    }
    this.tellLeader(n, ex);
    for (const key of ex.finished) {
      const [id, attempt] = key.split("#") as [string, string];
      if (!current(id, Number(attempt))) ex.finished.delete(key);
    }
    this.startAttempts(n, ex);
    for (const [id, run] of ex.running) {
      if (run.doneTick > now) continue;
      ex.running.delete(id);
      ex.reporting.set(id, { attempt: run.attempt, fail: run.fail, nextTryTick: now, inFlight: false });
    }
    this.reportOutcomes(n, ex);
  }

  /** Starts what the table assigns us, within the gate and the free slots, and checks what the executor runs. */
  private startAttempts(n: SimNode, ex: Executor): void {
    const now = this.host.tick;
    const broken = this.host.brokenScheduler;
    const gate = attemptStartGate({ confirmed: ex.confirmed, appliedIndex: n.applied.length, currentTerm: n.term });
    if (!gate.open && gate.askLeader) this.askLeaderToConfirm(n, ex);
    const capacity = this.capacityOf(n.id);
    const draining = broken?.freeSlotOnAbort ? 0 : ex.draining.size;
    const drainingTasks = new Set(broken?.freeSlotOnAbort ? [] : [...ex.draining.values()].map((d) => d.id));
    let started = false;
    for (const id of n.tasks.assignedTaskIds(n.id)) {
      const t = n.tasks.getTask(id)!;
      const key = `${id}#${t.attempt}`;
      if (ex.running.get(id)?.attempt === t.attempt || ex.reporting.get(id)?.attempt === t.attempt || ex.finished.has(key)) continue;
      if (!gate.open && !broken?.startFromLocalTable) {
        this.noteHeldBack(n, ex, id, t.attempt);
        continue;
      }
      if (freeSlots({ capacity, running: ex.running.size, draining }) === 0) break;
      if (!mayStartTaskHere(id, drainingTasks)) continue;
      ex.running.set(id, { attempt: t.attempt, doneTick: now + this.rng.int(1, this.maxRunTicks), fail: this.rng.chance(this.failRate) });
      started = true;
      this.checkStart({ id, attempt: t.attempt, node: n.id, tick: now, since: ex.since });
    }
    if (!started) return;
    const handlers = [
      ...[...ex.running].map(([id, r]) => ({ id, attempt: r.attempt, aborted: false })),
      ...[...ex.draining.values()].map((d) => ({ id: d.id, attempt: d.attempt, aborted: true })),
    ];
    this.check("executorCapacity", { executorLoads: [{ node: n.id, tick: now, capacity, handlers }] });
  }

  /** A ReadIndex round through the node's core, as the node's executor asks runner.readIndex(). */
  private askLeaderToConfirm(n: SimNode, ex: Executor): void {
    const now = this.host.tick;
    if (ex.asking && ex.asking.untilTick > now) return;
    const context = `x${n.id}/${n.incarnation}/${++this.confirmSeq}`;
    ex.asking = this.host.readIndex(n, context) ? { context, term: n.term, untilTick: now + CONFIRM_TIMEOUT_TICKS } : null;
  }

  /** The node's core answered a ReadIndex round the executor asked for. */
  readAnswered(n: SimNode, context: string, index: number): void {
    if (context.startsWith("xext/")) return this.external?.readAnswered(context, index);
    const ex = this.executors.get(n.id);
    if (!ex || ex.incarnation !== n.incarnation || ex.asking?.context !== context) return;
    const c = { index, term: ex.asking.term };
    if (ex.confirmed === null || c.term > ex.confirmed.term || c.index > ex.confirmed.index) ex.confirmed = c;
    ex.asking = null;
  }

  /** Counts the attempts the gate kept from starting that the checker would have flagged: proof that the
   *  simulator's restarts do leave nodes with stale local attempts. */
  private noteHeldBack(n: SimNode, ex: Executor, id: string, attempt: number): void {
    const key = `${n.id}/${n.incarnation}/${id}#${attempt}`;
    if (this.heldBack.has(key)) return;
    this.heldBack.add(key);
    const v = staleAttemptStart(this.startView(id, { id, attempt, node: n.id, tick: this.host.tick, since: ex.since }));
    if (v.length > 0) this.stats.staleAttemptsHeldBack++;
  }

  private checkStart(s: AttemptStartRecord): void {
    for (const v of staleAttemptStart(this.startView(s.id, s))) this.host.record(v);
    const twice = this.attemptOwners.started(this.host.seed, this.host.tick, s.node, s.id, s.attempt);
    if (twice) this.host.record(twice);
  }

  private startView(id: string, s: AttemptStartRecord): SchedulerView {
    const assignments = this.assignmentsByTask.get(id) ?? [];
    const finishes: FinishRecord[] = [];
    for (const a of assignments) {
      const f = this.finishes.get(`${id}#${a.attempt}`);
      if (f) finishes.push(f);
    }
    const releases = this.releasesByTask.get(id) ?? [];
    return { seed: this.host.seed, tick: this.host.tick, nodes: [], acks: [], creations: [], assignments, finishes, releases, tableStates: [], starts: [s] };
  }

  private reportOutcomes(n: SimNode, ex: Executor): void {
    const now = this.host.tick;
    const current = (id: string, attempt: number) => {
      const t = n.tasks.getTask(id);
      return t !== undefined && t.state === "assigned" && t.worker === n.id && t.attempt === attempt;
    };
    // Report through the leader this node knows; retry a lost report.
    for (const [id, r] of ex.reporting) {
      if (r.inFlight || r.nextTryTick > now) continue;
      if (!current(id, r.attempt)) {
        r.late ??= this.rng.chance(LATE_REPORT_SHARE);
        if (!r.late) {
          ex.reporting.delete(id);
          continue;
        }
      }
      const leader = n.leaderId ? this.host.nodeById(n.leaderId) : undefined;
      if (!leader?.core || leader.core.currentRole() !== "leader") {
        r.nextTryTick = now + 5;
        continue;
      }
      const nowMs = now * TICK_MS;
      const command: Command = r.fail
        ? { type: "fail", id, attempt: r.attempt, error: { code: "SIM_FAIL" }, retryAtMs: retryAtMs(nowMs, r.attempt, { baseMs: 50, maxMs: 500 }) }
        : { type: "complete", id, attempt: r.attempt, result: { by: n.id } };
      r.inFlight = true;
      const executor = ex;
      const sent = this.propose(leader, command, `${command.type} ${id}#${r.attempt} from ${n.id}`, (o) => {
        r.inFlight = false;
        if (!o.applied) {
          r.nextTryTick = this.host.tick + this.rng.int(2, 10);
          return;
        }
        executor.reporting.delete(id);
        executor.finished.add(`${id}#${r.attempt}`);
        if (o.result?.ok && command.type === "complete") {
          this.ack({ kind: "complete", id, attempt: r.attempt, index: o.index, node: leader.id, tick: this.host.tick });
        }
        if (o.result?.ok && command.type === "fail") this.stats.failedAttempts++;
      });
      if (!sent) {
        r.inFlight = false;
        r.nextTryTick = now + 5;
      }
    }
  }

  // ----------------------------------------------------------------------------------------------------------
  // After the heal: every task known to the leader reaches an end state.
  // ----------------------------------------------------------------------------------------------------------

  /** Ids the leader's table holds that are not finished (pending or assigned). */
  unfinishedOn(n: SimNode): string[] {
    const c = n.tasks.counts();
    if (c.pending + c.assigned === 0) return [];
    const out: string[] = [];
    for (const state of ["pending", "assigned"] as const) {
      let after: string | null = null;
      do {
        const page = n.tasks.listTasks({ state, limit: 1000, ...(after !== null ? { after } : {}) });
        for (const t of page.tasks) out.push(t.id);
        after = page.next;
      } while (after !== null);
    }
    return out;
  }

  /** Total capacity of the members of `n`'s configuration. */
  capacityOfMembers(n: SimNode): number {
    return [...n.conf.voters, ...n.conf.learners].reduce((sum, id) => sum + this.capacityOf(id), 0);
  }

  // ----------------------------------------------------------------------------------------------------------
  // History and incremental checks.
  // ----------------------------------------------------------------------------------------------------------

  private addCreation(c: CreationRecord): void {
    const first = this.creations.get(c.id);
    if (!first) this.creations.set(c.id, c);
    else if (first.index !== c.index) this.check("taskDuplicated", { creations: [first, c] });
  }

  private addAssignment(a: AssignmentRecord): void {
    const key = `${a.id}#${a.attempt}`;
    const first = this.assignmentsByAttempt.get(key);
    if (!first) {
      this.assignmentsByAttempt.set(key, a);
      const list = this.assignmentsByTask.get(a.id);
      if (list) list.push(a);
      else this.assignmentsByTask.set(a.id, [a]);
    } else if (first.worker !== a.worker || first.index !== a.index) {
      this.check("attemptFencing", { assignments: [first, a] });
    }
  }

  private addFinish(f: FinishRecord): void {
    const key = `${f.id}#${f.attempt}`;
    const first = this.finishes.get(key);
    if (!first) this.finishes.set(key, f);
    else if (first.index === f.index) return; // the same entry on another replica, already checked
    this.check("attemptFencing", {
      assignments: this.assignmentsByTask.get(f.id) ?? [],
      releases: this.releasesByTask.get(f.id) ?? [],
      finishes: first ? [first, f] : [f],
    });
  }

  private addRelease(r: ReleaseRecord): void {
    const key = `${r.id}#${r.attempt}@${r.index}`;
    if (this.releaseKeys.has(key)) return;
    this.releaseKeys.add(key);
    const list = this.releasesByTask.get(r.id);
    if (list) list.push(r);
    else this.releasesByTask.set(r.id, [r]);
  }

  private nodeView(n: SimNode): SchedulerView["nodes"][number] {
    return { id: n.id, alive: n.alive, role: n.role, term: n.term, log: n.log, durableLog: n.durableLog, applied: n.applied, tasks: n.tasks };
  }

  private check(name: SchedulerCheckerName, parts: Partial<SchedulerView>): void {
    const view: SchedulerView = {
      seed: this.host.seed,
      tick: this.host.tick,
      nodes: [],
      acks: [],
      creations: [],
      assignments: [],
      finishes: [],
      releases: [],
      tableStates: [],
      ...(this.lifecycle ? { deletions: this.lifecycle.deletions } : {}),
      ...parts,
    };
    for (const v of SCHEDULER_CHECKERS[name](view)) this.host.record(v);
  }
}
