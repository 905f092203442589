// When a node that applied its own removal may leave (stop its process), and which configuration a node acts on
// while it catches up. Pure: the node (src/node/rejoin-leave-watcher.ts) and the simulator (test/sim) both call it.
//
// Why this rule. A node catching up replays history: README "Deploying" step 6 removes a node, wipes it, starts it
// with --join and adds the same id back, and the rejoining node then receives the log (or a snapshot taken before
// the removal, then the log) and applies its OWN OLD removal before it applies its re-addition. Leaving on applying
// "remove self" made it exit although the cluster counts it as a voter again (issue #16): a dead voter, and a
// second round of the procedure lost quorum.
//
// In Raft terms: a server uses the latest configuration in its log, whether or not that entry is committed
// (dissertation §4.1; hashicorp/raft's `latest` configuration beside `committed`; etcd applies a ConfChange when it
// is applied, and a ConfState is what a node acts on only once it has applied everything it knows committed). So a
// node leaves only when
//   1. it applied a removal of itself (nothing else ever makes it leave: a joining node with an empty
//      configuration waits to be added),
//   2. the configuration it has applied lacks it, AND the latest configuration in its log (applied or not) lacks
//      it too: an entry that adds it back, even uncommitted, means the leader that wrote it counts it as a member,
//   3. and it has applied everything the leader has told it is committed (appliedIndex >= the highest commit index
//      heard in an append or heartbeat): entries not received yet may re-add it; a removal that is the end of the
//      committed history it knows of is final.
// Safety is untouched either way: leaving only stops a process. Staying is the conservative choice: a removed node
// that stays is ignored by the members (it is in no configuration, pre-vote keeps it from disrupting terms), while
// a member that leaves costs the cluster a voter. So when in doubt (not caught up) the node waits; a removed node
// that never catches up (its leader dropped it mid-catch-up) keeps running until the operator stops it.
import { applyConfChange, decodeConfChange } from "../raft/confchange.js";
import type { ConfState, Entry, NodeId } from "../raft/types.js";

export interface LeaveDecisionInput {
  readonly selfId: NodeId;
  /** This node applied a change that removed it, and applied none since that added it back. */
  readonly removalApplied: boolean;
  /** The configuration at the node's applied index. */
  readonly appliedConf: ConfState;
  /** The configuration of the last config entry in the node's log (appliedConf when there is none after it). */
  readonly latestConf: ConfState;
  readonly appliedIndex: number;
  /** The highest commit index a leader sent this node (appends and heartbeats), this process's lifetime. */
  readonly leaderCommitHeard: number;
}

/** Deliberately broken rules, for proving that the simulator's checker fires. Never set outside tests. */
export interface BrokenLeaveRules {
  /** Leave on applying any removal of self, as before issue #16 (a replayed old removal included): a later
   *  re-addition does not cancel the exit (the caller keeps its removal flag set, as the old timer did). */
  readonly leaveOnAnyRemoval?: boolean;
}

/** "stay": no removal to act on. "wait": removed as far as applied, but the log or the leader's commit index says
 *  more may come (ask again later). "leave": removed for good, as far as this node can know. */
export type LeaveDecision = "stay" | "wait" | "leave";

export function decideLeave(i: LeaveDecisionInput, broken: BrokenLeaveRules = {}): LeaveDecision {
  if (!i.removalApplied) return "stay";
  if (broken.leaveOnAnyRemoval) return "leave";
  if (isMember(i.appliedConf, i.selfId)) return "stay";
  if (isMember(i.latestConf, i.selfId)) return "wait";
  if (i.appliedIndex < i.leaderCommitHeard) return "wait";
  return "leave";
}

export function isMember(conf: ConfState, id: NodeId): boolean {
  return conf.voters.includes(id) || conf.learners.includes(id);
}

/** The configuration after every config entry of `entries` (the log after the point where `base` holds), the way
 *  the core would apply them: an undecodable one changes nothing. */
export function latestConfInLog(base: ConfState, entries: readonly Entry[]): ConfState {
  let conf = base;
  for (const e of entries) {
    if (e.kind !== "config") continue;
    try {
      conf = applyConfChange(conf, decodeConfChange(e.data));
    } catch {
      // ignored like the core ignores it
    }
  }
  return conf;
}

/** Members of either configuration: whom a catching-up node keeps links to and whose storage ids it remembers. A
 *  replayed removal that a later entry in its log undoes must not drop a link or forget a peer's disk. */
export function membersOfEither(a: ConfState, b: ConfState): Set<NodeId> {
  return new Set([...a.voters, ...a.learners, ...b.voters, ...b.learners]);
}
