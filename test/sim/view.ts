// What the checkers see: a recorded view of the whole cluster at one tick plus the history they need
// (every leader ever seen, every entry ever applied). Checkers are pure functions over this value, so a
// test can hand them a made-up broken history as easily as the simulator hands them a real one.
import type { FieldPlacementRecord } from "./task-field-checkers.js";
import type { ConfState, Entry, NodeId, Role } from "../../src/raft/types.js";
import type { TaskState } from "../../src/scheduler/types.js";

export interface NodeView {
  readonly id: NodeId;
  readonly alive: boolean;
  /** "down" while crashed. */
  readonly role: Role | "down";
  readonly term: number;
  /** The log the node holds now: its durable log overlaid with the Ready being persisted (durable only while
   *  down). log[k].index === k + 1: entries covered by the node's snapshot are the entries its data encodes. */
  readonly log: readonly Entry[];
  /** What survives a crash: the synced storage (snapshot entries, then the stored log after the snapshot). */
  readonly durableLog: readonly Entry[];
  /** The state machine of the current incarnation: applied[k].index === k + 1 (a restart restores the stored
   *  snapshot and re-applies from there). */
  readonly applied: readonly Entry[];
  /** The node's task table (its state machine's scheduler half), at applied index applied.length. */
  readonly tasks?: TaskTableReader;
  /** Stopped for good: it left the cluster on its own (its removal applied) or an operator retired it. */
  readonly stoppedForGood?: boolean;
}

/** What the scheduler checkers read of a node's task table. */
export interface TaskTableReader {
  getTask(id: string): { readonly state: TaskState; readonly attempt: number } | undefined;
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

/** A set of nodes that made a decision in a term: the voters whose grants elected a leader ("election"), or the
 *  voters that durably held an entry when a leader's commit index passed it ("commit"). `voters` is the
 *  configuration in force on the deciding node at that moment (from its applied entries, not from the core). */
export interface QuorumRecord {
  readonly term: number;
  readonly kind: "election" | "commit";
  /** The candidate or leader that decided. */
  readonly by: NodeId;
  /** For a commit: the index committed. */
  readonly index?: number;
  readonly members: readonly NodeId[];
  readonly voters: readonly NodeId[];
  readonly tick: number;
}

/** A membership change observed committed: the first application of its config entry anywhere. */
export interface ConfRecord {
  readonly index: number;
  readonly tick: number;
  /** The configuration from this index on. */
  readonly conf: ConfState;
}

/** A committed removal of `id`: from `tick` on (first applied anywhere) it is not a member. `knownTick` is when
 *  the removed node itself learned it (applied the entry or a snapshot past it), if it has. */
export interface RemovalRecord {
  readonly id: NodeId;
  readonly index: number;
  readonly tick: number;
  readonly entry: Entry;
  readonly knownTick?: number;
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
  /** The bootstrap configuration, then every committed change in index order; the last is the one in force. */
  readonly confs: readonly ConfRecord[];
  readonly quorums: readonly QuorumRecord[];
  readonly removals: readonly RemovalRecord[];
}

// ---------------------------------------------------------------------------------------------------------------
// The scheduler's history: what clients were told, and what every replica's apply() did.
// ---------------------------------------------------------------------------------------------------------------

/** A client was told: "task `id` exists" (its submit applied on the node it proposed to, at `index`), or
 *  "attempt `attempt` of task `id` completed" (the worker's report applied at `index`). From `index` on, every
 *  replica's table holds the task, and a completed task stays completed at that attempt. */
export interface TaskAck {
  readonly kind: "submit" | "complete";
  readonly id: string;
  readonly index: number;
  readonly attempt?: number;
  readonly node: NodeId;
  readonly tick: number;
}

/** A replica's apply() created task `id` at `index` (a submit whose id it did not hold). */
export interface CreationRecord {
  readonly id: string;
  readonly index: number;
  readonly node: NodeId;
  readonly tick: number;
}

/** A replica's apply() gave attempt `attempt` of task `id` to `worker`, at `index`. */
export interface AssignmentRecord {
  readonly id: string;
  readonly attempt: number;
  readonly worker: NodeId;
  readonly index: number;
  readonly node: NodeId;
  readonly tick: number;
}

/** A replica's apply() accepted a completion or failure report carrying `attempt` for task `id` at `index`
 *  (and changed the task: a repeated report of an already finished attempt is not recorded). */
export interface FinishRecord {
  readonly id: string;
  readonly attempt: number;
  readonly kind: "complete" | "fail";
  readonly index: number;
  readonly node: NodeId;
  readonly tick: number;
}

/** A replica's apply() took attempt `attempt` of task `id` away from its worker at `index` without a report:
 *  the worker was declared dead or removed (the task goes back to pending) or the task was cancelled. From
 *  then on no report of that attempt may be accepted. */
export interface ReleaseRecord {
  readonly id: string;
  readonly attempt: number;
  readonly why: "workerDead" | "workerRemoved" | "cancel";
  readonly index: number;
  readonly node: NodeId;
  readonly tick: number;
}

/** A replica's whole table (TaskTable.snapshot() bytes) at applied index `index`. */
/** A replica's apply() of a delete command at `index` removed `ids` (issue 13). */
export interface DeletionRecord {
  readonly ids: readonly string[];
  readonly index: number;
  readonly node: NodeId;
  readonly tick: number;
}

/** A replica's apply() of a scheduleFire created the task of slot `slotMs` of `schedule` at `index`. */
export interface SlotRecord {
  readonly schedule: string;
  readonly slotMs: number;
  /** A scheduleFire's leader clock when it proposed (command.nowMs) and the slot after this one: README's missed-slot
   *  policy fires only the slot whose window holds that time (scheduleSlotReplayed). */
  readonly firedAtMs?: number;
  readonly nextSlotMs?: number | null;
  readonly index: number;
  readonly node: NodeId;
  readonly tick: number;
}

/** One leader (node, incarnation, term) ran its duties at every tick from `fromMs` through at least the end of slot
 *  `slotMs`'s window: the slot was due while a leader existed the whole time, so that leader must have proposed it
 *  (`proposed`) or it must exist already (scheduleSlotSkipped). Whether a proposed fire commits is Raft's liveness. */
export interface SlotDueRecord {
  readonly schedule: string;
  readonly slotMs: number;
  readonly leader: string;
  readonly fromMs: number;
  readonly checkedAtMs: number;
  readonly proposed: boolean;
}

export interface TableStateRecord {
  readonly index: number;
  readonly node: NodeId;
  readonly tick: number;
  readonly bytes: Uint8Array;
}

/** A node's executor started attempt `attempt` of task `id` at `tick`. `since` is the tick its executor (the
 *  node's current incarnation) began: everything committed before then the node could know of by catching up. */
export interface AttemptStartRecord {
  readonly id: string;
  readonly attempt: number;
  readonly node: NodeId;
  readonly tick: number;
  readonly since: number;
}

/** What one node's executor runs at `tick`: every handler that has not returned, aborted ones included. */
export interface ExecutorLoadRecord {
  readonly node: NodeId;
  readonly tick: number;
  readonly capacity: number;
  readonly handlers: readonly { readonly id: string; readonly attempt: number; readonly aborted: boolean }[];
}

/** One worker's load as the leader saw it when it planned an assign command (leader-duties.ts). */
export interface PlacementRecord {
  readonly leader: NodeId;
  readonly tick: number;
  readonly worker: NodeId;
  readonly capacity: number;
  /** Tasks the table assigns the worker. */
  readonly active: number;
  /** Aborted handlers still running there that the worker had told the leader of (its own, for the leader). */
  readonly lingering: number;
  /** Slots taken by assignments still in flight minus slots given back by its reports in flight (negative when
   *  more reports than assignments are on their way; src/node/placement-pipeline.ts). */
  readonly inFlight: number;
  /** Tasks the new command places on it. */
  readonly placed: number;
}

export interface SchedulerView {
  readonly seed: number;
  readonly tick: number;
  /** The nodes whose tables are checked (their `tasks` set), each at applied index applied.length. */
  readonly nodes: readonly NodeView[];
  readonly acks: readonly TaskAck[];
  readonly creations: readonly CreationRecord[];
  readonly assignments: readonly AssignmentRecord[];
  readonly finishes: readonly FinishRecord[];
  readonly releases: readonly ReleaseRecord[];
  readonly tableStates: readonly TableStateRecord[];
  readonly starts?: readonly AttemptStartRecord[];
  readonly executorLoads?: readonly ExecutorLoadRecord[];
  readonly placements?: readonly PlacementRecord[];
  /** Deletions applied (lifecycle runs): an acknowledged task deleted since is not lost. */
  readonly deletions?: readonly DeletionRecord[];
  readonly slots?: readonly SlotRecord[];
  readonly slotsDue?: readonly SlotDueRecord[];
  readonly fieldPlacements?: readonly FieldPlacementRecord[];
}

export type CheckerName =
  | "electionSafety"
  | "logMatching"
  | "leaderCompleteness"
  | "stateMachineSafety"
  | "committedEntryLost"
  | "linearizableRead"
  | "disjointMajorities"
  | "removedNodeLeads"
  | "reconfigQuorumLoss"
  | "memberStopped"
  | "taskLost"
  | "taskDuplicated"
  | "attemptFencing"
  | "replicaDivergence"
  | "staleAttemptStart"
  | "executorCapacity"
  | "placementCapacity"
  | "watchStreamsAgree"
  | "deletedTaskReturned"
  | "deletionDivergence"
  | "scheduleSlotTwice"
  | "scheduleSlotReplayed"
  | "scheduleSlotSkipped"
  | "taskFieldPlacement"
  | "attemptOnOneWorker"
  | "liveness"
  | "readyContract"
  | "coreThrew";

export interface Violation {
  readonly checker: CheckerName;
  readonly seed: number;
  readonly tick: number;
  readonly detail: string;
}
