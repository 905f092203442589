// What the checkers see: a recorded view of the whole cluster at one tick plus the history they need
// (every leader ever seen, every entry ever applied). Checkers are pure functions over this value, so a
// test can hand them a made-up broken history as easily as the simulator hands them a real one.
import type { Entry, NodeId, Role } from "../../src/raft/types.js";

export interface NodeView {
  readonly id: NodeId;
  readonly alive: boolean;
  /** "down" while crashed. */
  readonly role: Role | "down";
  readonly term: number;
  /** The log the node holds now: its durable log overlaid with the Ready being persisted (durable only while
   *  down). log[k].index === k + 1 (the simulator does not compact). */
  readonly log: readonly Entry[];
  /** What survives a crash: the synced storage. */
  readonly durableLog: readonly Entry[];
  /** Entries applied by the current incarnation, applied[k].index === k + 1 (a restart re-applies from 1). */
  readonly applied: readonly Entry[];
}

/** A node observed as leader of a term. `log` is its whole log at its first Ready as that term's leader
 *  (when every entry it holds is visible to the simulator); absent if it lost leadership before that. */
export interface LeaderRecord {
  readonly term: number;
  readonly id: NodeId;
  readonly tick: number;
  readonly log?: readonly Entry[];
}

/** The first application of an index anywhere: from then on this entry is committed at that index. */
export interface CommitRecord {
  readonly entry: Entry;
  readonly node: NodeId;
  readonly tick: number;
}

/** A ReadIndex request and, once answered, its read index. `minIndex` is the highest index applied anywhere
 *  when the request was made: a linearizable read point can never be below it. */
export interface ReadRecord {
  readonly node: NodeId;
  readonly context: string;
  readonly requestTick: number;
  readonly minIndex: number;
  readonly answerIndex?: number;
  readonly answerTick?: number;
}

export interface ClusterView {
  readonly seed: number;
  readonly tick: number;
  readonly nodes: readonly NodeView[];
  /** Every (term, leader) ever observed, in observation order. */
  readonly leaders: readonly LeaderRecord[];
  /** index -> the first entry applied there. */
  readonly committed: ReadonlyMap<number, CommitRecord>;
  /** index -> the lowest term in which some node's commit index was seen to cover it. This is at least the term
   *  in which the entry was really committed, so "leaders of later terms hold it" stays a sound check. */
  readonly commitTerms: ReadonlyMap<number, number>;
  readonly reads: readonly ReadRecord[];
}

export type CheckerName =
  | "electionSafety"
  | "logMatching"
  | "leaderCompleteness"
  | "stateMachineSafety"
  | "committedEntryLost"
  | "linearizableRead"
  | "liveness"
  | "readyContract"
  | "coreThrew";

export interface Violation {
  readonly checker: CheckerName;
  readonly seed: number;
  readonly tick: number;
  readonly detail: string;
}
