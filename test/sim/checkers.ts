// The safety properties of Raft (Figure 3 of the paper) as pure functions over a recorded ClusterView.
// Each returns the violations it finds; an empty list means the property holds for this view.
import type { ConfState, Entry, NodeId } from "../../src/raft/types.js";
import { describeEntry, sameEntry } from "./entries.js";
import type { CheckerName, ClusterView, NodeView, QuorumRecord, Violation } from "./view.js";

export type Checker = (view: ClusterView) => Violation[];

function violation(view: ClusterView, checker: CheckerName, detail: string): Violation {
  return { checker, seed: view.seed, tick: view.tick, detail };
}

/** Election safety: at most one leader can be elected in a given term (§5.2). */
export const electionSafety: Checker = (view) => {
  const byTerm = new Map<number, string>();
  const out: Violation[] = [];
  for (const l of view.leaders) {
    const first = byTerm.get(l.term);
    if (first === undefined) byTerm.set(l.term, l.id);
    else if (first !== l.id) out.push(violation(view, "electionSafety", `term ${l.term} has two leaders: ${first} and ${l.id} (seen at tick ${l.tick})`));
  }
  return out;
};

/** Log matching: if two logs contain an entry with the same index and term, the logs are identical in all
 *  entries up through that index (§5.3). Also checks each log's own shape: contiguous indexes, terms that
 *  never decrease. */
export const logMatching: Checker = (view) => {
  const out: Violation[] = [];
  for (const n of view.nodes) {
    const shape = logShapeProblem(n.log);
    if (shape) out.push(violation(view, "logMatching", `${n.id}: ${shape}`));
  }
  const nodes = view.nodes;
  for (let a = 0; a < nodes.length; a++) {
    for (let b = a + 1; b < nodes.length; b++) {
      const problem = pairMismatch(nodes[a]!, nodes[b]!);
      if (problem) out.push(violation(view, "logMatching", problem));
    }
  }
  return out;
};

function logShapeProblem(log: readonly Entry[]): string | null {
  let prevTerm = 0;
  for (let k = 0; k < log.length; k++) {
    const e = log[k]!;
    if (e.index !== k + 1) return `log position ${k + 1} holds index ${e.index}`;
    if (e.term < prevTerm) return `term goes down at index ${e.index}: ${prevTerm} -> ${e.term}`;
    prevTerm = e.term;
  }
  return null;
}

function pairMismatch(a: NodeView, b: NodeView): string | null {
  // The highest index where both logs hold an entry of the same term: everything up to it must be identical.
  let top = Math.min(a.log.length, b.log.length);
  while (top > 0 && a.log[top - 1]!.term !== b.log[top - 1]!.term) top--;
  for (let k = top - 1; k >= 0; k--) {
    const ea = a.log[k]!;
    const eb = b.log[k]!;
    if (!sameEntry(ea, eb)) {
      const anchor = a.log[top - 1]!;
      return `${a.id} and ${b.id} both hold index ${anchor.index} term ${anchor.term} but differ at index ${k + 1}: ${a.id} ${describeEntry(ea)} vs ${b.id} ${describeEntry(eb)}`;
    }
  }
  return null;
}

/** Leader completeness: an entry committed in a term is present in the logs of the leaders of all higher
 *  terms (§5.4). Checked on each leader's log as it was when it took office. */
export const leaderCompleteness: Checker = (view) => {
  const out: Violation[] = [];
  for (const leader of view.leaders) {
    if (!leader.log) continue;
    for (const [index, rec] of view.committed) {
      const commitTerm = view.commitTerms.get(index);
      if (commitTerm === undefined || commitTerm >= leader.term) continue;
      const held = leader.log[index - 1];
      if (!held || !sameEntry(held, rec.entry)) {
        out.push(
          violation(
            view,
            "leaderCompleteness",
            `${leader.id}, leader of term ${leader.term} (tick ${leader.tick}), lacks ${describeEntry(rec.entry)} committed by term ${commitTerm} (applied by ${rec.node} at tick ${rec.tick}); it holds ${describeEntry(held)}`,
          ),
        );
      }
    }
  }
  return out;
};

/** State machine safety: no two nodes ever apply different entries at one index (§5.4.3); every node applies
 *  contiguously from index 1. */
export const stateMachineSafety: Checker = (view) => {
  const out: Violation[] = [];
  for (const n of view.nodes) {
    for (let k = 0; k < n.applied.length; k++) {
      const e = n.applied[k]!;
      if (e.index !== k + 1) {
        out.push(violation(view, "stateMachineSafety", `${n.id} applied index ${e.index} as its ${k + 1}th entry`));
        break;
      }
      const first = view.committed.get(e.index);
      if (first && !sameEntry(first.entry, e)) {
        out.push(
          violation(
            view,
            "stateMachineSafety",
            `index ${e.index}: ${n.id} applied ${describeEntry(e)} but ${first.node} applied ${describeEntry(first.entry)} at tick ${first.tick}`,
          ),
        );
        break;
      }
    }
  }
  return out;
};

/** No committed entry is lost: an entry applied anywhere stays in the durable log of enough voters of the
 *  configuration in force that every majority of them holds it (a commit needs a majority of synced
 *  acknowledgements, no correct leader ever overwrites a committed entry, and one-at-a-time membership changes
 *  keep the majorities of consecutive configurations overlapping). With an even number of voters that is half of
 *  them; otherwise a majority. */
export const committedEntryLost: Checker = (view) => {
  const out: Violation[] = [];
  const conf = confInForce(view);
  const voters = conf ? conf.voters : view.nodes.map((n) => n.id);
  const counted = view.nodes.filter((n) => voters.includes(n.id));
  const need = voters.length - majorityOf(voters.length) + 1;
  for (const [index, rec] of view.committed) {
    let holders = 0;
    for (const n of counted) {
      const e = n.durableLog[index - 1];
      if (e && sameEntry(e, rec.entry)) holders++;
    }
    if (holders < need) {
      out.push(
        violation(
          view,
          "committedEntryLost",
          `${describeEntry(rec.entry)} (applied by ${rec.node} at tick ${rec.tick}) is durable on ${holders} of ${voters.length} nodes, below a majority of ${need} (voters {${voters.join(",")}})`,
        ),
      );
    }
  }
  return out;
};

function majorityOf(n: number): number {
  return Math.floor(n / 2) + 1;
}

/** The configuration in force: the last committed one, if the view records membership. */
function confInForce(view: ClusterView): ConfState | null {
  return view.confs.length > 0 ? view.confs[view.confs.length - 1]!.conf : null;
}

const counted = new WeakMap<QuorumRecord, ReadonlySet<NodeId>>();

/** The members of a quorum record that count: voters of the configuration it was decided under. */
function countedMembers(q: QuorumRecord): ReadonlySet<NodeId> {
  let set = counted.get(q);
  if (!set) {
    set = new Set(q.members.filter((id) => q.voters.includes(id)));
    counted.set(q, set);
  }
  return set;
}

function quorumText(q: QuorumRecord): string {
  const what = q.kind === "election" ? `${q.by}'s election` : `${q.by}'s commit of index ${q.index ?? "?"}`;
  return `${what} in term ${q.term} (tick ${q.tick}) by {${q.members.join(",")}} of voters {${q.voters.join(",")}}`;
}

/** Never two disjoint majorities in one term: every election and every commit rests on a majority of the
 *  configuration in force on the node that decided, and within one term any two such majorities share a node
 *  (checked between different deciders, and between a leader's election and each of its commits, which is where
 *  two membership changes in flight would show). */
export const disjointMajorities: Checker = (view) => {
  const out: Violation[] = [];
  const byTerm = new Map<number, QuorumRecord[]>();
  for (const q of view.quorums) {
    const members = countedMembers(q);
    if (members.size < majorityOf(q.voters.length)) {
      out.push(violation(view, "disjointMajorities", `${quorumText(q)}: ${members.size} voters are not a majority of ${q.voters.length}`));
    }
    const list = byTerm.get(q.term);
    if (list) list.push(q);
    else byTerm.set(q.term, [q]);
  }
  for (const [term, list] of byTerm) {
    // Pairs worth comparing: an election against anything else in its term, and commits of different deciders.
    // (Two commits of one leader both hold the leader.) Linear in the term's records: a term has one election.
    const disjoint = (qa: QuorumRecord, qb: QuorumRecord) => {
      const inA = countedMembers(qa);
      if (![...countedMembers(qb)].some((id) => inA.has(id))) {
        out.push(violation(view, "disjointMajorities", `term ${term} has two disjoint majorities: ${quorumText(qa)} and ${quorumText(qb)}`));
      }
    };
    const elections = list.filter((q) => q.kind === "election");
    for (const e of elections) for (const q of list) if (q !== e && !(q.kind === "election" && elections.indexOf(q) < elections.indexOf(e))) disjoint(e, q);
    const commitsBy = new Map<NodeId, QuorumRecord[]>();
    for (const q of list) {
      if (q.kind !== "commit") continue;
      const g = commitsBy.get(q.by);
      if (g) g.push(q);
      else commitsBy.set(q.by, [q]);
    }
    const groups = [...commitsBy.values()];
    for (let a = 0; a < groups.length; a++) for (let b = a + 1; b < groups.length; b++) for (const qa of groups[a]!) for (const qb of groups[b]!) disjoint(qa, qb);
  }
  return out;
};

/** A removed node never wins an election: once it learned that its removal committed it never leads again, and
 *  no node leads after a removal committed without that removal in its log. (A removed node that holds the
 *  removal entry but has not yet learned it committed may still win and then commit its own removal: with
 *  configurations that take effect when applied, as here and in etcd, that is allowed.) */
export const removedNodeLeads: Checker = (view) => {
  const out: Violation[] = [];
  for (const r of view.removals) {
    // The same id added back (remove, wipe, --join, add): from that commit on it is a member and may lead.
    const readdedTick = view.confs.find((c) => c.index > r.index && isMemberOf(c.conf, r.id))?.tick ?? Infinity;
    for (const l of view.leaders) {
      if (l.id !== r.id || l.tick <= r.tick || l.tick >= readdedTick) continue;
      if (r.knownTick !== undefined && l.tick > r.knownTick) {
        out.push(
          violation(
            view,
            "removedNodeLeads",
            `${l.id} became leader of term ${l.term} at tick ${l.tick}, after it applied its own removal ${describeEntry(r.entry)} at tick ${r.knownTick}`,
          ),
        );
        continue;
      }
      const held = l.log?.[r.index - 1];
      if (l.log && !(held && sameEntry(held, r.entry))) {
        out.push(
          violation(
            view,
            "removedNodeLeads",
            `${l.id} became leader of term ${l.term} at tick ${l.tick} although its removal ${describeEntry(r.entry)} was committed at tick ${r.tick} and its log holds ${describeEntry(held)} there`,
          ),
        );
      }
    }
  }
  return out;
};

function isMemberOf(conf: ConfState, id: NodeId): boolean {
  return conf.voters.includes(id) || conf.learners.includes(id);
}

/** No member of the latest committed configuration has stopped for good (issue #16): a node that leaves while
 *  the cluster counts it (it replayed an old removal that a later entry undoes) is a dead voter, and the next
 *  failure costs the cluster its quorum. */
export const memberStopped: Checker = (view) => {
  const conf = view.confs[view.confs.length - 1];
  if (!conf) return [];
  const out: Violation[] = [];
  for (const n of view.nodes) {
    if (n.stoppedForGood && isMemberOf(conf.conf, n.id)) {
      out.push(
        violation(
          view,
          "memberStopped",
          `${n.id} has stopped for good but is a ${conf.conf.voters.includes(n.id) ? "voter" : "learner"} of the configuration committed at index ${conf.index} (${[...conf.conf.voters].join(",")}${conf.conf.learners.length ? ` learners ${conf.conf.learners.join(",")}` : ""})`,
        ),
      );
    }
  }
  return out;
};

/** ReadIndex: a read point is never below what was already applied somewhere when the read began, so a read
 *  sees every write that completed before it started (the basic half of linearizability). */
export const linearizableRead: Checker = (view) => {
  const out: Violation[] = [];
  for (const r of view.reads) {
    if (r.answerIndex !== undefined && r.answerIndex < r.minIndex) {
      out.push(
        violation(
          view,
          "linearizableRead",
          `read ${r.context} on ${r.node} (asked at tick ${r.requestTick}) got read index ${r.answerIndex}, but index ${r.minIndex} was already applied when it was asked`,
        ),
      );
    }
  }
  return out;
};

/** The Raft checkers over a ClusterView (the scheduler's are in scheduler-checkers.ts, over a SchedulerView). */
export type SafetyCheckerName = Exclude<
  CheckerName,
  | "liveness" | "readyContract" | "coreThrew" | "taskLost" | "taskDuplicated" | "attemptFencing" | "replicaDivergence" | "reconfigQuorumLoss" | "staleAttemptStart" | "executorCapacity" | "placementCapacity" | "watchStreamsAgree"
  | "deletedTaskReturned" | "deletionDivergence" | "scheduleSlotTwice" | "scheduleSlotReplayed" | "scheduleSlotSkipped" | "taskFieldPlacement" | "attemptOnOneWorker"
>;

export const SAFETY_CHECKERS: Readonly<Record<SafetyCheckerName, Checker>> = {
  electionSafety,
  logMatching,
  leaderCompleteness,
  stateMachineSafety,
  committedEntryLost,
  linearizableRead,
  disjointMajorities,
  removedNodeLeads,
  memberStopped,
};

export const SAFETY_CHECKER_NAMES = Object.keys(SAFETY_CHECKERS) as SafetyCheckerName[];

/** Every safety checker over one view. */
export function checkAll(view: ClusterView): Violation[] {
  const out: Violation[] = [];
  for (const name of SAFETY_CHECKER_NAMES) out.push(...SAFETY_CHECKERS[name](view));
  return out;
}
