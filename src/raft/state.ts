// The state one Raft node carries, shared by the concern modules (roles, elections, replication, follower,
// propose, read-index, membership, ready) that RaftNode (raft.ts) composes. Plain data plus the few helpers every
// concern needs; no module here decides anything on its own.
import type { BrokenRules, RaftConfig } from "./api.js";
import { RaftLog } from "./log.js";
import { ReadOnly } from "./readonly.js";
import { ProgressTracker } from "./tracker.js";
import type { HardState, Message, NodeId, ReadState, Role, SoftState } from "./types.js";
import { RaftError } from "./types.js";

const DEFAULT_MAX_ENTRIES_PER_MSG = 512;
const DEFAULT_MAX_BYTES_PER_MSG = 1024 * 1024;
const DEFAULT_MAX_INFLIGHT_MSGS = 64;
const DEFAULT_MAX_UNCOMMITTED_BYTES = 64 * 1024 * 1024;
/** Outgoing messages are drained by every Ready; this only guards against a runner that never calls ready(). */
const MAX_QUEUED_MESSAGES = 100_000;

type Distribute<T> = T extends unknown ? Omit<T, "from" | "term"> & { term?: number } : never;
/** A message as the handlers build it; send() fills in `from` and, unless given, `term`. */
export type Outgoing = Distribute<Message>;

export class RaftState {
  readonly id: NodeId;
  term = 0;
  vote: NodeId | null = null;
  role: Role = "follower";
  /** Entries were proposed since the last broadcast: send appends when the next Ready is built. */
  appendPending = false;
  leaderId: NodeId | null = null;
  readonly log: RaftLog;
  readonly tracker: ProgressTracker;
  readonly readOnly = new ReadOnly();

  electionElapsedTicks = 0;
  heartbeatElapsedTicks = 0;
  randomizedElectionTicks = 0;
  readonly electionTicksMin: number;
  readonly electionTicksMax: number;
  readonly heartbeatTicks: number;
  readonly random: () => number;

  readonly preVote: boolean;
  readonly checkQuorum: boolean;
  readonly maxEntriesPerMsg: number;
  readonly maxBytesPerMsg: number;
  readonly maxUncommittedBytes: number;
  readonly broken: BrokenRules;

  /** On a leader: the index of the latest conf change proposed; no new one until it is applied. */
  pendingConfIndex = 0;
  /** Config entries up to this index are already reflected in tracker.conf (replayed at start or applied). */
  confAppliedThrough = 0;
  /** On a leader: payload bytes appended but not yet handed out as committed (back-pressure). */
  uncommittedBytes = 0;
  leadTransferee: NodeId | null = null;
  /** ReadIndex requests a new leader holds until it has committed an entry of its own term. */
  queuedReads: { from: NodeId; context: string }[] = [];

  msgs: Message[] = [];
  readStates: ReadState[] = [];
  prevSoftState: SoftState;
  prevHardState: HardState;
  readyOutstanding = false;

  /** Resolves the configuration and loads the log; membership replay and the first role are up to the caller. */
  constructor(cfg: RaftConfig) {
    if (!(cfg.electionTicksMin > 0 && cfg.electionTicksMax >= cfg.electionTicksMin)) {
      throw new RangeError("need 0 < electionTicksMin <= electionTicksMax");
    }
    if (!(cfg.heartbeatTicks > 0 && cfg.heartbeatTicks < cfg.electionTicksMin)) {
      throw new RangeError("need 0 < heartbeatTicks < electionTicksMin");
    }
    this.id = cfg.id;
    this.electionTicksMin = cfg.electionTicksMin;
    this.electionTicksMax = cfg.electionTicksMax;
    this.heartbeatTicks = cfg.heartbeatTicks;
    this.random = cfg.random;
    this.preVote = cfg.preVote ?? true;
    this.checkQuorum = cfg.checkQuorum ?? true;
    this.maxEntriesPerMsg = Math.max(1, cfg.maxEntriesPerMsg ?? DEFAULT_MAX_ENTRIES_PER_MSG);
    this.maxBytesPerMsg = Math.max(1, cfg.maxBytesPerMsg ?? DEFAULT_MAX_BYTES_PER_MSG);
    this.maxUncommittedBytes = cfg.maxUncommittedBytes ?? DEFAULT_MAX_UNCOMMITTED_BYTES;
    this.broken = cfg.brokenRules ?? {};

    const storage = cfg.storage;
    const { hardState, confState } = storage.initialState();
    this.log = new RaftLog(storage);
    const snapshotIndex = storage.snapshot().meta.index;
    if (hardState.commit > this.log.lastIndex()) {
      throw new RaftError("INVARIANT", `stored commit ${hardState.commit} is past the stored log end ${this.log.lastIndex()}`);
    }
    this.log.committed = Math.max(hardState.commit, snapshotIndex, this.log.committed);
    const applied = cfg.applied ?? snapshotIndex;
    if (applied > this.log.committed || applied < this.log.firstIndex() - 1) {
      throw new RaftError("INVARIANT", `applied ${applied} is outside [${this.log.firstIndex() - 1}, ${this.log.committed}]`);
    }
    this.log.applied = applied;

    this.tracker = new ProgressTracker(confState, Math.max(1, cfg.maxInflightMsgs ?? DEFAULT_MAX_INFLIGHT_MSGS));
    this.confAppliedThrough = snapshotIndex;
    this.term = hardState.term;
    this.vote = hardState.vote;
    this.prevHardState = hardState;
    this.prevSoftState = { leaderId: null, role: "follower" };
  }

  send(m: Outgoing): void {
    if (this.msgs.length >= MAX_QUEUED_MESSAGES) return; // Raft tolerates loss; never grow without bound
    this.msgs.push({ ...m, from: this.id, term: m.term ?? this.term } as Message);
  }

  softState(): SoftState {
    return { leaderId: this.leaderId, role: this.role };
  }

  hardState(): HardState {
    return { term: this.term, vote: this.vote, commit: this.log.committed };
  }

  /** No membership at all: a node started to join an existing cluster that has not heard from it yet. */
  unconfigured(): boolean {
    return this.tracker.conf.voters.length === 0;
  }

  promotable(): boolean {
    return this.tracker.isVoter(this.id);
  }

  committedEntryInCurrentTerm(): boolean {
    return this.log.term(this.log.committed) === this.term;
  }
}
