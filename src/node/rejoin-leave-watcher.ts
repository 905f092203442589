// The node's side of "removed: stop the process", by the rule in rejoin-leave-decision.ts. It remembers whether
// this node applied its own removal and the highest commit index a leader sent it, and decides on a timer: first
// REMOVAL_GRACE_MS after the removal is applied (so the removal's own Ready finishes, and the leader's commit of it
// still reaches the former followers), then again every REMOVAL_GRACE_MS while the answer is "wait". Applying its
// re-addition cancels a pending exit.
import type { Logger } from "pino";
import type { ConfChange, ConfState, Message, NodeId } from "../raft/types.js";
import { type BrokenLeaveRules, decideLeave, isMember } from "./rejoin-leave-decision.js";

const REMOVAL_GRACE_MS = 500;

export interface RejoinLeaveWatcherOptions {
  readonly selfId: NodeId;
  readonly logger: Logger;
  /** The configuration at the applied index (the core's). */
  readonly appliedConf: () => ConfState;
  /** The configuration of the last config entry in the log, applied or not. */
  readonly latestConf: () => ConfState;
  readonly appliedIndex: () => number;
  /** Called once, when this node leaves. */
  readonly onLeave: () => void;
  readonly brokenRules?: BrokenLeaveRules;
}

export class RejoinLeaveWatcher {
  private removalApplied = false;
  private leaderCommitHeard = 0;
  private timer: NodeJS.Timeout | null = null;
  private waitingLogged = false;
  private left = false;

  constructor(private readonly o: RejoinLeaveWatcherOptions) {}

  /** Every message from a peer: appends and heartbeats carry the leader's commit index. */
  heard(m: Message): void {
    if ((m.type === "append" || m.type === "heartbeat") && m.commit > this.leaderCommitHeard) this.leaderCommitHeard = m.commit;
  }

  /** A membership change was applied here (from the log). */
  onConfChangeApplied(cc: ConfChange, indexApplied: number): void {
    if (cc.id !== this.o.selfId) return;
    if (cc.op === "remove") {
      this.removalApplied = true;
      this.o.logger.warn({ index: indexApplied }, "this node was removed from the cluster: it no longer takes part and will stop unless its log adds it back");
      this.schedule();
    } else if (this.removalApplied && !this.o.brokenRules?.leaveOnAnyRemoval) {
      this.cancel(indexApplied);
    }
  }

  /** The state machine was replaced by a snapshot: its configuration may hold this node again. */
  onSnapshotRestored(conf: ConfState, index: number): void {
    if (this.removalApplied && isMember(conf, this.o.selfId) && !this.o.brokenRules?.leaveOnAnyRemoval) this.cancel(index);
  }

  stop(): void {
    if (this.timer) clearTimeout(this.timer);
    this.timer = null;
  }

  private cancel(index: number): void {
    this.removalApplied = false;
    this.waitingLogged = false;
    this.stop();
    this.o.logger.info({ index }, "this node was added back to the cluster: it stays (a pending exit is cancelled)");
  }

  private schedule(): void {
    if (this.timer || this.left) return;
    this.timer = setTimeout(() => {
      this.timer = null;
      this.check();
    }, REMOVAL_GRACE_MS);
    this.timer.unref();
  }

  private check(): void {
    const input = {
      selfId: this.o.selfId,
      removalApplied: this.removalApplied,
      appliedConf: this.o.appliedConf(),
      latestConf: this.o.latestConf(),
      appliedIndex: this.o.appliedIndex(),
      leaderCommitHeard: this.leaderCommitHeard,
    };
    const decision = decideLeave(input, this.o.brokenRules);
    if (decision === "leave") {
      this.left = true;
      this.o.onLeave();
    } else if (decision === "wait") {
      if (!this.waitingLogged) {
        this.waitingLogged = true;
        this.o.logger.info(
          { appliedIndex: input.appliedIndex, leaderCommitHeard: input.leaderCommitHeard, latestConf: input.latestConf },
          "removed as far as applied, but the log or the leader's commit index may add this node back: not leaving yet",
        );
      }
      this.schedule();
    }
  }
}
