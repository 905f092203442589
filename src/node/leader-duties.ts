// What only the leader does, on a timer: watch every member's heartbeat, commit "worker dead" / "worker alive",
// and assign pending tasks by the placement strategy. Every decision is made here, before proposing, and written
// into the command, so apply() on every replica stays deterministic.
//
// Heartbeats are the members' Raft traffic (append and heartbeat responses): a member that answers the leader is
// alive. A new leader grants every member one full workerTimeoutMs of grace before it may declare anyone dead
// (hashicorp/nomad resets heartbeat TTLs after an election for the same reason): no mass reassignment merely
// because leadership moved.
import type { Logger } from "pino";
import type { Command } from "../scheduler/commands.js";
import type { StrategyName } from "../config/cluster-file.js";
import type { TaskTable } from "../scheduler/table.js";
import { planAssignmentsWithDue, retryAtMs } from "../scheduler/planner.js";
import type { ApplyResult } from "../scheduler/types.js";
import { AttemptDeadlines, DueTimer, expiredAttempts, timeoutFail } from "./attempt-deadlines.js";
import { errorMessage } from "../util/errors.js";
import { type LivenessCommand, decideWorkerLiveness } from "./worker-liveness.js";
import { LingeringLedger } from "./lingering-handlers.js";
import { LifecycleDuties } from "./lifecycle-duties.js";
import { RETENTION_DEFAULTS, type RetentionPolicy } from "../scheduler/task-retention.js";
import { ProgressBoard } from "./task-progress.js";
import { ExternalPresenceRegistry } from "./external-presence.js";
import { FORGET_DEAD_EXTERNAL_AFTER_TIMEOUTS } from "./external-worker-liveness.js";
import { PlacementPipeline, assignCommandsInFlightFor } from "./placement-pipeline.js";

const LIVENESS_LOG: Record<LivenessCommand["type"], string> = {
  workerRemoved: "worker removed: releasing its tasks",
  workerUp: "worker alive",
  workerDead: "worker silent: marking dead",
};

export interface LeaderDutiesOptions {
  readonly selfId: string;
  readonly logger: Logger;
  readonly table: () => TaskTable;
  readonly workerTimeoutMs: number;
  readonly strategy: StrategyName;
  readonly rng: () => number;
  /** Members that run tasks, with their capacity (voters and learners alike). */
  readonly workerMembers: () => ReadonlyMap<string, number>;
  /** A member's worker tags (the cluster file's), sorted; default none. */
  readonly memberTags?: (id: string) => readonly string[];
  /** Whether the latest configuration in the leader's log (applied or not) holds `id`. A worker missing from the
   *  applied membership but re-added by a later entry is not released (rejoin-leave-decision.ts). Default: no. */
  readonly inLatestConf?: (id: string) => boolean;
  readonly propose: (cmd: Command) => Promise<unknown>;
  readonly isLeader: () => boolean;
  readonly nowMs?: () => number;
  readonly everyMs?: number;
  /** Retention of terminal tasks (lifecycle-duties.ts); default RETENTION_DEFAULTS. */
  readonly retention?: RetentionPolicy;
}

export class LeaderDuties {
  private readonly o: LeaderDutiesOptions;
  private readonly lastHeardMs = new Map<string, number>();
  /** Members actually heard from since this node became leader. The grace period keeps a silent member from being
   *  declared dead, but only real contact registers one as alive: a member added and never started must not be
   *  given work. */
  private readonly contacted = new Set<string>();
  private leaderSinceMs = 0;
  private timer: NodeJS.Timeout | null = null;
  /** A nudged placement round is queued (setImmediate) and has not run yet. */
  private placementQueued = false;
  /** Assign commands and reports proposed, not applied yet (placement-pipeline.ts): placement counts their slots. */
  private readonly pipeline: PlacementPipeline;
  /** One liveness proposal per worker in flight at a time keeps the log free of duplicate decisions. */
  private readonly livenessInFlight = new Set<string>();
  private readonly now: () => number;
  /** Time from "silence detected" to "dead committed", for the reassignment-time metric. */
  readonly reassignments: Array<{ worker: string; silentMs: number; requeued: number }> = [];
  /** Slots the workers report held by lingering aborted handlers; placement counts them as occupied. */
  readonly lingering = new LingeringLedger();
  /** Retention and recurring schedules (issue 13). */
  readonly lifecycle: LifecycleDuties;
  /** Running attempts' deadlines (timeoutMs), on this leader's clock (attempt-deadlines.ts). */
  readonly deadlines = new AttemptDeadlines();
  /** Wakes a round when the next delayed task or deadline is due. */
  private readonly dueTimer: DueTimer;
  /** Running attempts' progress as reported to this leader (task-progress.ts): memory only. */
  readonly progress = new ProgressBoard();
  /** Timeout fails being proposed, by task id. */
  private readonly timingOut = new Set<string>();
  /** External workers connected to this leader (src/api/worker-hub.ts writes it). */
  readonly externals = new ExternalPresenceRegistry();
  /** Placement work of this process as leader, for the metrics (raftsched_placement_*): rounds that planned,
   *  rounds skipped because an assign command was still in flight, assign commands proposed and their assignments. */
  readonly placementCounts = { rounds: 0, skippedInFlight: 0, commands: 0, assignments: 0 };

  constructor(o: LeaderDutiesOptions) {
    this.o = o;
    this.now = o.nowMs ?? Date.now;
    const onError = (what: string, err: unknown) => o.logger.debug({ err: errorMessage(err) }, `${what}: proposal failed`);
    this.lifecycle = new LifecycleDuties({ table: o.table, retention: o.retention ?? RETENTION_DEFAULTS, propose: o.propose, nowMs: this.now, onError });
    this.dueTimer = new DueTimer(this.now, () => this.run());
    this.pipeline = new PlacementPipeline(assignCommandsInFlightFor(o.strategy));
  }

  start(): void {
    this.timer = setInterval(() => this.run(), this.o.everyMs ?? 20);
  }

  stop(): void {
    if (this.timer) clearInterval(this.timer);
    this.timer = null;
    this.dueTimer.cancel();
  }

  /** Any message from a member counts as a heartbeat. */
  heard(memberId: string): void {
    this.lastHeardMs.set(memberId, this.now());
    this.contacted.add(memberId);
  }

  /** Called when this node becomes leader: everyone starts with a full grace period. */
  becameLeader(): void {
    const now = this.now();
    this.leaderSinceMs = now;
    this.contacted.clear();
    // Counts told to an earlier leadership may be stale; workers with lingering handlers tell a new leader again.
    this.lingering.clear();
    this.externals.clear();
    this.pipeline.clear();
    for (const id of this.o.workerMembers().keys()) this.lastHeardMs.set(id, now);
    this.restartAttemptClocks(now);
    this.progress.clear(); // a new leader starts with no progress: the next reports refill it
  }

  /** A new leader cannot know when its predecessor started the running attempts: their clocks start now. */
  private restartAttemptClocks(now: number): void {
    this.deadlines.clear();
    this.timingOut.clear();
    let after: string | undefined;
    for (;;) {
      const page = this.o.table().listTasks({ state: "assigned", limit: 1000, ...(after !== undefined ? { after } : {}) });
      for (const t of page.tasks) if (t.timeoutMs !== null) this.deadlines.start(t.id, t.attempt, t.timeoutMs, now);
      if (page.next === null) break;
      after = page.next;
    }
  }

  /** An entry applied on this leader: the clocks of the attempts it started begin now; then a round soon. */
  applied(result: ApplyResult): void {
    if (result.ok && result.assigned !== undefined) {
      const now = this.now();
      for (const a of result.assigned) {
        const timeoutMs = this.o.table().getTask(a.taskId)?.timeoutMs ?? null;
        if (timeoutMs !== null) this.deadlines.start(a.taskId, a.attempt, timeoutMs, now);
      }
    }
    this.nudge();
  }

  /** Milliseconds since the member was last heard (leader's view), or null if never. */
  silenceMs(memberId: string): number | null {
    if (memberId === this.o.selfId) return 0;
    const t = this.lastHeardMs.get(memberId) ?? this.externals.get(memberId)?.lastHeardMs;
    return t === undefined ? null : this.now() - t;
  }

  /** Milliseconds since the member was last actually heard while this node leads (no grace period), or null when
   *  it has not been heard since: what the membership rule (reconfig-check.ts) calls alive. */
  heardSilenceMs(memberId: string): number | null {
    if (memberId === this.o.selfId) return 0;
    const t = this.lastHeardMs.get(memberId);
    return this.contacted.has(memberId) && t !== undefined ? this.now() - t : null;
  }

  /** Aborted handlers still running on `worker` as this leader knows them (its own executor's, for itself). */
  lingeringOf(worker: string): number {
    return this.lingering.view().get(worker) ?? 0;
  }

  /** A command this node (the leader) just proposed. A worker's report gives its slot back to placement at once,
   *  and a round runs now, so its assign command follows the report into the same write when the runner is busy
   *  (placement-pipeline.ts). Returns the proposal. */
  proposed<T>(cmd: Command, proposal: Promise<T>): Promise<T> {
    if ((cmd.type !== "complete" && cmd.type !== "fail") || !this.timer || !this.o.isLeader()) return proposal;
    const settle = this.pipeline.reportProposed(this.o.table().getTask(cmd.id), cmd.attempt);
    if (settle === null) return proposal;
    proposal.then(settle, settle);
    this.assign();
    return proposal;
  }

  /** Asks for an assignment round soon (after a submit or a completion). One round at most is queued: a Ready
   *  applying 50 entries nudges 50 times, and one round after them plans on the table they left. The round only
   *  places: liveness, deadlines and retention run on the timer (every 20 ms) and the due timer, so a busy leader
   *  does not rescan every worker per applied entry (200 external workers made that the leader's top cost). */
  nudge(): void {
    if (!this.timer || this.placementQueued) return;
    this.placementQueued = true;
    setImmediate(() => {
      this.placementQueued = false;
      if (this.o.isLeader()) this.assign();
    });
  }

  private run(): void {
    if (!this.o.isLeader()) return;
    this.checkLiveness();
    this.checkTimeouts();
    this.assign();
    this.lifecycle.run();
  }

  /** Proposes TIMEOUT fails for attempts past their deadline (retried like any failure). */
  private checkTimeouts(): void {
    const now = this.now();
    const table = this.o.table();
    const { expired, stale } = expiredAttempts(this.deadlines.clocks, now, (id) => table.getTask(id));
    for (const id of stale) this.deadlines.forget(id);
    for (const { id, clock } of expired) {
      if (this.timingOut.has(id)) continue;
      this.timingOut.add(id);
      this.o
        .propose(timeoutFail(id, clock, retryAtMs(now, clock.attempt)))
        .then(() => this.o.logger.info({ task: id, attempt: clock.attempt, timeoutMs: clock.timeoutMs }, "attempt timed out"))
        .catch((err) => this.o.logger.debug({ task: id, err: errorMessage(err) }, "timeout fail: proposal failed"))
        .finally(() => this.timingOut.delete(id));
    }
    this.dueTimer.armAt(this.deadlines.nextDeadlineMs(this.timingOut));
  }

  private checkLiveness(): void {
    const decisions = decideWorkerLiveness({
      selfId: this.o.selfId,
      nowMs: this.now(),
      workerTimeoutMs: this.o.workerTimeoutMs,
      leaderSinceMs: this.leaderSinceMs,
      members: this.o.workerMembers(),
      registered: this.o.table().workers(),
      lastHeardMs: (id) => this.lastHeardMs.get(id),
      contacted: (id) => this.contacted.has(id),
      inFlight: (id) => this.livenessInFlight.has(id),
      inLatestConf: (id) => this.o.inLatestConf?.(id) ?? false,
      ...(this.o.memberTags ? { memberTags: this.o.memberTags } : {}),
      externals: this.externals.view(),
    });
    this.forgetGoneExternals();
    for (const d of decisions) this.proposeLiveness(d.worker, d.command, LIVENESS_LOG[d.command.type], d.silentMs);
  }

  /** Presence of workers long disconnected and no longer in the table: nothing will ask about them again. */
  private forgetGoneExternals(): void {
    const forgetAfterMs = FORGET_DEAD_EXTERNAL_AFTER_TIMEOUTS * this.o.workerTimeoutMs;
    const table = this.o.table();
    for (const [id, p] of this.externals.view()) {
      if (!p.connected && this.now() - p.lastHeardMs > forgetAfterMs && table.getWorker(id) === undefined) this.externals.forget(id);
    }
  }

  private proposeLiveness(id: string, cmd: Command, what: string, silentMs?: number): void {
    this.livenessInFlight.add(id);
    this.o
      .propose(cmd)
      .then((res) => {
        const requeued = (res as { requeued?: readonly string[] } | undefined)?.requeued ?? [];
        this.o.logger.info({ worker: id, silentMs, requeued: requeued.length }, what);
        if (cmd.type === "workerDead") {
          this.reassignments.push({ worker: id, silentMs: silentMs ?? 0, requeued: requeued.length });
          if (this.reassignments.length > 1000) this.reassignments.shift();
        }
        this.nudge();
      })
      .catch((err) => this.o.logger.debug({ worker: id, err: errorMessage(err) }, `${what}: proposal failed`))
      .finally(() => this.livenessInFlight.delete(id));
  }

  private assign(): void {
    if (!this.pipeline.canPropose) {
      this.placementCounts.skippedInFlight++;
      return;
    }
    this.placementCounts.rounds++;
    const lingering = this.pipeline.occupied(this.lingering.view());
    const inFlight = this.pipeline.inFlightTasks;
    const plan = planAssignmentsWithDue(this.o.table(), { nowMs: this.now(), strategy: this.o.strategy, rng: this.o.rng, lingering, inFlight });
    this.dueTimer.armAt(plan.nextDueMs);
    const cmd = plan.command;
    if (!cmd) return;
    this.placementCounts.commands++;
    this.placementCounts.assignments += cmd.assignments.length;
    const settle = this.pipeline.assignProposed(cmd);
    this.o
      .propose(cmd)
      .catch((err) => this.o.logger.debug({ err: errorMessage(err) }, "assignment proposal failed"))
      .finally(settle);
  }
}
