// Random membership changes during a seed's fault phase, proposed to whoever leads, the way an operator (or an
// autopilot) would: a new node starts with empty storage and is added as a learner, a learner is promoted, voters
// and learners are removed (the leader too), and now and then a fresh node is asked to be added straight as a
// voter. Every change goes through the production leader's rule (src/node/reconfig-check.ts, issue #18): a
// promotion only of a learner heard recently and caught up, nothing that leaves the reachable voters without a
// majority; a fresh node is never added straight as a voter. Changes go one at a time; the core refuses the rest.
// A removed node is either shut down some time later or left running with whatever it knows, so removed nodes
// that never heard of their removal keep knocking (hashicorp/raft#502).
import type { ConfChange, NodeId } from "../../src/raft/types.js";
import type { SimCluster } from "./cluster.js";
import type { SimNode } from "./node.js";
import type { Rng } from "./prng.js";

/** Chance per tick that a change is attempted (15 s fault phase: ~15 attempts, a few of them go through). */
const CHANGE_RATE = 1 / 100;
/** Nodes created beyond the initial ones, at most. */
const MAX_EXTRA_NODES = 3;
/** Voters kept at least (a removal below it is not attempted). */
const MIN_VOTERS = 2;

type ChangeKind = "addLearner" | "promote" | "removeVoter" | "removeLearner" | "addVoter";

const WEIGHTS: Readonly<Record<ChangeKind, number>> = { addLearner: 4, promote: 4, removeVoter: 3, removeLearner: 1, addVoter: 1 };

export class MembershipChanger {
  private extraNodes = 0;

  constructor(
    private readonly sim: SimCluster,
    private readonly rng: Rng,
    readonly initialNodes: number,
  ) {}

  tick(): void {
    if (!this.rng.chance(CHANGE_RATE)) return;
    const leader = this.sim.leader();
    if (!leader?.core) return;
    const conf = leader.core.status().conf;
    switch (this.rng.weighted(WEIGHTS)) {
      case "addLearner":
      case "addVoter": {
        const op = this.rng.chance(0.8) ? "addLearner" : "addVoter";
        const joiner = this.joiner();
        if (joiner) this.propose(leader, { op, id: joiner.id });
        break;
      }
      case "promote":
        if (conf.learners.length > 0) this.propose(leader, { op: "addVoter", id: this.rng.pick(conf.learners) });
        break;
      case "removeVoter":
        if (conf.voters.length > MIN_VOTERS) this.propose(leader, { op: "remove", id: this.rng.pick(conf.voters) });
        break;
      case "removeLearner":
        if (conf.learners.length > 0) this.propose(leader, { op: "remove", id: this.rng.pick(conf.learners) });
        break;
    }
  }

  /** The removal of `id` committed: shut it down later, or leave it running with what it knows. */
  removed(id: NodeId): void {
    if (this.rng.chance(0.5)) this.sim.retireLater(id, this.rng.int(0, 300));
  }

  /** A node waiting to be added: one started earlier whose addition did not go through, or a new one. */
  private joiner(): SimNode | null {
    const conf = this.sim.confInForce();
    const removed = new Set(this.sim.removalRecords().map((r) => r.id));
    const waiting = this.sim.nodes.filter(
      (n) => !conf.voters.includes(n.id) && !conf.learners.includes(n.id) && !removed.has(n.id) && !this.sim.isRetired(n.id),
    );
    if (waiting.length > 0) return this.rng.pick(waiting);
    if (this.extraNodes >= MAX_EXTRA_NODES) return null;
    this.extraNodes++;
    return this.sim.addJoiningNode(true);
  }

  private propose(leader: SimNode, cc: ConfChange): void {
    this.sim.proposeCheckedConfChange(leader.id, cc);
  }
}
