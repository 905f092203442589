// Issue #18 point 3 in the simulator: a voter cut off while it is removed never applies its removal. The real
// transport then refuses it at every peer (403 NOT_A_PEER) because the peers' configurations no longer list it;
// here the test plays that transport from the simulated nodes' own configurations and feeds the production
// decisions of src/node/not-a-peer-watch.ts: the removed node asks once it has been refused for 5 election
// timeouts, the leader's answer confirms it, and it leaves. A node that joined with empty storage and was never
// added gets the same refusals and never asks; no member ever asks.
import { describe, expect, it } from "vitest";
import type { NodeId } from "../../src/raft/types.js";
import { NOT_A_PEER_ELECTION_TIMEOUTS, removalConfirmedBy, shouldAskIfRemoved } from "../../src/node/not-a-peer-watch.js";
import { ELECTION_TICKS_MAX, SimCluster, TICK_MS } from "./cluster.js";

const REFUSED_FOR_MS = NOT_A_PEER_ELECTION_TIMEOUTS * ELECTION_TICKS_MAX * TICK_MS;

/** The transport's refusals, from the peers' configurations: since when each node has been refused by each peer. */
class RefusalModel {
  private readonly since = new Map<string, number>();
  constructor(private readonly sim: SimCluster) {}

  links(id: NodeId): Array<{ peer: string; connected: boolean; notAPeerSinceMs: number | null }> {
    const self = this.sim.node(id);
    // A node dials the members of its own configuration (a joiner not added yet: the cluster file's nodes).
    const own = [...self.conf.voters, ...self.conf.learners];
    const peers = (own.length > 0 ? own : this.sim.nodes.slice(0, 3).map((n) => n.id)).filter((p) => p !== id);
    return peers.map((peer) => {
      const p = this.sim.node(peer);
      const refuses = p.alive && !p.conf.voters.includes(id) && !p.conf.learners.includes(id);
      const key = `${id}>${peer}`;
      if (!refuses) this.since.delete(key);
      else if (!this.since.has(key)) this.since.set(key, this.sim.tick * TICK_MS);
      return { peer, connected: p.alive && !refuses, notAPeerSinceMs: refuses ? this.since.get(key)! : null };
    });
  }
}

function asks(sim: SimCluster, model: RefusalModel, id: NodeId): boolean {
  const n = sim.node(id);
  if (!n.alive) return false;
  const selfIsMember = n.conf.voters.includes(id) || n.conf.learners.includes(id);
  return shouldAskIfRemoved({ selfIsMember, links: model.links(id), nowMs: sim.tick * TICK_MS, refusedForMs: REFUSED_FOR_MS });
}

describe("a voter removed while cut off (issue #18)", () => {
  for (const seed of [1, 2, 3, 4, 5]) {
    it(`seed ${seed}: asks after 5 election timeouts of refusals, is confirmed removed, and leaves; a joiner never added and the members never ask`, () => {
      const sim = new SimCluster({ seed, nodes: 3, scripted: true, network: { minDelayTicks: 1, maxDelayTicks: 2, dropRate: 0, duplicateRate: 0 }, maxFsyncTicks: 1 });
      sim.start();
      expect(sim.runUntil(() => sim.leader() !== null && sim.nodes.every((n) => n.applied.length >= 1), 400)).toBe(true);
      const leader = sim.leader()!.id;
      const victim = sim.nodes.find((n) => n.id !== leader)!.id;
      const joiner = sim.addJoiningNode(true).id;
      const model = new RefusalModel(sim);

      sim.isolateNode(victim); // SIGSTOP: it hears nothing from here on
      const removal = sim.proposeCheckedConfChange(leader, { op: "remove", id: victim });
      expect(removal).not.toBeNull();
      expect(sim.runUntil(() => sim.node(leader).applied.length >= removal!.index, 200)).toBe(true);
      sim.healNetwork(); // SIGCONT
      const healedAt = sim.tick;

      let askedAt: number | null = null;
      sim.runUntil(() => {
        for (const n of sim.nodes) if (n.id !== victim && asks(sim, model, n.id)) throw new Error(`${n.id} asked whether it was removed`);
        if (asks(sim, model, victim)) askedAt = sim.tick;
        return askedAt !== null;
      }, 1000);
      expect(sim.removalRecords().find((r) => r.id === victim)?.knownTick, "the victim learned its removal the ordinary way").toBeUndefined();
      expect(askedAt, "the removed node never asked").not.toBeNull();
      // Refused from the heal on (the model starts watching there): it asks 5 election timeouts later, not sooner.
      expect(askedAt! - healedAt).toBeGreaterThanOrEqual(REFUSED_FOR_MS / TICK_MS);
      expect(askedAt! - healedAt).toBeLessThanOrEqual(REFUSED_FOR_MS / TICK_MS + 1);
      const l = sim.node(leader);
      const answer = { leaderId: leader, members: [...l.conf.voters, ...l.conf.learners].map((id) => ({ id })) };
      expect(removalConfirmedBy(victim, answer)).toBe(true);
      expect(removalConfirmedBy(joiner, answer)).toBe(true); // it would be confirmed too — which is why it must not ask
      sim.retireLater(victim, 0);

      const marker = sim.proposeTo(leader, "after-the-removed-node-left");
      expect(sim.runUntil(() => sim.node(leader).applied.length >= marker!.index, 200)).toBe(true);
      expect(sim.result().violations).toEqual([]);
    });
  }
});
