// External workers (not Raft members) in the simulator, as src/api/worker-hub.ts serves them: each connects to a
// node, follows it to the leader, registers in that leader's presence registry (src/node/external-presence.ts, which
// the production liveness rule reads), heartbeats, runs the attempts the leader's table gives it (the hub pushes
// exactly those, and again after a reconnect), and reports them fenced by the production rule
// (src/node/external-report-rule.ts). Faults, from the seed: disconnects, partitions from the leader (frames lost
// both ways while the worker runs on), reconnects to another node, and late reports of attempts taken away.
//
// The checker attemptOnOneWorker: a (task, attempt) never starts on two workers, members and externals alike.
import { ExternalPresenceRegistry } from "../../src/node/external-presence.js";
import { externalReportVerdict, stillHolds } from "../../src/node/external-report-rule.js";
import type { Command } from "../../src/scheduler/commands.js";
import { retryAtMs } from "../../src/scheduler/planner.js";
import type { ApplyResult } from "../../src/scheduler/types.js";
import type { SimNode } from "./node.js";
import type { Rng } from "./prng.js";
import type { Violation } from "./view.js";

const TICK_MS = 10;
const DISCONNECT_RATE = 0.002;
const PARTITION_RATE = 0.003;
const RECONNECT_RATE = 0.2;
/** An attempt taken away while its report was being made is still reported this often (a late report). */
const LATE_REPORT_SHARE = 0.3;

export interface ExternalWorkersHost {
  readonly seed: number;
  readonly tick: number;
  readonly nodes: readonly SimNode[];
  nodeById(id: string): SimNode | undefined;
  propose(n: SimNode, command: Command, label: string, done: (o: { applied: boolean; result?: ApplyResult }) => void): boolean;
  /** The presence registry of `n`'s current leadership (reset at every new term, as becameLeader clears it). */
  presenceOf(n: SimNode): ExternalPresenceRegistry | undefined;
  /** Starts a ReadIndex round on `n` (answered through SimExternalWorkers.readAnswered); false when refused. */
  readIndex(n: SimNode, context: string): boolean;
  /** A worker starts an attempt: the checkers see it. */
  started(worker: string, taskId: string, attempt: number): void;
  refused(): void;
}

/** Deliberately wrong external workers (a test proves the checker fires). */
export interface BrokenExternalWorkers {
  /** Worker x1 also runs the attempts the table gives x2 (a worker that ignores whose assignment it reads). */
  readonly runOthersAttempts?: boolean;
}

interface Report {
  readonly attempt: number;
  readonly kind: "complete" | "fail";
  inFlight: boolean;
}

interface ExternalWorker {
  readonly id: string;
  readonly capacity: number;
  node: string | null;
  /** The leader's term when it registered there: a new term of that node is a new leadership (connections closed). */
  term: number;
  partitionedUntilTick: number;
  readonly running: Map<string, { attempt: number; doneTick: number; fail: boolean }>;
  readonly outbox: Map<string, Report>;
  /** The hub's push gate (src/api/worker-assignments.ts): attempts seen in the leader's table wait for a ReadIndex
   *  confirmation asked after they were seen, and are pushed only if they still hold once it is applied. */
  confirm: { readonly context: string; readonly batch: ReadonlySet<string>; readonly untilTick: number; index: number | null } | null;
}

const CONFIRM_TIMEOUT_TICKS = 40;

export class SimExternalWorkers {
  private readonly workers: ExternalWorker[];

  constructor(
    private readonly host: ExternalWorkersHost,
    private readonly rng: Rng,
    private readonly maxRunTicks: number,
    private readonly failRate: number,
    private readonly broken: BrokenExternalWorkers = {},
  ) {
    const count = rng.int(1, 4);
    this.workers = Array.from({ length: count }, (_, k) => ({
      id: `x${k + 1}`,
      capacity: rng.int(1, 3),
      node: null,
      term: 0,
      partitionedUntilTick: 0,
      running: new Map(),
      outbox: new Map(),
      confirm: null,
    }));
  }

  describe(): string {
    return `${this.workers.length} external workers (${this.workers.map((w) => `${w.id}:${w.capacity}`).join(", ")})`;
  }

  get capacity(): number {
    return this.workers.reduce((s, w) => s + w.capacity, 0);
  }

  tick(faultsOn: boolean): void {
    for (const w of this.workers) this.step(w, faultsOn);
  }

  private step(w: ExternalWorker, faultsOn: boolean): void {
    const now = this.host.tick;
    for (const [taskId, r] of w.running) {
      if (r.doneTick > now) continue;
      w.running.delete(taskId);
      w.outbox.set(taskId, { attempt: r.attempt, kind: r.fail ? "fail" : "complete", inFlight: false });
    }
    const leader = this.connectedLeader(w);
    if (leader === null) {
      if (this.rng.chance(RECONNECT_RATE)) this.connect(w);
      return;
    }
    if (faultsOn && this.rng.chance(DISCONNECT_RATE)) return this.disconnect(w, leader);
    if (faultsOn && now >= w.partitionedUntilTick && this.rng.chance(PARTITION_RATE)) w.partitionedUntilTick = now + this.rng.int(5, 300);
    if (now < w.partitionedUntilTick) return; // nothing gets through either way; the handlers run on
    this.host.presenceOf(leader)?.heard(w.id, now * TICK_MS);
    this.takeAssignments(w, leader);
    this.sendReports(w, leader);
  }

  /** The leader this worker is registered with, while that leadership lasts; null when it must (re)connect. */
  private connectedLeader(w: ExternalWorker): SimNode | null {
    if (w.node === null) return null;
    const n = this.host.nodeById(w.node);
    if (n?.core && n.core.currentRole() === "leader" && n.term === w.term) return n;
    // The hub closed the connection (the node stepped down or crashed).
    w.node = null;
    w.confirm = null;
    return null;
  }

  private disconnect(w: ExternalWorker, leader: SimNode): void {
    this.host.presenceOf(leader)?.disconnected(w.id);
    w.node = null;
    w.confirm = null;
  }

  /** A ReadIndex round of the push gate was answered. */
  readAnswered(context: string, index: number): void {
    for (const w of this.workers) if (w.confirm?.context === context) w.confirm.index = index;
  }

  /** Any live node; a follower names its leader (notLeader) and the worker goes there. */
  private connect(w: ExternalWorker): void {
    const live = this.host.nodes.filter((n) => n.core);
    if (live.length === 0) return;
    let target: SimNode | undefined = this.rng.pick(live);
    if (target.core!.currentRole() !== "leader") target = target.leaderId ? this.host.nodeById(target.leaderId) : undefined;
    if (!target?.core || target.core.currentRole() !== "leader") return;
    const presence = this.host.presenceOf(target);
    if (!presence) return;
    if (target.conf.voters.includes(w.id) || target.conf.learners.includes(w.id)) return; // ID_IS_MEMBER (never: x ids)
    w.node = target.id;
    w.term = target.term;
    presence.registered(w.id, w.capacity, [], this.host.tick * TICK_MS);
    // register's `running`: attempts no longer its own are aborted (a late report of them may still go out).
    for (const [taskId, r] of w.running) {
      if (externalReportVerdict(target.tasks.getTask(taskId), w.id, r.attempt) === "propose") continue;
      w.running.delete(taskId);
      if (this.rng.chance(LATE_REPORT_SHARE)) w.outbox.set(taskId, { attempt: r.attempt, kind: "complete", inFlight: false });
    }
  }

  /** What the hub pushes: the attempts the leader's table gives this worker; attempts taken away are aborted. */
  private takeAssignments(w: ExternalWorker, leader: SimNode): void {
    const table = leader.tasks;
    for (const [taskId, r] of w.running) {
      if (stillHolds(table.getTask(taskId), w.id, r.attempt)) continue;
      w.running.delete(taskId);
      if (this.rng.chance(LATE_REPORT_SHARE)) w.outbox.set(taskId, { attempt: r.attempt, kind: "complete", inFlight: false });
    }
    const sources = this.broken.runOthersAttempts && w.id === "x1" ? [w.id, "x2"] : [w.id];
    const seen = new Set<string>();
    for (const source of sources) {
      for (const t of table.listTasks({ worker: source, state: "assigned", limit: 1000 }).tasks) {
        if (w.running.get(t.id)?.attempt === t.attempt || w.outbox.get(t.id)?.attempt === t.attempt) continue;
        seen.add(`${source}/${t.id}#${t.attempt}`);
      }
    }
    this.gate(w, leader, seen);
  }

  /** Pushes what a confirmation answered and applied covers; asks for one when attempts wait. */
  private gate(w: ExternalWorker, leader: SimNode, seen: ReadonlySet<string>): void {
    const now = this.host.tick;
    const c = w.confirm;
    if (c !== null && c.index !== null && leader.applied.length >= c.index) {
      w.confirm = null;
      for (const key of c.batch) {
        const [source, rest] = key.split("/") as [string, string];
        const hash = rest.lastIndexOf("#");
        const taskId = rest.slice(0, hash);
        const attempt = Number(rest.slice(hash + 1));
        if (!stillHolds(leader.tasks.getTask(taskId), source, attempt) || w.running.get(taskId)?.attempt === attempt) continue;
        w.running.set(taskId, { attempt, doneTick: now + this.rng.int(1, this.maxRunTicks), fail: this.rng.chance(this.failRate) });
        this.host.started(w.id, taskId, attempt);
      }
    } else if (c !== null && now > c.untilTick) w.confirm = null;
    if (w.confirm === null && seen.size > 0) {
      const context = `xext/${w.id}/${now}`; // "x": the cluster routes it to the scheduler model
      if (this.host.readIndex(leader, context)) w.confirm = { context, batch: seen, untilTick: now + CONFIRM_TIMEOUT_TICKS, index: null };
    }
  }

  private sendReports(w: ExternalWorker, leader: SimNode): void {
    for (const [taskId, r] of w.outbox) {
      if (r.inFlight) continue;
      const verdict = externalReportVerdict(leader.tasks.getTask(taskId), w.id, r.attempt);
      if (verdict !== "propose") {
        if (verdict === "stale") this.host.refused();
        w.outbox.delete(taskId);
        continue;
      }
      const nowMs = this.host.tick * TICK_MS;
      const command: Command =
        r.kind === "complete"
          ? { type: "complete", id: taskId, attempt: r.attempt }
          : { type: "fail", id: taskId, attempt: r.attempt, retryAtMs: retryAtMs(nowMs, r.attempt) };
      r.inFlight = true;
      const ok = this.host.propose(leader, command, `${w.id} ${r.kind} ${taskId}#${r.attempt}`, (o) => {
        r.inFlight = false;
        // Answered (accepted, or refused by the table): done. Lost: sent again to this or the next leader.
        if (o.applied && w.outbox.get(taskId) === r) w.outbox.delete(taskId);
        if (o.applied && o.result && !o.result.ok) this.host.refused();
      });
      if (!ok) r.inFlight = false;
    }
  }
}

/** attemptOnOneWorker: every (task, attempt) starts on one worker only (a member restarting its own attempt after
 *  a crash is the same worker). */
export class AttemptOwners {
  private readonly owners = new Map<string, string>();

  started(seed: number, tick: number, worker: string, taskId: string, attempt: number): Violation | null {
    const key = `${taskId}#${attempt}`;
    const owner = this.owners.get(key);
    if (owner === undefined) {
      this.owners.set(key, worker);
      return null;
    }
    if (owner === worker) return null;
    return { checker: "attemptOnOneWorker", seed, tick, detail: `attempt ${attempt} of ${taskId} started on ${owner} and on ${worker}` };
  }
}
