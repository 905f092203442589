// Issue #18 point 1 in the simulator: membership changes go through the production rule (src/node/reconfig-check.ts),
// and a checker proves no change that passes it costs the cluster its quorum.
//
// The checker judges each change at the moment it is proposed, against the simulator's ground truth rather than
// the leader's view: a member down for longer than an election timeout plus the longest network delay cannot have
// been heard by the leader within the last election timeout. A promotion of such a member, or any change after
// which the voters that are up are not a majority, loses the cluster its availability until a node comes back.
// The rule must make this impossible; with the `skipReconfigCheck` broken-rule switch the targeted scenario below
// shows the checker firing and the cluster stopping.
import type { ConfChange, NodeId } from "../../src/raft/types.js";
import { SimCluster, type SimResult } from "./cluster.js";
import type { Violation } from "./view.js";

/** Ticks after which a crashed member certainly went unheard for an election timeout (30 ticks + 9 of delay). */
export const DOWN_LONG_TICKS = 40;

export interface ReconfigDecision {
  readonly seed: number;
  readonly tick: number;
  readonly change: ConfChange;
  readonly voters: readonly NodeId[];
  /** Ticks the member has been down, or null while it is up. */
  readonly downForTicks: (id: NodeId) => number | null;
}

/** The violation a proposed change commits against the ground truth, or null. */
export function reconfigQuorumLoss(d: ReconfigDecision): Violation | null {
  const downLong = (id: NodeId) => (d.downForTicks(id) ?? -1) >= DOWN_LONG_TICKS;
  const { change } = d;
  const after =
    change.op === "remove" ? d.voters.filter((v) => v !== change.id) : change.op === "addVoter" && !d.voters.includes(change.id) ? [...d.voters, change.id] : [...d.voters];
  const up = after.filter((id) => !downLong(id));
  const promotedDead = change.op === "addVoter" && !d.voters.includes(change.id) && downLong(change.id);
  if (!promotedDead && (after.length === 0 || up.length * 2 > after.length)) return null;
  const down = after.filter(downLong).map((id) => `${id} (down ${d.downForTicks(id)} ticks)`);
  return {
    checker: "reconfigQuorumLoss",
    seed: d.seed,
    tick: d.tick,
    detail: `${change.op} ${change.id} proposed with ${up.length} of ${after.length} voters after it up${promotedDead ? `, promoting a member down ${d.downForTicks(change.id)} ticks` : ""}: ${down.join(", ")}; the cluster cannot commit until one comes back`,
  };
}

export interface DeadLearnerPromotionResult {
  readonly result: SimResult;
  /** The learner caught up before it was crashed. */
  readonly learnerCaughtUp: boolean;
  /** The promotion went into the log (refused by the rule, it does not). */
  readonly promotionProposed: boolean;
  /** Proposals made after the promotion attempt committed on the leader while the two nodes stayed down. */
  readonly committedAfter: boolean;
}

/**
 * The issue's schedule: 3 voters, one crashed for good; a fourth node joins as a learner and catches up; it crashes
 * too; 3 s (300 ticks) later the leader is asked to promote it. The rule refuses (LEARNER_NOT_READY) and the two
 * voters left keep committing. With `skipReconfigCheck` the promotion is proposed and commits (2 of 4 voters up
 * still hold the promotion's quorum under the old configuration), after which nothing commits.
 */
export function runDeadLearnerPromotion(seed: number, opts: { skipReconfigCheck?: boolean; trace?: boolean } = {}): DeadLearnerPromotionResult {
  const sim = new SimCluster({
    seed,
    nodes: 3,
    scripted: true,
    continueAfterViolation: true,
    trace: opts.trace ?? false,
    network: { minDelayTicks: 1, maxDelayTicks: 2, dropRate: 0, duplicateRate: 0 },
    maxFsyncTicks: 1,
    ...(opts.skipReconfigCheck ? { skipReconfigCheck: true } : {}),
  });
  const out = { learnerCaughtUp: false, promotionProposed: false, committedAfter: false };
  const done = () => ({ result: sim.result(), ...out });
  sim.start();
  if (!sim.runUntil(() => sim.leader() !== null && sim.nodes.every((n) => n.applied.length >= 1), 400)) return done();
  const leader = sim.leader()!.id;
  sim.crashNode(sim.nodes.find((n) => n.id !== leader)!.id, "for good (one of three voters down)");
  const joiner = sim.addJoiningNode(true).id;
  const add = sim.proposeCheckedConfChange(leader, { op: "addLearner", id: joiner });
  if (!add || !sim.runUntil(() => sim.node(leader).applied.length >= add.index, 200)) return done();
  const warm = sim.proposeTo(leader, "while-learning");
  out.learnerCaughtUp = warm !== null && sim.runUntil(() => sim.node(joiner).applied.length >= warm.index, 300);
  if (!out.learnerCaughtUp) return done();

  sim.crashNode(joiner, "after catching up (the learner dies)");
  sim.runUntil(() => false, 300);
  const promote = sim.proposeCheckedConfChange(leader, { op: "addVoter", id: joiner });
  out.promotionProposed = promote !== null;
  if (promote) sim.runUntil(() => sim.node(leader).applied.length >= promote.index, 200);
  const after = sim.proposeTo(leader, "after-promotion");
  out.committedAfter = after !== null && sim.runUntil(() => sim.node(leader).applied.length >= after.index, 300);
  if (!out.committedAfter && !sim.halted) sim.note("no commit after the promotion: the cluster lost its quorum");
  return done();
}
