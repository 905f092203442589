// The leader's rule for membership changes, as one pure function that the node (src/api/node-api.ts) and the
// simulator's membership changer (test/sim/membership.ts) both call.
//
// Two refusals, both answered 409 (the change is refused for the cluster's present state; retry once it changes):
// - LEARNER_NOT_READY: a voter is added only from a learner that is alive and caught up NOW: heard by the leader
//   within the last election timeout and within PROMOTION_MAX_LAG_ENTRIES of the leader's last index. Promoting a
//   learner that was caught up once but has since died or been paused turned a 3-voter cluster with one voter
//   down into 4 voters with 2 alive: no quorum, no leader, and no way to undo the promotion (issue #18, point 1).
// - UNSAFE_RECONFIG: etcd's --strict-reconfig-check. After the change, the voters the leader can hear (itself
//   included) must still be a majority of the voters; otherwise the change itself would cost the quorum. Removing
//   a dead voter passes when the rest keep a majority: it is how an operator recovers.
import type { RaftStatus } from "../raft/api.js";
import type { NodeId } from "../raft/types.js";
import { RaftschedError } from "../util/errors.js";

/** A learner further than this behind the leader's last index is not promoted (it would stall commits). */
export const PROMOTION_MAX_LAG_ENTRIES = 100;

/** What the leader knows of one other member. */
export interface MemberContact {
  /** Milliseconds since the leader last heard from the member while leading; null when not heard at all. */
  readonly silenceMs: number | null;
  /** The member's match index in the leader's progress (0 when unknown). */
  readonly matchIndex: number;
}

export interface ReconfigView {
  readonly leaderId: NodeId;
  readonly voters: readonly NodeId[];
  readonly learners: readonly NodeId[];
  readonly leaderLastIndex: number;
  /** A member is alive when heard within this (the upper end of the election timeout range). */
  readonly electionTimeoutMs: number;
  /** Every member except the leader; a member missing here has never been heard. */
  readonly contact: Readonly<Record<NodeId, MemberContact>>;
}

export interface ReconfigChange {
  readonly op: "addLearner" | "addVoter" | "remove";
  readonly id: NodeId;
}

export type ReconfigRefusalReason = "notALearner" | "learnerSilent" | "learnerBehind" | "quorumAfterChange";

export interface ReconfigRefusal {
  readonly code: "LEARNER_NOT_READY" | "UNSAFE_RECONFIG";
  /** Machine-readable detail: a caller may wait out "learnerBehind" (it is catching up) but not the others. */
  readonly reason: ReconfigRefusalReason;
  readonly message: string;
}

/** Whether the leader heard `id` within the last election timeout (the leader always hears itself). */
export function heardRecently(view: ReconfigView, id: NodeId): boolean {
  if (id === view.leaderId) return true;
  const silence = view.contact[id]?.silenceMs;
  return silence !== null && silence !== undefined && silence <= view.electionTimeoutMs;
}

/** The refusal for `change` in the cluster as `view` shows it, or null when the change may be proposed. */
export function reconfigRefusal(view: ReconfigView, change: ReconfigChange): ReconfigRefusal | null {
  if (change.op === "addVoter" && !view.voters.includes(change.id)) {
    const notReady = promotionRefusal(view, change.id);
    if (notReady) return notReady;
  }
  const votersAfter = votersAfterChange(view.voters, change);
  const heard = votersAfter.filter((id) => heardRecently(view, id));
  if (votersAfter.length > 0 && heard.length * 2 <= votersAfter.length) {
    const silent = votersAfter.filter((id) => !heardRecently(view, id));
    return {
      code: "UNSAFE_RECONFIG",
      reason: "quorumAfterChange",
      message:
        `${describe(change)} would leave ${heard.length} of ${votersAfter.length} voters reachable by the leader, not a majority ` +
        `(not heard within ${view.electionTimeoutMs} ms: ${silent.join(", ")}); bring those members back or remove a dead one first`,
    };
  }
  return null;
}

function promotionRefusal(view: ReconfigView, id: NodeId): ReconfigRefusal | null {
  if (!view.learners.includes(id)) {
    return { code: "LEARNER_NOT_READY", reason: "notALearner", message: `"${id}" is not a learner: add it as a learner first, and promote it once it has caught up` };
  }
  const contact = view.contact[id];
  if (!heardRecently(view, id)) {
    const silence = contact?.silenceMs;
    const when = silence === null || silence === undefined ? "has not been heard by this leader" : `was last heard ${Math.round(silence)} ms ago`;
    return {
      code: "LEARNER_NOT_READY",
      reason: "learnerSilent",
      message: `learner "${id}" ${when} (alive means heard within ${view.electionTimeoutMs} ms): promoting a dead learner could cost the cluster its quorum; it stays a learner`,
    };
  }
  const match = contact?.matchIndex ?? 0;
  const lag = view.leaderLastIndex - match;
  if (match <= 0 || lag > PROMOTION_MAX_LAG_ENTRIES) {
    return {
      code: "LEARNER_NOT_READY",
      reason: "learnerBehind",
      message: `learner "${id}" is ${match <= 0 ? "not yet replicating" : `${lag} entries behind the leader`} (at most ${PROMOTION_MAX_LAG_ENTRIES} allowed); it stays a learner until it catches up`,
    };
  }
  return null;
}

function votersAfterChange(voters: readonly NodeId[], change: ReconfigChange): NodeId[] {
  if (change.op === "remove") return voters.filter((v) => v !== change.id);
  if (change.op === "addVoter" && !voters.includes(change.id)) return [...voters, change.id];
  return [...voters];
}

function describe(change: ReconfigChange): string {
  return change.op === "remove" ? `removing "${change.id}"` : change.op === "addVoter" ? `promoting "${change.id}" to voter` : `adding "${change.id}" as a learner`;
}

/** The view from a leader's core status and its record of when it last heard each member. */
export function reconfigViewOf(st: RaftStatus, silenceMs: (id: NodeId) => number | null, electionTimeoutMs: number): ReconfigView {
  const contact: Record<NodeId, MemberContact> = {};
  for (const id of [...st.conf.voters, ...st.conf.learners]) {
    if (id !== st.id) contact[id] = { silenceMs: silenceMs(id), matchIndex: st.progress?.[id]?.match ?? 0 };
  }
  return { leaderId: st.id, voters: st.conf.voters, learners: st.conf.learners, leaderLastIndex: st.lastIndex, electionTimeoutMs, contact };
}

export interface AwaitReconfigOptions {
  readonly view: () => ReconfigView;
  readonly isLeader: () => boolean;
  /** A refusal that may be momentary (a member's heartbeat answer late on a loaded machine) is re-checked this long
   *  before it is answered. */
  readonly settleMs: number;
  /** How long a learner may take to catch up (and, when this request just added it, to be heard at all). */
  readonly catchUpMs: number;
  /** The learner was added by this same request: not having been heard yet is expected, not a sign of death. */
  readonly freshLearner?: boolean;
  readonly sleep?: (ms: number) => Promise<void>;
  readonly nowMs?: () => number;
}

/** Resolves once `change` passes the rule; throws the refusal (409) when it still does not after its wait, and
 *  NOT_LEADER when leadership moves meanwhile. */
export async function awaitReconfigAllowed(change: ReconfigChange, o: AwaitReconfigOptions): Promise<void> {
  const now = o.nowMs ?? Date.now;
  const sleep = o.sleep ?? ((ms: number) => new Promise<void>((r) => setTimeout(r, ms)));
  const startedMs = now();
  for (;;) {
    if (!o.isLeader()) throw new RaftschedError("NOT_LEADER", "leadership moved while the membership change waited; retry");
    const refusal = reconfigRefusal(o.view(), change);
    if (refusal === null) return;
    const catchingUp = refusal.reason === "learnerBehind" || (refusal.reason === "learnerSilent" && o.freshLearner === true);
    if (now() - startedMs >= (catchingUp ? o.catchUpMs : o.settleMs)) throw new RaftschedError(refusal.code, refusal.message);
    await sleep(50);
  }
}
