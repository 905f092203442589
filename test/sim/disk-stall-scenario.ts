// Issue 14.5 in the simulator: disks that stop answering, with the production rule (src/node/disk-stall-rule.ts)
// run by every simulated node. Two scripted histories:
//   - one voter: its disk hangs under a proposal. No one else could lead, so it keeps leading and waits for its disk
//     (stepping down would only fail the write); once the disk answers it commits the entry, still leader.
//   - three voters: the leader's disk hangs; it steps down, another is elected and commits while the stall lasts.
//     Then a follower's disk hangs; the leader keeps committing with the other follower. After both, everyone
//     converges. The cluster's usual checkers run at every step.
// The scenario's own check, at every tick: no node is leader while its write has been pending past the stall time,
// unless it is the only voter. The broken-rule switch shows it fire on the three-voter history.
import type { NodeId } from "../../src/raft/types.js";
import { ELECTION_TICKS_MAX, LEADER_WITHIN_TICKS, SimCluster, type SimResult } from "./cluster.js";

export interface DiskStallOutcome {
  readonly result: SimResult;
  /** Ticks at which a node was leader with a write pending longer than the stall time (must stay empty). */
  readonly stalledLeaderTicks: string[];
  /** What the history reached (each must be true with the rule). */
  readonly reached: Record<string, boolean>;
}

const STALL_TICKS = 200;

function cluster(seed: number, nodes: number, ignoreDiskStallRule: boolean, checkQuorum = true): SimCluster {
  return new SimCluster({
    seed,
    nodes,
    scripted: true,
    network: { minDelayTicks: 1, maxDelayTicks: 2, dropRate: 0, duplicateRate: 0 },
    maxFsyncTicks: 1,
    ignoreDiskStallRule,
    ...(checkQuorum ? {} : { checkQuorum: false }),
  });
}

/** Runs `ticks` steps, noting every tick at which a node leads with a stalled write; returns whether `done` held. */
function watch(sim: SimCluster, out: string[], ticks: number, done: () => boolean = () => false): boolean {
  return sim.runUntil(() => {
    for (const n of sim.nodes) {
      const started = n.inflight?.writeStartTick ?? null;
      const replaceable = started !== null && (n.core?.status().conf.voters.length ?? 0) > 1;
      if (n.core?.currentRole() === "leader" && replaceable && sim.tick - started! > ELECTION_TICKS_MAX) {
        out.push(`tick ${sim.tick}: ${n.id} leads with a write pending for ${sim.tick - started} ticks`);
      }
    }
    return done();
  }, ticks);
}

const appliedText = (sim: SimCluster, id: NodeId, text: string): boolean =>
  sim.node(id).applied.some((e) => e.kind === "normal" && new TextDecoder().decode(e.data).includes(text));

export function runSingleVoterDiskStall(seed: number, opts: { ignoreDiskStallRule?: boolean } = {}): DiskStallOutcome {
  const sim = cluster(seed, 1, opts.ignoreDiskStallRule === true);
  const stalled: string[] = [];
  const reached: Record<string, boolean> = {};
  sim.start();
  reached.elected = sim.runUntil(() => sim.leader() !== null, LEADER_WITHIN_TICKS);
  const id = sim.nodes[0]!.id;
  const termBefore = sim.node(id).core!.status().term;
  sim.stallDisk(id, STALL_TICKS);
  reached.proposed = sim.proposeTo(id, "X") !== null;
  const stillLeading: boolean[] = [];
  watch(sim, stalled, STALL_TICKS - 5, () => (stillLeading.push(sim.leader()?.id === id), false));
  reached.leaderThroughoutStall = stillLeading.length > 0 && stillLeading.every(Boolean);
  reached.notCommittedDuringStall = !appliedText(sim, id, "X");
  reached.committedAfter = watch(sim, stalled, STALL_TICKS + LEADER_WITHIN_TICKS, () => appliedText(sim, id, "X"));
  reached.sameTermAfter = sim.leader()?.id === id && sim.node(id).core!.status().term === termBefore;
  return { result: sim.result(), stalledLeaderTicks: stalled, reached };
}

/** `checkQuorum: false` leaves the stalled-disk rule alone to demote the stalled leader (check-quorum would too, an
 *  election timeout after its followers stop hearing it); the broken-rule contrast needs it off. */
export function runThreeVoterDiskStalls(seed: number, opts: { ignoreDiskStallRule?: boolean; checkQuorum?: boolean } = {}): DiskStallOutcome {
  const sim = cluster(seed, 3, opts.ignoreDiskStallRule === true, opts.checkQuorum !== false);
  const stalled: string[] = [];
  const reached: Record<string, boolean> = {};
  sim.start();
  const everyone = () => sim.nodes.every((n) => n.applied.length >= 1);
  reached.elected = watch(sim, stalled, LEADER_WITHIN_TICKS * 2, () => sim.leader() !== null && everyone());
  const first = sim.leader()!.id;

  sim.note(`the leader ${first}'s disk stalls`);
  sim.stallDisk(first, STALL_TICKS);
  sim.proposeTo(first, "A");
  const other = () => sim.leader() !== null && sim.leader()!.id !== first;
  reached.newLeaderDuringStall = watch(sim, stalled, STALL_TICKS - 20, other);
  const second = sim.leader()?.id ?? first;
  sim.proposeTo(second, "B");
  const others = sim.nodes.map((n) => n.id).filter((x) => x !== first);
  reached.committedDuringStall = watch(sim, stalled, STALL_TICKS, () => others.every((x) => appliedText(sim, x, "B"))) && sim.tick < sim.node(first).diskStalledUntil;
  watch(sim, stalled, Math.max(0, sim.node(first).diskStalledUntil - sim.tick) + LEADER_WITHIN_TICKS, () => appliedText(sim, first, "B"));

  const leader = sim.leader()?.id ?? second;
  const follower = sim.nodes.map((n) => n.id).find((x) => x !== leader)!;
  sim.note(`follower ${follower}'s disk stalls`);
  sim.stallDisk(follower, STALL_TICKS);
  sim.proposeTo(leader, "C");
  const rest = sim.nodes.map((n) => n.id).filter((x) => x !== follower);
  reached.followerStallDoesNotHoldCommits = watch(sim, stalled, STALL_TICKS - 20, () => rest.every((x) => appliedText(sim, x, "C")));
  reached.leaderKept = sim.leader()?.id === leader;
  reached.converged = watch(sim, stalled, STALL_TICKS + LEADER_WITHIN_TICKS, () => sim.nodes.every((n) => appliedText(sim, n.id, "C")));
  return { result: sim.result(), stalledLeaderTicks: stalled, reached };
}

/** Three voters, check-quorum off: the leader's disk hangs while it is cut off from both peers, so nothing but the
 *  stalled-disk rule can demote it (no peer's higher term reaches it). With the rule it steps down one election
 *  timeout into the write; the broken-rule switch leaves it leading, and the scenario's check fires. */
export function runIsolatedStalledLeader(seed: number, opts: { ignoreDiskStallRule?: boolean } = {}): DiskStallOutcome {
  const sim = cluster(seed, 3, opts.ignoreDiskStallRule === true, false);
  const stalled: string[] = [];
  const reached: Record<string, boolean> = {};
  sim.start();
  reached.elected = watch(sim, stalled, LEADER_WITHIN_TICKS * 2, () => sim.leader() !== null && sim.nodes.every((n) => n.applied.length >= 1));
  const first = sim.leader()!.id;
  sim.note(`the leader ${first} is cut off and its disk stalls`);
  sim.isolateNode(first);
  sim.stallDisk(first, STALL_TICKS);
  sim.proposeTo(first, "A");
  watch(sim, stalled, STALL_TICKS - 5);
  reached.steppedDown = sim.node(first).core?.currentRole() !== "leader";
  return { result: sim.result(), stalledLeaderTicks: stalled, reached };
}
