// The public surface of the pure core. The runner (src/node), the simulator (test/sim) and the paper tests
// (test/paper) drive a core only through this interface; src/raft/raft.ts implements it as `RaftNode`.
import type { Storage } from "./storage.js";
import type { ConfChange, ConfState, Message, NodeId, Ready, Role } from "./types.js";

/** Deliberately broken rules, for proving that the simulator's checkers fire. Never set outside tests. */
export interface BrokenRules {
  /** A voter grants a vote to every candidate of a term, not just the first (breaks election safety). */
  readonly grantTwoVotesPerTerm?: boolean;
  /** The leader commits entries of earlier terms by counting replicas (the Figure 8 bug, §5.4.2). */
  readonly commitOldTermEntries?: boolean;
  /** A follower accepts AppendEntries without checking prevLogIndex/prevLogTerm (breaks log matching). */
  readonly skipLogConsistencyCheck?: boolean;
  /** A voter ignores whether the candidate's log is up to date (§5.4.1; breaks leader completeness). */
  readonly skipUpToDateCheck?: boolean;
}

export interface RaftConfig {
  readonly id: NodeId;
  /** What is durable; read synchronously. Its initial state gives term, vote, commit and membership. */
  readonly storage: Storage;
  /** Election timeout, randomized per term uniformly in [min, max] ticks (10 ms ticks: 15..30 = 150–300 ms). */
  readonly electionTicksMin: number;
  readonly electionTicksMax: number;
  /** Leader heartbeat interval in ticks (5 = 50 ms). */
  readonly heartbeatTicks: number;
  /** Seeded PRNG returning [0, 1): the core's only source of randomness. */
  readonly random: () => number;
  /** The index the state machine has already applied (restart after a snapshot); default: snapshot index. */
  readonly applied?: number;
  /** Pre-vote (dissertation §9.6); default true. */
  readonly preVote?: boolean;
  /** A leader steps down when it has not heard from a quorum for an election timeout; default true. */
  readonly checkQuorum?: boolean;
  /** Batching limits for one AppendEntries message. Defaults: 512 entries, 1 MiB. */
  readonly maxEntriesPerMsg?: number;
  readonly maxBytesPerMsg?: number;
  /** Pipelining: at most this many unacknowledged appends per follower in replicate state. Default 64. */
  readonly maxInflightMsgs?: number;
  /** Back-pressure: the leader refuses proposals (PROPOSAL_TOO_LARGE) while this many bytes are
   *  appended but uncommitted. Default 64 MiB. */
  readonly maxUncommittedBytes?: number;
  readonly brokenRules?: BrokenRules;
}

export type ProgressState = "probe" | "replicate" | "snapshot";

export interface PeerProgress {
  readonly match: number;
  readonly next: number;
  readonly state: ProgressState;
  readonly recentActive: boolean;
  readonly learner: boolean;
}

export interface RaftStatus {
  readonly id: NodeId;
  readonly role: Role;
  readonly term: number;
  readonly vote: NodeId | null;
  readonly leaderId: NodeId | null;
  readonly commit: number;
  readonly applied: number;
  readonly lastIndex: number;
  readonly conf: ConfState;
  /** Only on a leader: every other member's replication progress. */
  readonly progress?: Readonly<Record<NodeId, PeerProgress>>;
  /** Only on a leader: the target of a leadership transfer in progress. */
  readonly transferee?: NodeId | null;
}

export interface Proposed {
  readonly index: number;
  readonly term: number;
}

export interface RaftCore {
  readonly id: NodeId;
  /** One unit of logical time. Drives election timeouts, heartbeats and check-quorum. */
  tick(): void;
  /** Feeds a message from a peer. Messages for another node, from stale terms or from non-members are
   *  handled as the paper says (mostly ignored); a step never throws for anything a peer can send. */
  step(m: Message): void;
  /** Starts an election now (as if the election timeout elapsed); with pre-vote, a pre-vote round first. */
  campaign(): void;
  /** Appends a command on the leader. Returns where it will commit if leadership holds.
   *  Throws RaftError NOT_LEADER (with leaderId), TRANSFER_IN_PROGRESS, PROPOSAL_TOO_LARGE. */
  propose(data: Uint8Array): Proposed;
  /** Appends a membership change (one server at a time). Throws as propose, plus CONF_CHANGE_IN_PROGRESS
   *  while an earlier change is uncommitted or the leader has not yet committed an entry of its term,
   *  and INVALID_CONF_CHANGE for a change that makes no sense (remove the last voter, add an existing one). */
  proposeConfChange(cc: ConfChange): Proposed;
  /** Requests a linearizable read point. The answer arrives as a ReadState with this context in a later
   *  Ready (on a follower: after a round trip to the leader). Throws NOT_LEADER when no leader is known. */
  readIndex(context: string): void;
  /** Asks the leader to hand leadership to `to` (TimeoutNow once `to` is caught up). */
  transferLeadership(to: NodeId): void;
  /** A local event: the runner's own log write has stalled (src/node/disk-stall-rule.ts). A leader becomes a
   *  follower of the same term with no known leader (it cannot commit anything while its disk hangs, and must not
   *  answer as leader); anyone else is unaffected. Changes neither term nor vote, so nothing needs persisting. */
  stepDown(): void;
  /** Tells the leader a peer could not be reached, so it probes instead of pipelining. */
  reportUnreachable(to: NodeId): void;
  /** Tells the leader how sending a snapshot to `to` ended. */
  reportSnapshot(to: NodeId, ok: boolean): void;
  hasReady(): boolean;
  /** The next batch of work; see the ordering contract on `Ready`. */
  ready(): Ready;
  /** Acknowledges that everything in `rd` was persisted, sent and applied. */
  advance(rd: Ready): void;
  status(): RaftStatus;
  /** Cheap reads for hot paths (status() copies the membership and progress). */
  currentRole(): Role;
  currentLeader(): NodeId | null;
}
