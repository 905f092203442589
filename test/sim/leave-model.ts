// What a real node does after applying its own removal (src/node/rejoin-leave-watcher.ts), on simulated time: it
// asks the production rule (src/node/rejoin-leave-decision.ts) LEAVE_GRACE_TICKS after the removal is applied, and
// again every LEAVE_GRACE_TICKS while the answer is "wait"; on "leave" the cluster stops the node for good. A
// re-addition applied (from an entry or a snapshot) cancels the pending exit. State lives per incarnation: a crash
// or a restart forgets it, as a process does.
import { decodeConfChange } from "../../src/raft/confchange.js";
import type { Entry, Message, NodeId, Snapshot } from "../../src/raft/types.js";
import { type BrokenLeaveRules, decideLeave, isMember, latestConfInLog } from "../../src/node/rejoin-leave-decision.js";
import type { SimNode } from "./node.js";

/** 500 ms, the real node's grace. */
export const LEAVE_GRACE_TICKS = 50;

interface LeaveState {
  removalApplied: boolean;
  leaderCommitHeard: number;
  checkAtTick: number | null;
}

export class SimLeaveModel {
  private readonly states = new Map<NodeId, LeaveState>();

  constructor(private readonly broken: BrokenLeaveRules = {}) {}

  private state(id: NodeId): LeaveState {
    let s = this.states.get(id);
    if (!s) {
      s = { removalApplied: false, leaderCommitHeard: 0, checkAtTick: null };
      this.states.set(id, s);
    }
    return s;
  }

  /** A message reached `to`'s core: appends and heartbeats carry the leader's commit index. */
  heard(to: NodeId, m: Message): void {
    if (m.type !== "append" && m.type !== "heartbeat") return;
    const s = this.state(to);
    if (m.commit > s.leaderCommitHeard) s.leaderCommitHeard = m.commit;
  }

  /** `node` applied `e`: its own removal arms the check, its own addition cancels it. */
  applied(node: SimNode, e: Entry, now: number): void {
    if (e.kind !== "config") return;
    let id: NodeId;
    let op: string;
    try {
      ({ id, op } = decodeConfChange(e.data));
    } catch {
      return;
    }
    if (id !== node.id) return;
    const s = this.state(node.id);
    if (op === "remove") {
      s.removalApplied = true;
      s.checkAtTick ??= now + LEAVE_GRACE_TICKS;
    } else if (!this.broken.leaveOnAnyRemoval) {
      s.removalApplied = false;
      s.checkAtTick = null;
    }
  }

  restored(node: SimNode, snap: Snapshot): void {
    const s = this.state(node.id);
    if (s.removalApplied && isMember(snap.meta.conf, node.id) && !this.broken.leaveOnAnyRemoval) {
      s.removalApplied = false;
      s.checkAtTick = null;
    }
  }

  /** The process ended (crash, retirement) or started again: what it knew is gone. */
  reset(id: NodeId): void {
    this.states.delete(id);
  }

  /** Nodes whose check is due and whose answer is "leave"; reschedules the ones that must wait. */
  leaving(nodes: readonly SimNode[], now: number): SimNode[] {
    const out: SimNode[] = [];
    for (const n of nodes) {
      const s = this.states.get(n.id);
      if (!s || s.checkAtTick === null || s.checkAtTick > now || !n.core) continue;
      const decision = decideLeave(
        {
          selfId: n.id,
          removalApplied: s.removalApplied,
          appliedConf: n.conf,
          latestConf: latestConfInLog(n.conf, n.log.slice(n.applied.length)),
          appliedIndex: n.applied.length,
          leaderCommitHeard: s.leaderCommitHeard,
        },
        this.broken,
      );
      if (decision === "leave") out.push(n);
      s.checkAtTick = decision === "wait" ? now + LEAVE_GRACE_TICKS : null;
    }
    return out;
  }
}
