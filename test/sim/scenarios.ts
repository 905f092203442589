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
