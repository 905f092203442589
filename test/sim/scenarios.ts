// Targeted schedules for bugs that random faults reach too rarely. Each drives a scripted SimCluster (the same
// nodes, runner, network and checkers as random runs) through one known-dangerous history.
import type { BrokenRules } from "../../src/raft/api.js";
import type { NodeId } from "../../src/raft/types.js";
import { SimCluster, type SimResult } from "./cluster.js";
import type { SimNode } from "./node.js";

/**
 * Figure 8 of the Raft paper (§5.4.2), played on 5 nodes with one entry per AppendEntries:
 *  (a) leader A replicates X at index i to B only; A and B crash.
 *  (b) P (one of the other three) is elected, writes its no-op at index i, and crashes before sending it.
 *  (c) A and B restart; one of them, L, is elected and replicates X (an entry of an older term) to the two
 *      survivors Q and R, but not its own no-op. X is now on a majority (L, B-or-A, Q) — yet not committed, since
 *      no entry of L's term is. A core that counts replicas of old-term entries commits and applies X here.
 *  (d) L and its peer crash; P restarts and, with the votes of Q and R (its last term is newer than theirs), wins
 *      and overwrites X at index i with its own entry.
 * A correct core never applies X, so nothing is violated; the commitOldTermEntries bug applies two different
 * entries at index i (state machine safety) and loses a "committed" entry.
 */
export function runFigure8(seed: number, brokenRules?: BrokenRules, opts: { trace?: boolean; continueAfterViolation?: boolean } = {}): SimResult {
  const sim = new SimCluster({
    seed,
    nodes: 5,
    scripted: true,
    trace: opts.trace ?? false,
    continueAfterViolation: opts.continueAfterViolation ?? false,
    network: { minDelayTicks: 1, maxDelayTicks: 1, dropRate: 0, duplicateRate: 0 },
    maxFsyncTicks: 0,
    maxEntriesPerMsg: 1,
    ...(brokenRules ? { brokenRules } : {}),
  });
  sim.start();
  const ids = sim.nodes.map((n) => n.id);
  const appliedEverywhere = (i: number) => sim.nodes.every((n) => n.applied.length >= i);

  // A stable leader whose no-op everyone applied.
  if (!sim.runUntil(() => sim.leader() !== null && appliedEverywhere(1), 300)) return sim.result();
  const a = sim.leader()!.id;
  const b = ids.find((id) => id !== a)!;
  const rest = ids.filter((id) => id !== a && id !== b);
  sim.note(`figure 8 (a): leader ${a} replicates X to ${b} only`);
  sim.partitionNodes([[a, b], rest]);
  const x = sim.proposeTo(a, "X");
  if (!x) return sim.result();
  const holdsX = (id: NodeId) => sim.node(id).durableLog.length >= x.index;
  sim.runUntil(() => holdsX(a) && holdsX(b), 20);
  sim.crashNode(a);
  sim.crashNode(b);

  sim.note(`figure 8 (b): one of ${rest.join(",")} is elected and crashes before replicating`);
  const restLeader = (): SimNode | undefined => rest.map((id) => sim.node(id)).find((n) => n.core?.status().role === "leader");
  if (!sim.runUntil(() => restLeader() !== undefined, 400)) return sim.result();
  const p = restLeader()!.id;
  for (const id of ids) if (id !== p) sim.cutLink(p, id);
  sim.crashNode(p);
  sim.runUntil(() => false, 3); // its messages already in flight die on the cut links
  const [q, r] = rest.filter((id) => id !== p) as [NodeId, NodeId];

  sim.note(`figure 8 (c): ${a} and ${b} restart; the winner replicates X to ${q} and ${r} but not its own entry`);
  sim.healNetwork();
  sim.restartNode(a);
  sim.restartNode(b);
  const abLeader = (): SimNode | undefined => [a, b].map((id) => sim.node(id)).find((n) => n.core?.status().role === "leader");
  const cut = new Set<NodeId>();
  let l: NodeId | null = null;
  const phaseC = () => {
    l ??= abLeader()?.id ?? null;
    if (l) {
      for (const f of [q, r]) {
        if (!cut.has(f) && holdsX(f)) {
          sim.cutLink(l, f); // the acknowledgement still flows back; the leader's next entry never arrives
          cut.add(f);
        }
      }
    }
    return l !== null && sim.node(l).applied.length >= x.index;
  };
  sim.runUntil(phaseC, 300);
  if (!l || sim.halted) return sim.result();
  const peer: NodeId = l === a ? b : a;

  sim.note(`figure 8 (d): ${l} and ${peer} crash; ${p} restarts and overwrites index ${x.index}`);
  sim.crashNode(l);
  sim.crashNode(peer);
  sim.healNetwork();
  sim.restartNode(p);
  sim.runUntil(() => appliedEverywhereAlive(sim, x.index), 400);
  if (!sim.halted) sim.healPhase();
  return sim.result();
}

function appliedEverywhereAlive(sim: SimCluster, index: number): boolean {
  return sim.nodes.every((n) => !n.alive || n.applied.length >= index);
}

/** What a membership scenario observed, beside the run's violations. */
export interface QuorumLossWhileAddingResult {
  readonly result: SimResult;
  /** Entries proposed while the new member was down were all applied on the leader. */
  readonly committedWhileNewMemberDown: boolean;
  /** The promotion rule held the promotion back while the new node was down (learner-first only). */
  readonly promotionHeldBack: boolean;
  /** The new node caught up from the leader's snapshot (its needed entries were compacted away). */
  readonly caughtUpViaSnapshot: boolean;
  /** It ended a voter and applied everything the cluster committed. */
  readonly joinedAsVoter: boolean;
}

const SCRIPTED_NETWORK = { minDelayTicks: 1, maxDelayTicks: 2, dropRate: 0, duplicateRate: 0 } as const;

/** A leader's view of whether `id` is caught up: its match reaches the leader's commit index. */
function caughtUp(sim: SimCluster, leaderId: NodeId, id: NodeId): boolean {
  const st = sim.node(leaderId).core?.status();
  return st !== undefined && (st.progress?.[id]?.match ?? 0) >= st.commit;
}

function proposeAll(sim: SimCluster, leaderId: NodeId, prefix: string, count: number): { index: number } | null {
  let last: { index: number } | null = null;
  for (let k = 1; k <= count; k++) last = sim.proposeTo(leaderId, `${prefix}${k}`) ?? last;
  return last;
}

/**
 * etcd-io/etcd#6420: adding a member that is down. In a 1-node cluster (or a 3-node cluster with one node already
 * down), adding a voter that never comes up raises the quorum past the live nodes and the cluster stops
 * committing. The fix is to add it as a learner (not counted in quorums) and promote it only once it is caught up.
 * With `learnerFirst` the scenario checks that the cluster keeps committing while the new node is down, that the
 * promotion waits for it, that it catches up from a snapshot once started, and that everything commits after the
 * promotion. Without it (the bug's schedule) commits stop while the new voter is down.
 */
export function runQuorumLossWhileAdding(
  seed: number,
  opts: { nodes: 1 | 3; learnerFirst: boolean; trace?: boolean },
): QuorumLossWhileAddingResult {
  const sim = new SimCluster({ seed, nodes: opts.nodes, scripted: true, trace: opts.trace ?? false, network: SCRIPTED_NETWORK, maxFsyncTicks: 1 });
  const out = { committedWhileNewMemberDown: false, promotionHeldBack: false, caughtUpViaSnapshot: false, joinedAsVoter: false };
  const done = () => ({ result: sim.result(), ...out });
  sim.start();
  if (!sim.runUntil(() => sim.leader() !== null && sim.nodes.every((n) => n.applied.length >= 1), 400)) return done();
  const leader = sim.leader()!.id;
  const warm = proposeAll(sim, leader, "before-", 10);
  if (!warm || !sim.runUntil(() => sim.node(leader).applied.length >= warm.index, 100)) return done();
  // The leader compacts everything it applied: a new node can only start from its snapshot.
  sim.snapshotNode(leader, 0);
  if (opts.nodes === 3) sim.crashNode(sim.nodes.find((n) => n.id !== leader)!.id, "before the addition (one of three down)");

  const joiner = sim.addJoiningNode(false).id;
  sim.note(`etcd#6420: add ${joiner} (down) as a ${opts.learnerFirst ? "learner" : "voter"}`);
  const add = sim.proposeConfChangeTo(leader, { op: opts.learnerFirst ? "addLearner" : "addVoter", id: joiner });
  if (!add || !sim.runUntil(() => sim.node(leader).applied.length >= add.index, 200)) return done();

  const during = proposeAll(sim, leader, "while-down-", 5);
  if (!during) return done();
  out.committedWhileNewMemberDown = sim.runUntil(() => sim.node(leader).applied.length >= during.index, 300);
  if (opts.learnerFirst) out.promotionHeldBack = !caughtUp(sim, leader, joiner);

  sim.note(`etcd#6420: ${joiner} starts with empty storage`);
  sim.startNode(joiner);
  if (!sim.runUntil(() => caughtUp(sim, leader, joiner), 400)) return done();
  out.caughtUpViaSnapshot = sim.node(joiner).snapshotsInstalled > 0 && sim.node(joiner).storage.snapshot().meta.index > 0;
  if (opts.learnerFirst) {
    const promote = sim.proposeConfChangeTo(leader, { op: "addVoter", id: joiner });
    if (!promote || !sim.runUntil(() => sim.node(leader).applied.length >= promote.index, 200)) return done();
  }
  const after = proposeAll(sim, leader, "after-", 5);
  if (!after) return done();
  sim.runUntil(() => sim.node(joiner).applied.length >= after.index, 300);
  out.joinedAsVoter = sim.node(leader).conf.voters.includes(joiner) && sim.node(joiner).applied.length >= after.index;
  if (!sim.halted) sim.healPhase();
  return done();
}

export interface RemovedVoterRejoinsResult {
  readonly result: SimResult;
  /** The leader and its term before the removed node came back, and whether both held to the end. */
  readonly leader: NodeId | null;
  readonly leaderTerm: number;
  readonly leaderKept: boolean;
  /** The highest term any member reached after the rejoin (equal to leaderTerm when nothing was inflated). */
  readonly maxMemberTermAfter: number;
  /** Entries proposed after the rejoin that were applied on every member. */
  readonly committedAfterRejoin: number;
  readonly removedNode: NodeId | null;
  /** The removed node never learned it was removed (it kept its old log and configuration). */
  readonly removedNodeUnaware: boolean;
  readonly removedNodeEverLed: boolean;
}

/**
 * hashicorp/raft#502 (and #524): a voter is cut off, removed while it cannot hear about it, and so keeps its old
 * log and its old configuration in which it is still a voter; it is restarted from that state and keeps calling
 * elections. Then the network heals. It must not disrupt the cluster: no member's term goes up (which would depose
 * the leader), the leader stays, commits continue, and the removed node never becomes leader.
 */
export function runRemovedVoterRejoins(seed: number, opts: { nodes: 3 | 5; trace?: boolean; preVote?: boolean }): RemovedVoterRejoinsResult {
  const sim = new SimCluster({
    seed,
    nodes: opts.nodes,
    scripted: true,
    trace: opts.trace ?? false,
    network: SCRIPTED_NETWORK,
    maxFsyncTicks: 1,
    ...(opts.preVote === false ? { preVote: false } : {}),
  });
  const out = {
    leader: null as NodeId | null,
    leaderTerm: 0,
    leaderKept: false,
    maxMemberTermAfter: 0,
    committedAfterRejoin: 0,
    removedNode: null as NodeId | null,
    removedNodeUnaware: false,
    removedNodeEverLed: false,
  };
  const done = (): RemovedVoterRejoinsResult => {
    out.removedNodeEverLed = out.removedNode !== null && everLed(sim, out.removedNode);
    return { result: sim.result(), ...out };
  };
  sim.start();
  if (!sim.runUntil(() => sim.leader() !== null && sim.nodes.every((n) => n.applied.length >= 1), 400)) return done();
  const leader = sim.leader()!.id;
  const x = sim.nodes.find((n) => n.id !== leader)!.id;
  out.removedNode = x;
  sim.note(`hashicorp#502: ${x} is cut off, then removed`);
  sim.isolateNode(x);
  const rm = sim.proposeConfChangeTo(leader, { op: "remove", id: x });
  if (!rm || !sim.runUntil(() => sim.node(leader).applied.length >= rm.index, 200)) return done();
  const more = proposeAll(sim, leader, "without-x-", 10);
  if (!more || !sim.runUntil(() => sim.node(leader).applied.length >= more.index, 200)) return done();
  for (const id of sim.node(leader).conf.voters) sim.snapshotNode(id, 2);
  // Many election timeouts alone, and a restart from its old log and configuration.
  sim.runUntil(() => false, 300);
  sim.crashNode(x, "while cut off");
  sim.runUntil(() => false, 20);
  sim.restartNode(x);
  sim.runUntil(() => false, 300);

  const members = () => sim.node(leader).conf.voters.concat(sim.node(leader).conf.learners).map((id) => sim.node(id));
  const leaderTerm = sim.node(leader).core?.status().term ?? 0;
  out.leader = leader;
  out.leaderTerm = leaderTerm;
  out.removedNodeUnaware = !sim.removalRecords().some((r) => r.id === x && r.knownTick !== undefined);
  sim.note(`hashicorp#502: the network heals; ${x} (term ${sim.node(x).core?.status().term ?? "-"}) can reach everyone again`);
  sim.healNetwork();

  let kept = true;
  let maxTerm = 0;
  let lastProposed: { index: number } | null = null;
  let proposedAfter = 0;
  for (let round = 0; round < 30 && !sim.halted; round++) {
    const p = sim.proposeTo(leader, `after-rejoin-${round}`);
    if (p) {
      lastProposed = p;
      proposedAfter++;
    }
    sim.runUntil(() => {
      const st = sim.node(leader).core?.status();
      if (!st || st.role !== "leader" || st.term !== leaderTerm) kept = false;
      for (const n of members()) maxTerm = Math.max(maxTerm, n.core?.status().term ?? 0);
      return false;
    }, 20);
  }
  out.leaderKept = kept;
  out.maxMemberTermAfter = maxTerm;
  const last = lastProposed;
  if (last && members().every((n) => n.applied.length >= last.index)) out.committedAfterRejoin = proposedAfter;
  if (!sim.halted) sim.healPhase();
  return done();
}

function everLed(sim: SimCluster, id: NodeId): boolean {
  return sim.view().leaders.some((l) => l.id === id && l.tick > (sim.removalRecords().find((r) => r.id === id)?.tick ?? Infinity));
}

/**
 * A voter loses its disk (README "Deploying" step 6, src/node/storage-identity.ts). On 3 nodes:
 *  1. leader L commits X with follower W only (the third node, F, is cut off, so it lacks X);
 *  2. L crashes; W's disk is lost and W restarts empty from the cluster file (term 0, no vote, no log);
 *  3. F comes back and campaigns. W's empty log is behind F's, so W grants its vote: F leads without X, and
 *     overwrites it (leader completeness, state machine safety).
 * With `refused`, W's peers refuse its connections as the real transport does for a new storage id: nothing W
 * sends arrives, F cannot win, and once L restarts it leads with X. (The committedEntryLost checker fires in both
 * runs: it assumes voters keep their disks, and the wipe itself takes X below a majority of disks.)
 */
export function runWipedVoter(seed: number, opts: { refused: boolean; trace?: boolean }): SimResult {
  const sim = new SimCluster({
    seed,
    nodes: 3,
    scripted: true,
    trace: opts.trace ?? false,
    continueAfterViolation: true,
    network: { minDelayTicks: 1, maxDelayTicks: 1, dropRate: 0, duplicateRate: 0 },
    maxFsyncTicks: 0,
  });
  sim.start();
  const ids = sim.nodes.map((n) => n.id);
  if (!sim.runUntil(() => sim.leader() !== null && sim.nodes.every((n) => n.applied.length >= 1), 400)) return sim.result();
  const l = sim.leader()!.id;
  const [w, f] = ids.filter((id) => id !== l) as [NodeId, NodeId];
  sim.note(`wiped voter (1): ${l} commits X with ${w} only; ${f} is cut off`);
  sim.partitionNodes([[l, w], [f]]);
  const x = sim.proposeTo(l, "X");
  if (!x) return sim.result();
  if (!sim.runUntil(() => sim.node(l).applied.length >= x.index, 100)) return sim.result();

  sim.note(`wiped voter (2): ${l} crashes; ${w} loses its disk and restarts empty${opts.refused ? "; its peers refuse it" : ""}`);
  sim.crashNode(l);
  sim.wipeNode(w);
  sim.healNetwork();
  if (opts.refused) for (const id of ids) if (id !== w) sim.cutLink(w, id);

  sim.note(`wiped voter (3): ${f} comes back and campaigns`);
  const leaderOf = (id: NodeId) => sim.node(id).core?.status().role === "leader";
  sim.runUntil(() => leaderOf(f) || leaderOf(w), 400);
  if (opts.refused) {
    sim.note(`${l} restarts`);
    sim.restartNode(l);
    sim.runUntil(() => sim.leader() !== null && sim.node(f).applied.length >= x.index, 400);
  } else {
    sim.runUntil(() => sim.node(f).applied.length >= x.index && sim.node(w).applied.length >= x.index, 200);
    sim.restartNode(l);
    sim.runUntil(() => false, 100);
  }
  return sim.result();
}
