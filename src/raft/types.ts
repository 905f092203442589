// The vocabulary of the pure Raft core: entries, persistent state, messages, and the Ready batch.
// Nothing in src/raft does I/O; these types are what crosses the boundary to the runner, storage and transport.

export type NodeId = string;

/** What an entry carries. `normal` entries hold state-machine commands (empty data = the leader's no-op);
 *  `config` entries hold an encoded ConfChange and take effect when applied. */
export type EntryKind = "normal" | "config";

export interface Entry {
  readonly term: number;
  readonly index: number;
  readonly kind: EntryKind;
  readonly data: Uint8Array;
}

/** The cluster membership. Voters count toward quorums; learners receive the log but never vote. */
export interface ConfState {
  readonly voters: readonly NodeId[];
  readonly learners: readonly NodeId[];
}

/** A single membership change (one server at a time; §4.1 of the Raft dissertation). */
/** What the application records about a member with its addition (the core only carries it, as etcd's
 *  ConfChange.Context): a member added at runtime has its capacity and worker flag replicated like its url. */
export interface MemberFacts {
  readonly capacity?: number;
  readonly worker?: boolean;
  /** The member's worker tags, sorted (a task's `requires` must all be among them). */
  readonly tags?: readonly string[];
}

export type ConfChange =
  | ({ readonly op: "addLearner"; readonly id: NodeId; readonly url?: string } & MemberFacts)
  | ({ readonly op: "addVoter"; readonly id: NodeId; readonly url?: string } & MemberFacts)
  | { readonly op: "remove"; readonly id: NodeId };

/** State that must be on stable storage before the node answers any RPC that depends on it (Figure 2). */
export interface HardState {
  readonly term: number;
  readonly vote: NodeId | null;
  readonly commit: number;
}

export interface SnapshotMeta {
  /** The last log index the snapshot covers. */
  readonly index: number;
  /** The term of the entry at `index`. */
  readonly term: number;
  /** The membership in force at `index`. */
  readonly conf: ConfState;
}

export interface Snapshot {
  readonly meta: SnapshotMeta;
  readonly data: Uint8Array;
}

export const EMPTY_HARD_STATE: HardState = Object.freeze({ term: 0, vote: null, commit: 0 });

// ---------------------------------------------------------------------------------------------------------------
// Network messages. Every message carries the sender's term; `from` and `to` are member ids.
// ---------------------------------------------------------------------------------------------------------------

interface MessageBase {
  readonly from: NodeId;
  readonly to: NodeId;
  readonly term: number;
}

/** RequestVote (§5.2) and its pre-vote twin (dissertation §9.6). For a pre-vote, `term` is the term the
 *  candidate *would* campaign in; nobody changes its own term on a pre-vote. */
export interface VoteRequest extends MessageBase {
  readonly type: "vote" | "preVote";
  readonly lastLogIndex: number;
  readonly lastLogTerm: number;
  /** Set by a leadership transfer: the voter must not refuse because it heard from a leader recently. */
  readonly transfer?: boolean;
}

export interface VoteResponse extends MessageBase {
  readonly type: "voteResp" | "preVoteResp";
  readonly reject: boolean;
}

/** AppendEntries (§5.3). */
export interface AppendRequest extends MessageBase {
  readonly type: "append";
  readonly prevLogIndex: number;
  readonly prevLogTerm: number;
  readonly entries: readonly Entry[];
  readonly commit: number;
}

export interface AppendResponse extends MessageBase {
  readonly type: "appendResp";
  /** On success: the follower's last index matching the leader's log (the new matchIndex).
   *  On reject: the prevLogIndex that was rejected. */
  readonly index: number;
  readonly reject: boolean;
  /** Fast backtracking (dissertation §5.3): on reject, the index to retry from and the follower's term there. */
  readonly rejectHint?: number;
  readonly logTerm?: number;
}

/** Leader heartbeat. Carries the commit index (clamped to what the follower is known to have) and, when a
 *  ReadIndex round is in flight, its context so the acknowledgements can be counted. */
export interface Heartbeat extends MessageBase {
  readonly type: "heartbeat";
  readonly commit: number;
  readonly context?: string;
}

export interface HeartbeatResponse extends MessageBase {
  readonly type: "heartbeatResp";
  readonly context?: string;
}

/** Snapshot installation. The core sends the whole snapshot as one message; the transport splits it into
 *  checksummed chunks and reassembles it (src/transport/snapshot-*.ts). */
export interface SnapshotRequest extends MessageBase {
  readonly type: "snapshot";
  readonly snapshot: Snapshot;
}

/** Leadership transfer: the leader tells a caught-up target to campaign at once (dissertation §3.10). */
export interface TimeoutNow extends MessageBase {
  readonly type: "timeoutNow";
}

/** A follower forwards a ReadIndex request to the leader, which answers with the read index. */
export interface ReadIndexRequest extends MessageBase {
  readonly type: "readIndex";
  readonly context: string;
}

export interface ReadIndexResponse extends MessageBase {
  readonly type: "readIndexResp";
  readonly context: string;
  readonly index: number;
}

export type Message =
  | VoteRequest
  | VoteResponse
  | AppendRequest
  | AppendResponse
  | Heartbeat
  | HeartbeatResponse
  | SnapshotRequest
  | TimeoutNow
  | ReadIndexRequest
  | ReadIndexResponse;

export type MessageType = Message["type"];

export const MESSAGE_TYPES: readonly MessageType[] = [
  "vote",
  "preVote",
  "voteResp",
  "preVoteResp",
  "append",
  "appendResp",
  "heartbeat",
  "heartbeatResp",
  "snapshot",
  "timeoutNow",
  "readIndex",
  "readIndexResp",
];

// ---------------------------------------------------------------------------------------------------------------
// Roles and the Ready batch.
// ---------------------------------------------------------------------------------------------------------------

export type Role = "follower" | "preCandidate" | "candidate" | "leader";

/** State that need not be persisted but that observers want to see change. */
export interface SoftState {
  readonly leaderId: NodeId | null;
  readonly role: Role;
}

/** The answer to a ReadIndex request: once the state machine has applied `index`, a read tagged `context`
 *  is linearizable. */
export interface ReadState {
  readonly index: number;
  readonly context: string;
}

/**
 * Everything the core wants done, in one batch. The runner MUST handle it in this order:
 *
 *  1. persist `snapshot` (if any), `entries` and `hardState` (if any) in ONE atomic, synced write. `entries`
 *     may start at an index the store already holds: everything from `entries[0].index` on is replaced
 *     (a conflicting suffix is truncated in the same write).
 *  2. only then send `messages`: a vote grant or an append acknowledgement must never leave the node before
 *     the state it promises is durable (Figure 2: "respond to RPCs only after updating stable storage").
 *     One exception (dissertation §10.2.1): a leader whose Ready changes neither term nor vote may send its
 *     appends and heartbeats while its own write is in flight. They promise nothing about the leader's disk,
 *     and nothing revealing a commit can leave before the write ends, since the next Ready follows advance().
 *  3. apply `committedEntries` to the state machine, in order, and apply `snapshot` to the state machine if
 *     present (before the committed entries, which follow it). Committed entries below `entries[0].index` are
 *     durable on a majority already and may be applied while this Ready's write is in flight; those this Ready
 *     itself adds (a single-voter cluster commits at once) only after it.
 *  4. answer the reads in `readStates` once the applied index reaches each one's `index`.
 *  5. call `advance(ready)` exactly once, with this same object, before asking for the next Ready.
 */
export interface Ready {
  readonly softState?: SoftState;
  readonly hardState?: HardState;
  readonly snapshot?: Snapshot;
  readonly entries: readonly Entry[];
  readonly messages: readonly Message[];
  readonly committedEntries: readonly Entry[];
  readonly readStates: readonly ReadState[];
  /** False when nothing in this batch needs an fsync (e.g. only messages or commits changed). */
  readonly mustSync: boolean;
}

/** Errors from the core carry a stable code, as everywhere in raftsched. */
export type RaftErrorCode =
  | "NOT_LEADER"
  | "TRANSFER_IN_PROGRESS"
  | "CONF_CHANGE_IN_PROGRESS"
  | "PROPOSAL_TOO_LARGE"
  | "COMPACTED"
  | "UNAVAILABLE"
  | "INVALID_CONF_CHANGE"
  | "INVARIANT";

export class RaftError extends Error {
  readonly code: RaftErrorCode;
  /** For NOT_LEADER: the leader this node knows of, if any. */
  readonly leaderId: NodeId | null;
  constructor(code: RaftErrorCode, message: string, leaderId: NodeId | null = null) {
    super(message);
    this.name = "RaftError";
    this.code = code;
    this.leaderId = leaderId;
  }
}
