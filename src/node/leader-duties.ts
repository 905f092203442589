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
import { planAssignments } from "../scheduler/planner.js";
import { errorMessage } from "../util/errors.js";
import { type LivenessCommand, decideWorkerLiveness } from "./worker-liveness.js";
import { LingeringLedger } from "./lingering-handlers.js";
import { ExternalPresenceRegistry } from "./external-presence.js";
import { FORGET_DEAD_EXTERNAL_AFTER_TIMEOUTS } from "./external-worker-liveness.js";

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
  /** Whether the latest configuration in the leader's log (applied or not) holds `id`. A worker missing from the
   *  applied membership but re-added by a later entry is not released (rejoin-leave-decision.ts). Default: no. */
  readonly inLatestConf?: (id: string) => boolean;
  readonly propose: (cmd: Command) => Promise<unknown>;
  readonly isLeader: () => boolean;
  readonly nowMs?: () => number;
  readonly everyMs?: number;
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
  /** One proposal of each kind in flight at a time keeps the log free of duplicate decisions. */
  private assigning = false;
  private readonly livenessInFlight = new Set<string>();
  private readonly now: () => number;
  /** Time from "silence detected" to "dead committed", for the reassignment-time metric. */
  readonly reassignments: Array<{ worker: string; silentMs: number; requeued: number }> = [];
  /** Slots the workers report held by lingering aborted handlers; placement counts them as occupied. */
  readonly lingering = new LingeringLedger();
  /** External workers connected to this leader (src/api/worker-hub.ts writes it). */
  readonly externals = new ExternalPresenceRegistry();

  constructor(o: LeaderDutiesOptions) {
    this.o = o;
    this.now = o.nowMs ?? Date.now;
  }

  start(): void {
    this.timer = setInterval(() => this.run(), this.o.everyMs ?? 20);
  }

  stop(): void {
    if (this.timer) clearInterval(this.timer);
    this.timer = null;
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
    for (const id of this.o.workerMembers().keys()) this.lastHeardMs.set(id, now);
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

  /** Asks for an assignment round soon (after a submit or a completion). */
  nudge(): void {
    if (this.timer) setImmediate(() => this.run());
  }

  private run(): void {
    if (!this.o.isLeader()) return;
    this.checkLiveness();
    this.assign();
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
    if (this.assigning) return;
    const lingering = this.lingering.view();
    const cmd = planAssignments(this.o.table(), { nowMs: this.now(), strategy: this.o.strategy, rng: this.o.rng, lingering });
    if (!cmd) return;
    this.assigning = true;
    this.o
      .propose(cmd)
      .catch((err) => this.o.logger.debug({ err: errorMessage(err) }, "assignment proposal failed"))
      .finally(() => {
        this.assigning = false;
      });
  }
}
