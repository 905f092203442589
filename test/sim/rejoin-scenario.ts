// README "Deploying" step 6 in the simulator (issue #16): a follower is removed, loses its disk, starts empty with
// --join and is added back under the same id. It catches up from the log (replaying its own old removal) or from
// a snapshot taken before the removal (then the log after it), and must stay: the leave rule
// (src/node/rejoin-leave-decision.ts) sees its re-addition in its log, or a leader commit index it has not reached.
// With one entry per append the removal arrives alone, before the re-addition is even in its log.
import type { NodeId } from "../../src/raft/types.js";
import type { BrokenLeaveRules } from "../../src/node/rejoin-leave-decision.js";
import { SimCluster, type SimResult } from "./cluster.js";

export interface RejoinOptions {
  /** Every member snapshots (and compacts its log) before the removal: the rejoining node gets that snapshot. */
  readonly viaSnapshot: boolean;
  /** Entries per append and appends in flight (1 and 1: the log arrives one entry per round trip, so the node
   *  applies its old removal long before the re-addition reaches its log). */
  readonly maxEntriesPerMsg?: number;
  readonly maxInflightMsgs?: number;
  /** Rounds of the procedure on the same cluster (a different follower each time when there is one). */
  readonly rounds?: number;
  readonly brokenLeave?: BrokenLeaveRules;
  readonly trace?: boolean;
}

export interface RejoinResult {
  readonly result: SimResult;
  /** Rounds whose node applied its own old removal again while catching up (the dangerous replay happened). */
  readonly replayedRemoval: number;
  /** Rounds whose node caught up from a snapshot older than its removal. */
  readonly caughtUpViaSnapshot: number;
  /** Rounds whose node ended as a live voter that applied the last entry proposed. */
  readonly rejoinedAsVoter: number;
}

export function runRemovedIdRejoins(seed: number, opts: RejoinOptions): RejoinResult {
  const sim = new SimCluster({
    seed,
    nodes: 3,
    scripted: true,
    trace: opts.trace ?? false,
    continueAfterViolation: true,
    network: { minDelayTicks: 1, maxDelayTicks: 3, dropRate: 0, duplicateRate: 0 },
    maxFsyncTicks: 1,
    ...(opts.maxEntriesPerMsg ? { maxEntriesPerMsg: opts.maxEntriesPerMsg } : {}),
    ...(opts.maxInflightMsgs ? { maxInflightMsgs: opts.maxInflightMsgs } : {}),
    ...(opts.brokenLeave ? { brokenLeave: opts.brokenLeave } : {}),
  });
  const out = { replayedRemoval: 0, caughtUpViaSnapshot: 0, rejoinedAsVoter: 0 };
  const done = (): RejoinResult => ({ result: sim.result(), ...out });
  sim.start();
  if (!sim.runUntil(() => sim.leader() !== null && sim.nodes.every((n) => n.applied.length >= 1), 400)) return done();
  for (let round = 1; round <= (opts.rounds ?? 1) && !sim.halted; round++) {
    const leader = sim.leader()?.id;
    if (!leader) return done();
    const x = sim.node(leader).conf.voters.filter((id) => id !== leader)[round % 2] ?? sim.node(leader).conf.voters.find((id) => id !== leader)!;
    if (!playRound(sim, leader, x, round, opts, out)) return done();
  }
  if (!sim.halted) sim.healPhase();
  return done();
}

/** One remove → wipe → --join → add learner → promote, with entries before and after. False if it stalled. */
function playRound(sim: SimCluster, leader: NodeId, x: NodeId, round: number, opts: RejoinOptions, out: { replayedRemoval: number; caughtUpViaSnapshot: number; rejoinedAsVoter: number }): boolean {
  const appliedBy = (id: NodeId, index: number) => sim.node(id).applied.length >= index;
  const members = () => [...sim.node(leader).conf.voters, ...sim.node(leader).conf.learners];
  const before = proposeAll(sim, leader, `r${round}-before-`, 6);
  if (!before || !sim.runUntil(() => members().every((id) => appliedBy(id, before.index)), 300)) return false;
  if (opts.viaSnapshot) for (const id of members()) sim.snapshotNode(id, 0);

  sim.note(`rejoin round ${round}: remove ${x} (leader ${leader})`);
  const rm = sim.proposeConfChangeTo(leader, { op: "remove", id: x });
  if (!rm || !sim.runUntil(() => appliedBy(leader, rm.index), 300)) return false;
  // Entries between the removal and the re-addition: one per round trip, they outlast the leave grace.
  const without = proposeAll(sim, leader, `r${round}-without-`, 16);
  if (!without || !sim.runUntil(() => appliedBy(leader, without.index), 300)) return false;
  sim.runUntil(() => false, 100); // x, if it heard, leaves on its own

  sim.rejoinEmpty(x);
  const learner = sim.proposeConfChangeTo(leader, { op: "addLearner", id: x });
  if (!learner || !sim.runUntil(() => appliedBy(leader, learner.index) && appliedBy(x, learner.index), 600)) return false;
  if (appliedBy(x, rm.index)) out.replayedRemoval++;
  const snapAt = sim.node(x).storage.snapshot().meta.index;
  if (sim.node(x).snapshotsInstalled > 0 && snapAt > 0 && snapAt < rm.index) out.caughtUpViaSnapshot++;
  const voter = sim.proposeConfChangeTo(leader, { op: "addVoter", id: x });
  if (!voter || !sim.runUntil(() => appliedBy(leader, voter.index), 300)) return false;
  const after = proposeAll(sim, leader, `r${round}-after-`, 4);
  if (!after) return false;
  // Long past the leave grace: a node that wrongly decided to go has gone by then.
  sim.runUntil(() => false, 300);
  if (sim.node(x).alive && sim.node(leader).conf.voters.includes(x) && appliedBy(x, after.index)) out.rejoinedAsVoter++;
  return true;
}

function proposeAll(sim: SimCluster, leaderId: NodeId, prefix: string, count: number): { index: number } | null {
  let last: { index: number } | null = null;
  for (let k = 1; k <= count; k++) last = sim.proposeTo(leaderId, `${prefix}${k}`) ?? last;
  return last;
}
