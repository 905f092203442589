// The pure Raft core (in the spirit of etcd-io/raft): a state machine driven by tick(), step(message) and the
// proposal calls, whose every effect is handed out as a Ready (see the ordering contract on Ready in types.ts).
//
// Roles pick the step and tick handlers: follower, preCandidate, candidate, leader. A learner is a follower that is
// not a voter: it never campaigns, and quorum math (quorum.ts) never counts it.
import type { BrokenRules, PeerProgress, Proposed, RaftConfig, RaftCore, RaftStatus } from "./api.js";
import { applyConfChange, confChangeProblem, decodeConfChange, encodeConfChange } from "./confchange.js";
import { RaftLog } from "./log.js";
import type { Progress } from "./progress.js";
import { ReadOnly } from "./readonly.js";
import { ProgressTracker } from "./tracker.js";
import type {
  AppendRequest,
  AppendResponse,
  ConfChange,
  ConfState,
  Entry,
  HardState,
  Heartbeat,
  HeartbeatResponse,
  Message,
  NodeId,
  ReadIndexRequest,
  ReadIndexResponse,
  ReadState,
  Ready,
  Role,
  Snapshot,
  SnapshotRequest,
  SoftState,
  VoteRequest,
} from "./types.js";
import { RaftError } from "./types.js";

const DEFAULT_MAX_ENTRIES_PER_MSG = 512;
const DEFAULT_MAX_BYTES_PER_MSG = 1024 * 1024;
const DEFAULT_MAX_INFLIGHT_MSGS = 64;
const DEFAULT_MAX_UNCOMMITTED_BYTES = 64 * 1024 * 1024;
/** Reads queued on a new leader until it commits an entry of its term; beyond this they are dropped. */
const MAX_QUEUED_READS = 4096;
/** Outgoing messages are drained by every Ready; this only guards against a runner that never calls ready(). */
const MAX_QUEUED_MESSAGES = 100_000;

type Distribute<T> = T extends unknown ? Omit<T, "from" | "term"> & { term?: number } : never;
/** A message as the handlers build it; send() fills in `from` and, unless given, `term`. */
type Outgoing = Distribute<Message>;

export class RaftNode implements RaftCore {
  readonly id: NodeId;
  private term = 0;
  private vote: NodeId | null = null;
  private role: Role = "follower";
  /** Entries were proposed since the last broadcast: send appends when the next Ready is built. */
  private appendPending = false;
  private leaderId: NodeId | null = null;
  private readonly log: RaftLog;
  private readonly tracker: ProgressTracker;
  private readonly readOnly = new ReadOnly();

  private electionElapsedTicks = 0;
  private heartbeatElapsedTicks = 0;
  private randomizedElectionTicks = 0;
  private readonly electionTicksMin: number;
  private readonly electionTicksMax: number;
  private readonly heartbeatTicks: number;
  private readonly random: () => number;

  private readonly preVote: boolean;
  private readonly checkQuorum: boolean;
  private readonly maxEntriesPerMsg: number;
  private readonly maxBytesPerMsg: number;
  private readonly maxUncommittedBytes: number;
  private readonly broken: BrokenRules;

  /** On a leader: the index of the latest conf change proposed; no new one until it is applied. */
  private pendingConfIndex = 0;
  /** Config entries up to this index are already reflected in tracker.conf (replayed at start or applied). */
  private confAppliedThrough = 0;
  /** On a leader: payload bytes appended but not yet handed out as committed (back-pressure). */
  private uncommittedBytes = 0;
  private leadTransferee: NodeId | null = null;
  /** ReadIndex requests a new leader holds until it has committed an entry of its own term. */
  private queuedReads: { from: NodeId; context: string }[] = [];

  private msgs: Message[] = [];
  private readStates: ReadState[] = [];
  private prevSoftState: SoftState;
  private prevHardState: HardState;
  private readyOutstanding = false;

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
    // Membership at restart: the snapshot's, then every committed config entry after it. Entries after the
    // commit index take effect when they commit, like any other.
    this.confAppliedThrough = snapshotIndex;
    this.replayConfChanges(snapshotIndex + 1, this.log.committed);

    this.term = hardState.term;
    this.vote = hardState.vote;
    this.becomeFollower(hardState.term, null);
    this.prevHardState = hardState;
    this.prevSoftState = { leaderId: null, role: "follower" };
  }

  // ---------------------------------------------------------------------------------------------------------
  // Public API
  // ---------------------------------------------------------------------------------------------------------

  tick(): void {
    if (this.role === "leader") this.tickLeader();
    else this.tickElection();
  }

  campaign(): void {
    this.hup(false);
  }

  propose(data: Uint8Array): Proposed {
    this.checkCanPropose(data.byteLength);
    return this.appendNew("normal", data);
  }

  proposeConfChange(cc: ConfChange): Proposed {
    const data = encodeConfChange(cc);
    this.checkCanPropose(data.byteLength);
    if (this.pendingConfIndex > this.log.applied) {
      throw new RaftError(
        "CONF_CHANGE_IN_PROGRESS",
        `a membership change (or the leader's first entry) at ${this.pendingConfIndex} is not applied yet`,
      );
    }
    const problem = confChangeProblem(this.tracker.conf, cc);
    if (problem !== null) throw new RaftError("INVALID_CONF_CHANGE", problem);
    const p = this.appendNew("config", data);
    this.pendingConfIndex = p.index;
    return p;
  }

  readIndex(context: string): void {
    if (this.role === "leader") {
      this.handleReadIndex(this.id, context);
      return;
    }
    if (this.leaderId === null) throw new RaftError("NOT_LEADER", "no leader known to serve a read index", null);
    this.send({ type: "readIndex", to: this.leaderId, context });
  }

  transferLeadership(to: NodeId): void {
    if (this.role !== "leader") return; // the runner forwards to the leader it knows
    if (to === this.id || !this.tracker.isVoter(to)) return;
    if (this.leadTransferee === to) return;
    this.leadTransferee = to;
    this.electionElapsedTicks = 0; // the transfer is abandoned after one election timeout (tickLeader)
    const pr = this.tracker.progress.get(to);
    if (!pr) return;
    if (pr.match === this.log.lastIndex()) this.send({ type: "timeoutNow", to });
    else this.sendAppend(to, pr);
  }

  reportUnreachable(to: NodeId): void {
    if (this.role !== "leader") return;
    const pr = this.tracker.progress.get(to);
    if (pr && pr.state === "replicate") pr.becomeProbe();
  }

  reportSnapshot(to: NodeId, ok: boolean): void {
    if (this.role !== "leader") return;
    const pr = this.tracker.progress.get(to);
    if (!pr || pr.state !== "snapshot") return;
    if (!ok) pr.pendingSnapshot = 0; // retry from the log (or a fresh snapshot) rather than the failed one
    // Either way wait for an answer (an appendResp, or a heartbeatResp) before sending again.
    pr.becomeProbe();
    pr.probeSent = true;
  }

  step(m: Message): void {
    if (typeof m !== "object" || m === null || m.to !== this.id || m.from === this.id) return;
    if (typeof m.term !== "number" || !Number.isSafeInteger(m.term) || m.term < 0) return;
    // Read-index traffic is a request/answer to whoever leads; its term does not order anything.
    if (m.type === "readIndex" || m.type === "readIndexResp") {
      this.stepReadIndex(m);
      return;
    }
    if (m.term > this.term) {
      if (m.type === "vote" || m.type === "preVote") {
        // §4.2.3: a server that heard from a leader within the minimum election timeout ignores (pre)votes, so
        // a partitioned or removed server cannot depose a working leader. A leadership transfer is exempt.
        const inLease = this.checkQuorum && this.leaderId !== null && this.electionElapsedTicks < this.electionTicksMin;
        if (inLease && m.transfer !== true) return;
      }
      if (m.type === "preVote") {
        // A pre-vote never changes anyone's term.
      } else if (m.type === "preVoteResp" && !m.reject) {
        // A granted pre-vote carries the term we would campaign in; we do not move to it yet.
      } else if (m.type === "append" || m.type === "heartbeat" || m.type === "snapshot") {
        this.becomeFollower(m.term, m.from);
      } else {
        this.becomeFollower(m.term, null);
      }
    } else if (m.term < this.term) {
      if ((this.checkQuorum || this.preVote) && (m.type === "append" || m.type === "heartbeat")) {
        // A stale leader (e.g. cut off, then healed) learns our term from this and steps down. Without it, with
        // pre-vote, a node with a higher term could never rejoin: its pre-votes fail and it ignores the leader.
        this.send({ type: "appendResp", to: m.from, index: 0, reject: false });
      } else if (m.type === "preVote") {
        this.send({ type: "preVoteResp", to: m.from, reject: true });
      }
      return;
    }

    if (m.type === "vote" || m.type === "preVote") {
      this.handleVoteRequest(m);
      return;
    }
    switch (this.role) {
      case "leader":
        this.stepLeader(m);
        break;
      case "candidate":
      case "preCandidate":
        this.stepCandidate(m);
        break;
      case "follower":
        this.stepFollower(m);
        break;
    }
  }

  hasReady(): boolean {
    if (this.readyOutstanding) return false;
    if (this.appendPending && this.role === "leader") return true;
    const ss = this.softState();
    if (ss.leaderId !== this.prevSoftState.leaderId || ss.role !== this.prevSoftState.role) return true;
    if (!sameHardState(this.hardState(), this.prevHardState)) return true;
    return (
      this.log.unstable.snapshot !== undefined ||
      this.log.unstable.entries.length > 0 ||
      this.msgs.length > 0 ||
      this.readStates.length > 0 ||
      this.log.hasNextCommittedEntries()
    );
  }

  ready(): Ready {
    if (this.readyOutstanding) throw new RaftError("INVARIANT", "ready() called again before advance()");
    this.flushPendingAppends();
    this.readyOutstanding = true;
    const ss = this.softState();
    const hs = this.hardState();
    const softChanged = ss.leaderId !== this.prevSoftState.leaderId || ss.role !== this.prevSoftState.role;
    const hardChanged = !sameHardState(hs, this.prevHardState);
    const snapshot = this.log.unstable.snapshot;
    const entries = this.log.unstable.entries.slice();
    const rd: Ready = {
      ...(softChanged ? { softState: ss } : {}),
      ...(hardChanged ? { hardState: hs } : {}),
      ...(snapshot ? { snapshot } : {}),
      entries,
      messages: this.msgs,
      committedEntries: this.log.nextCommittedEntries(this.maxBytesPerMsg),
      readStates: this.readStates,
      mustSync:
        (hardChanged && (hs.term !== this.prevHardState.term || hs.vote !== this.prevHardState.vote)) ||
        entries.length > 0 ||
        snapshot !== undefined,
    };
    this.msgs = [];
    this.readStates = [];
    this.prevSoftState = ss;
    if (hardChanged) this.prevHardState = hs;
    return rd;
  }

  advance(rd: Ready): void {
    if (!this.readyOutstanding) throw new RaftError("INVARIANT", "advance() without an outstanding Ready");
    this.readyOutstanding = false;
    if (rd.snapshot) {
      const idx = rd.snapshot.meta.index;
      this.log.unstable.stableSnapTo(idx);
      if (idx > this.log.applied && idx <= this.log.committed) this.log.applied = idx;
      this.confAppliedThrough = Math.max(this.confAppliedThrough, idx);
    }
    const lastNew = rd.entries[rd.entries.length - 1];
    if (lastNew) this.log.unstable.stableTo(lastNew.index, lastNew.term);
    const lastCommitted = rd.committedEntries[rd.committedEntries.length - 1];
    if (lastCommitted) {
      for (const e of rd.committedEntries) {
        if (e.data.byteLength > 0) this.uncommittedBytes = Math.max(0, this.uncommittedBytes - e.data.byteLength);
        if (e.kind === "config" && e.index > this.confAppliedThrough) {
          this.confAppliedThrough = e.index;
          this.applyConfEntry(e);
        }
      }
      this.log.appliedTo(lastCommitted.index);
    }
  }

  currentRole(): Role {
    return this.role;
  }

  currentLeader(): NodeId | null {
    return this.leaderId;
  }

  status(): RaftStatus {
    const base = {
      id: this.id,
      role: this.role,
      term: this.term,
      vote: this.vote,
      leaderId: this.leaderId,
      commit: this.log.committed,
      applied: this.log.applied,
      lastIndex: this.log.lastIndex(),
      conf: { voters: [...this.tracker.conf.voters], learners: [...this.tracker.conf.learners] },
    };
    if (this.role !== "leader") return base;
    const progress: Record<NodeId, PeerProgress> = {};
    for (const [id, pr] of this.tracker.progress) {
      if (id === this.id) continue;
      progress[id] = { match: pr.match, next: pr.next, state: pr.state, recentActive: pr.recentActive, learner: pr.learner };
    }
    return { ...base, progress, transferee: this.leadTransferee };
  }

  // ---------------------------------------------------------------------------------------------------------
  // Roles
  // ---------------------------------------------------------------------------------------------------------

  /** No membership at all: a node started to join an existing cluster that has not heard from it yet. */
  private unconfigured(): boolean {
    return this.tracker.conf.voters.length === 0;
  }

  private promotable(): boolean {
    return this.tracker.isVoter(this.id);
  }

  private reset(term: number): void {
    if (term !== this.term) {
      this.term = term;
      this.vote = null;
    }
    this.leaderId = null;
    this.electionElapsedTicks = 0;
    this.heartbeatElapsedTicks = 0;
    this.randomizedElectionTicks =
      this.electionTicksMin + Math.floor(this.random() * (this.electionTicksMax - this.electionTicksMin + 1));
    this.randomizedElectionTicks = Math.min(this.randomizedElectionTicks, this.electionTicksMax);
    this.leadTransferee = null;
    this.tracker.resetVotes();
    this.tracker.resetProgress(this.log.lastIndex());
    this.pendingConfIndex = 0;
    this.uncommittedBytes = 0;
    this.readOnly.reset();
    this.queuedReads = [];
  }

  private becomeFollower(term: number, leaderId: NodeId | null): void {
    this.reset(term);
    this.role = "follower";
    this.leaderId = leaderId;
  }

  private becomePreCandidate(): void {
    // Changes neither term nor vote: a pre-vote only asks whether an election could be won.
    this.role = "preCandidate";
    this.leaderId = null;
    this.tracker.resetVotes();
  }

  private becomeCandidate(): void {
    this.reset(this.term + 1);
    this.vote = this.id;
    this.role = "candidate";
  }

  private becomeLeader(): void {
    this.reset(this.term);
    this.role = "leader";
    this.leaderId = this.id;
    const self = this.tracker.progress.get(this.id);
    if (self) {
      self.becomeReplicate();
      self.recentActive = true;
    }
    // No conf change until everything in the log so far, including this no-op, is applied: that proves the
    // leader committed an entry of its own term (the fix for the single-server change bug).
    const noop = this.appendNew("normal", new Uint8Array(0));
    this.pendingConfIndex = noop.index;
  }

  /** Starts a (pre-)election if this node may: it is a voter, not leader, and applied every committed change. */
  private hup(transfer: boolean): void {
    if (this.role === "leader" || !this.promotable()) return;
    if (this.hasUnappliedConfChanges()) return;
    if (this.preVote && !transfer) this.startElection("preVote", false);
    else this.startElection("vote", transfer);
  }

  private startElection(kind: "preVote" | "vote", transfer: boolean): void {
    let campaignTerm: number;
    if (kind === "preVote") {
      this.becomePreCandidate();
      campaignTerm = this.term + 1;
    } else {
      this.becomeCandidate();
      campaignTerm = this.term;
    }
    this.tracker.recordVote(this.id, true);
    if (this.tracker.tallyVotes() === "won") {
      // A single-voter cluster wins at once.
      if (kind === "preVote") this.startElection("vote", transfer);
      else this.becomeLeader();
      return;
    }
    const lastLogIndex = this.log.lastIndex();
    const lastLogTerm = this.log.lastTerm();
    for (const to of this.tracker.conf.voters) {
      if (to === this.id) continue;
      this.send({
        type: kind,
        to,
        term: campaignTerm,
        lastLogIndex,
        lastLogTerm,
        ...(transfer ? { transfer: true } : {}),
      });
    }
  }

  private hasUnappliedConfChanges(): boolean {
    const lo = Math.max(this.log.applied, this.confAppliedThrough) + 1;
    const hi = this.log.committed + 1;
    if (lo >= hi) return false;
    try {
      return this.log.slice(lo, hi).some((e) => e.kind === "config");
    } catch {
      return false;
    }
  }

  private tickElection(): void {
    this.electionElapsedTicks++;
    if (this.promotable() && this.electionElapsedTicks >= this.randomizedElectionTicks) {
      this.electionElapsedTicks = 0;
      this.hup(false);
    }
  }

  private tickLeader(): void {
    this.heartbeatElapsedTicks++;
    this.electionElapsedTicks++;
    if (this.electionElapsedTicks >= this.electionTicksMax) {
      this.electionElapsedTicks = 0;
      if (this.checkQuorum) {
        if (!this.tracker.quorumActive()) {
          this.becomeFollower(this.term, null);
          return;
        }
        for (const [id, pr] of this.tracker.progress) if (id !== this.id) pr.recentActive = false;
      }
      this.leadTransferee = null; // a transfer not done within an election timeout is abandoned
    }
    if (this.heartbeatElapsedTicks >= this.heartbeatTicks) {
      this.heartbeatElapsedTicks = 0;
      this.bcastHeartbeat();
    }
  }

  // ---------------------------------------------------------------------------------------------------------
  // Votes
  // ---------------------------------------------------------------------------------------------------------

  private handleVoteRequest(m: VoteRequest): void {
    const respType = m.type === "vote" ? "voteResp" : "preVoteResp";
    const canVote =
      this.vote === m.from ||
      (this.vote === null && this.leaderId === null) ||
      (m.type === "preVote" && m.term > this.term) ||
      (m.type === "vote" && this.broken.grantTwoVotesPerTerm === true);
    const upToDate =
      this.broken.skipUpToDateCheck === true ||
      (Number.isSafeInteger(m.lastLogIndex) && Number.isSafeInteger(m.lastLogTerm) && this.log.isUpToDate(m.lastLogIndex, m.lastLogTerm));
    if (canVote && upToDate) {
      // The grant carries the candidate's term: for a pre-vote that is the term it would campaign in.
      this.send({ type: respType, to: m.from, term: m.term, reject: false });
      if (m.type === "vote") {
        this.electionElapsedTicks = 0;
        this.vote = m.from;
      }
    } else {
      this.send({ type: respType, to: m.from, reject: true });
    }
  }

  private stepCandidate(m: Message): void {
    switch (m.type) {
      case "append":
        this.becomeFollower(m.term, m.from);
        this.handleAppend(m);
        return;
      case "heartbeat":
        this.becomeFollower(m.term, m.from);
        this.handleHeartbeat(m);
        return;
      case "snapshot":
        this.becomeFollower(m.term, m.from);
        this.handleSnapshot(m);
        return;
      case "voteResp":
      case "preVoteResp": {
        const mine = this.role === "preCandidate" ? "preVoteResp" : "voteResp";
        if (m.type !== mine) return;
        this.tracker.recordVote(m.from, !m.reject);
        const result = this.tracker.tallyVotes();
        if (result === "won") {
          if (this.role === "preCandidate") this.startElection("vote", false);
          else this.becomeLeader();
        } else if (result === "lost") {
          this.becomeFollower(this.term, null);
        }
        return;
      }
      default:
        return;
    }
  }

  private stepFollower(m: Message): void {
    switch (m.type) {
      case "append":
        this.electionElapsedTicks = 0;
        this.leaderId = m.from;
        this.handleAppend(m);
        return;
      case "heartbeat":
        this.electionElapsedTicks = 0;
        this.leaderId = m.from;
        this.handleHeartbeat(m);
        return;
      case "snapshot":
        this.electionElapsedTicks = 0;
        this.leaderId = m.from;
        this.handleSnapshot(m);
        return;
      case "timeoutNow":
        // Leadership transfer: campaign at once, skipping pre-vote; voters must not refuse on the lease.
        this.hup(true);
        return;
      default:
        return;
    }
  }

  // ---------------------------------------------------------------------------------------------------------
  // Follower side of replication
  // ---------------------------------------------------------------------------------------------------------

  private handleAppend(m: AppendRequest): void {
    if (!validAppend(m)) return;
    if (this.unconfigured()) {
      // A joining node (empty storage, no membership) cannot use the log: the initial membership lives in the
      // leader's snapshot, not in entries. Rejecting down to index 0 makes the leader send its snapshot.
      this.send({ type: "appendResp", to: m.from, index: m.prevLogIndex, reject: true, rejectHint: 0, logTerm: 0 });
      return;
    }
    if (m.prevLogIndex < this.log.committed) {
      // Everything up to our commit is settled; tell the leader where we are.
      this.send({ type: "appendResp", to: m.from, index: this.log.committed, reject: false });
      return;
    }
    const lastNew = this.log.maybeAppend(
      m.prevLogIndex,
      m.prevLogTerm,
      m.commit,
      m.entries,
      this.broken.skipLogConsistencyCheck === true,
    );
    if (lastNew !== undefined) {
      this.send({ type: "appendResp", to: m.from, index: lastNew, reject: false });
      return;
    }
    // Fast backtracking: point the leader at the last index whose term could still match (<= its prevLogTerm).
    const hint = this.log.findConflictByTerm(Math.min(m.prevLogIndex, this.log.lastIndex()), m.prevLogTerm);
    this.send({
      type: "appendResp",
      to: m.from,
      index: m.prevLogIndex,
      reject: true,
      rejectHint: hint.index,
      logTerm: hint.term,
    });
  }

  private handleHeartbeat(m: Heartbeat): void {
    // The leader clamps commit to what it knows we hold; a commit past our log is never trusted.
    if (Number.isSafeInteger(m.commit) && m.commit <= this.log.lastIndex()) this.log.commitTo(m.commit);
    this.send({ type: "heartbeatResp", to: m.from, ...(m.context !== undefined ? { context: m.context } : {}) });
  }

  private handleSnapshot(m: SnapshotRequest): void {
    const s = m.snapshot;
    if (!validSnapshot(s)) return;
    if (this.restore(s)) {
      this.send({ type: "appendResp", to: m.from, index: this.log.lastIndex(), reject: false });
    } else {
      this.send({ type: "appendResp", to: m.from, index: this.log.committed, reject: false });
    }
  }

  /** Installs a leader's snapshot if it is news to us. Returns whether the log was replaced. */
  private restore(s: Snapshot): boolean {
    // A joining node takes even the leader's index-0 snapshot: it carries the membership it lacks.
    const joining = this.unconfigured() && s.meta.index >= this.log.committed && s.meta.conf.voters.length > 0;
    if (!joining && s.meta.index <= this.log.committed) return false;
    if (!joining && this.log.matchTerm(s.meta.index, s.meta.term)) {
      // We already hold the snapshot's last entry: just move the commit index.
      this.log.commitTo(s.meta.index);
      return false;
    }
    this.log.restore(s);
    this.tracker.setConf(s.meta.conf, this.log.lastIndex());
    this.confAppliedThrough = s.meta.index;
    return true;
  }

  // ---------------------------------------------------------------------------------------------------------
  // Leader
  // ---------------------------------------------------------------------------------------------------------

  private checkCanPropose(bytes: number): void {
    if (this.role !== "leader") throw new RaftError("NOT_LEADER", "not the leader", this.leaderId);
    if (this.leadTransferee !== null) {
      throw new RaftError("TRANSFER_IN_PROGRESS", `leadership is moving to ${this.leadTransferee}`, this.leaderId);
    }
    if (!this.tracker.progress.has(this.id)) throw new RaftError("NOT_LEADER", "this leader was removed", null);
    if (bytes > 0 && this.uncommittedBytes > 0 && this.uncommittedBytes + bytes > this.maxUncommittedBytes) {
      throw new RaftError("PROPOSAL_TOO_LARGE", `${this.uncommittedBytes} bytes are already waiting to commit`);
    }
  }

  private appendNew(kind: Entry["kind"], data: Uint8Array): Proposed {
    const index = this.log.lastIndex() + 1;
    const e: Entry = { term: this.term, index, kind, data };
    this.log.append([e]);
    this.uncommittedBytes += data.byteLength;
    this.tracker.progress.get(this.id)?.maybeUpdate(index);
    // A single-voter cluster commits at once; otherwise this is a no-op until followers acknowledge.
    if (this.maybeCommit()) this.onCommitAdvanced();
    // Proposals arriving together (one HTTP burst, one microtask) go out as ONE append per follower, built when
    // the runner next asks for a Ready, not one append per proposal.
    this.appendPending = true;
    return { index, term: this.term };
  }

  /** Sends the appends that proposals deferred; called as a Ready is built. */
  private flushPendingAppends(): void {
    if (!this.appendPending) return;
    this.appendPending = false;
    if (this.role === "leader") this.bcastAppend();
  }

  /** Figure 8: only an entry of the current term is committed by counting replicas. */
  private maybeCommit(): boolean {
    const mci = this.tracker.committed();
    if (mci <= this.log.committed) return false;
    if (this.log.term(mci) !== this.term && this.broken.commitOldTermEntries !== true) return false;
    this.log.commitTo(mci);
    return true;
  }

  private onCommitAdvanced(): void {
    if (this.queuedReads.length > 0 && this.committedEntryInCurrentTerm()) {
      const queued = this.queuedReads;
      this.queuedReads = [];
      for (const r of queued) this.handleReadIndex(r.from, r.context);
    }
  }

  private committedEntryInCurrentTerm(): boolean {
    return this.log.term(this.log.committed) === this.term;
  }

  private bcastAppend(): void {
    for (const [id, pr] of this.tracker.progress) if (id !== this.id) this.sendAppend(id, pr);
  }

  private bcastHeartbeat(): void {
    const context = this.readOnly.lastPendingContext();
    for (const [id, pr] of this.tracker.progress) {
      if (id === this.id) continue;
      this.send({
        type: "heartbeat",
        to: id,
        commit: Math.min(pr.match, this.log.committed),
        ...(context !== undefined ? { context } : {}),
      });
    }
  }

  /** Sends the next batch to `to` (or a snapshot when its next entries are compacted). Returns whether sent. */
  private sendAppend(to: NodeId, pr: Progress): boolean {
    if (pr.isPaused()) return false;
    const prevLogIndex = pr.next - 1;
    const prevLogTerm = this.log.term(prevLogIndex);
    let entries: Entry[] | undefined;
    if (prevLogTerm !== undefined) {
      try {
        entries = this.log.entriesFrom(pr.next, this.maxEntriesPerMsg, this.maxBytesPerMsg);
      } catch (e) {
        if (!(e instanceof RaftError && e.code === "COMPACTED")) throw e;
      }
    }
    if (prevLogTerm === undefined || entries === undefined) return this.sendSnapshot(to, pr);
    this.send({ type: "append", to, prevLogIndex, prevLogTerm, entries, commit: this.log.committed });
    const last = entries[entries.length - 1];
    pr.sentEntries(entries.length, last ? last.index : prevLogIndex);
    return true;
  }

  private sendSnapshot(to: NodeId, pr: Progress): boolean {
    if (!pr.recentActive) return false; // do not ship a snapshot to a peer we have not heard from
    // Index 0 is the bootstrap membership with an empty state: what a joining node needs.
    const snapshot = this.log.snapshot();
    this.send({ type: "snapshot", to, snapshot });
    pr.becomeSnapshot(snapshot.meta.index);
    return true;
  }

  private stepLeader(m: Message): void {
    const pr = this.tracker.progress.get(m.from);
    switch (m.type) {
      case "appendResp":
        if (pr) this.handleAppendResponse(m, pr);
        return;
      case "heartbeatResp":
        if (pr) this.handleHeartbeatResponse(m, pr);
        return;
      default:
        return; // vote requests are handled before; another leader of our term cannot exist
    }
  }

  private handleAppendResponse(m: AppendResponse, pr: Progress): void {
    if (!Number.isSafeInteger(m.index) || m.index < 0) return;
    pr.recentActive = true;
    if (m.reject) {
      let hint = typeof m.rejectHint === "number" && Number.isSafeInteger(m.rejectHint) ? m.rejectHint : m.index - 1;
      hint = Math.max(0, Math.min(hint, m.index));
      if (typeof m.logTerm === "number" && m.logTerm > 0) {
        // Skip every entry of ours whose term is above the follower's term at the hint: none of them can match.
        hint = this.log.findConflictByTerm(hint, m.logTerm).index;
      }
      if (m.index === 0) {
        // Nothing can fail to match at index 0 except on a joining node: it needs the snapshot (membership).
        if (pr.state !== "snapshot") this.sendSnapshot(m.from, pr);
        return;
      }
      if (pr.maybeDecrTo(m.index, hint)) {
        if (pr.state === "replicate") pr.becomeProbe();
        this.sendAppend(m.from, pr);
      }
      return;
    }
    if (m.index > this.log.lastIndex()) return; // acknowledges entries we never had: ignore
    const wasPaused = pr.isPaused();
    const updated = pr.maybeUpdate(m.index);
    if (pr.state === "snapshot" && m.index >= pr.pendingSnapshot && pr.match + 1 >= this.log.firstIndex()) {
      // The follower installed the snapshot (even an index-0 one, which moves no match): stream from it.
      pr.becomeProbe();
      pr.becomeReplicate();
      this.sendAppend(m.from, pr);
    }
    if (updated) {
      if (pr.state === "probe") {
        pr.becomeReplicate();
      } else if (pr.state === "replicate") {
        pr.inflights.freeLE(m.index);
      }
      if (this.maybeCommit()) {
        this.onCommitAdvanced();
        this.bcastAppend();
      } else if (wasPaused) {
        this.sendAppend(m.from, pr);
      }
      // Keep streaming while the window allows and entries remain.
      while (pr.next <= this.log.lastIndex() && this.sendAppendNonEmpty(m.from, pr)) {
        /* loop */
      }
      if (m.from === this.leadTransferee && pr.match === this.log.lastIndex()) {
        this.send({ type: "timeoutNow", to: m.from });
      }
    }
  }

  private sendAppendNonEmpty(to: NodeId, pr: Progress): boolean {
    if (pr.isPaused() || pr.next > this.log.lastIndex()) return false;
    return this.sendAppend(to, pr) && pr.state === "replicate";
  }

  private handleHeartbeatResponse(m: HeartbeatResponse, pr: Progress): void {
    pr.recentActive = true;
    pr.probeSent = false;
    if (pr.state === "replicate" && pr.inflights.full()) pr.inflights.freeFirstOne();
    if (pr.match < this.log.lastIndex()) this.sendAppend(m.from, pr);
    if (typeof m.context !== "string") return;
    const acks = this.readOnly.recvAck(m.from, m.context);
    if (!acks) return;
    if (this.tracker.tallyVotesOf(acks) !== "won") return;
    for (const r of this.readOnly.advance(m.context)) this.answerRead(r.from, r.context, r.index);
  }

  // ---------------------------------------------------------------------------------------------------------
  // ReadIndex
  // ---------------------------------------------------------------------------------------------------------

  private stepReadIndex(m: ReadIndexRequest | ReadIndexResponse): void {
    if (typeof m.context !== "string") return;
    if (m.type === "readIndex") {
      if (this.role === "leader") this.handleReadIndex(m.from, m.context);
      return;
    }
    if (this.role !== "leader" && Number.isSafeInteger(m.index) && m.index >= 0) {
      this.pushReadState({ index: m.index, context: m.context });
    }
  }

  private handleReadIndex(from: NodeId, context: string): void {
    const voters = this.tracker.conf.voters;
    if (voters.length === 1 && voters[0] === this.id) {
      this.answerRead(from, context, this.log.committed);
      return;
    }
    if (!this.committedEntryInCurrentTerm()) {
      // Our commit index may lag the real one until an entry of our term commits (§6.4): hold the read.
      if (this.queuedReads.length < MAX_QUEUED_READS) this.queuedReads.push({ from, context });
      return;
    }
    if (!this.readOnly.addRequest(this.log.committed, from, context)) return;
    this.readOnly.recvAck(this.id, context);
    this.bcastHeartbeat();
  }

  private answerRead(from: NodeId, context: string, index: number): void {
    if (from === this.id) this.pushReadState({ index, context });
    else this.send({ type: "readIndexResp", to: from, context, index });
  }

  private pushReadState(rs: ReadState): void {
    if (this.readStates.length < MAX_QUEUED_READS) this.readStates.push(rs);
  }

  // ---------------------------------------------------------------------------------------------------------
  // Membership
  // ---------------------------------------------------------------------------------------------------------

  private replayConfChanges(lo: number, hi: number): void {
    if (lo > hi) return;
    for (const e of this.log.slice(lo, hi + 1)) {
      if (e.kind !== "config") continue;
      const cc = tryDecode(e.data);
      if (cc) this.tracker.conf = applyConfChange(this.tracker.conf, cc);
      this.confAppliedThrough = e.index;
    }
    this.tracker.setConf(this.tracker.conf, this.log.lastIndex());
  }

  private applyConfEntry(e: Entry): void {
    const cc = tryDecode(e.data);
    if (!cc) return;
    const next: ConfState = applyConfChange(this.tracker.conf, cc);
    this.tracker.setConf(next, this.log.lastIndex());
    if (this.role !== "leader") return;
    if (this.leadTransferee !== null && !this.tracker.isVoter(this.leadTransferee)) this.leadTransferee = null;
    if (!this.tracker.isVoter(this.id)) {
      // Removed (or no longer a voter): make sure the others learn the commit of the change, then step down.
      this.bcastAppend();
      this.becomeFollower(this.term, null);
      return;
    }
    // A smaller quorum may commit more; new members need the log.
    if (this.maybeCommit()) this.onCommitAdvanced();
    this.bcastAppend();
  }

  // ---------------------------------------------------------------------------------------------------------
  // Plumbing
  // ---------------------------------------------------------------------------------------------------------

  private send(m: Outgoing): void {
    if (this.msgs.length >= MAX_QUEUED_MESSAGES) return; // Raft tolerates loss; never grow without bound
    this.msgs.push({ ...m, from: this.id, term: m.term ?? this.term } as Message);
  }

  private softState(): SoftState {
    return { leaderId: this.leaderId, role: this.role };
  }

  private hardState(): HardState {
    return { term: this.term, vote: this.vote, commit: this.log.committed };
  }
}

function sameHardState(a: HardState, b: HardState): boolean {
  return a.term === b.term && a.vote === b.vote && a.commit === b.commit;
}

function tryDecode(data: Uint8Array): ConfChange | undefined {
  try {
    return decodeConfChange(data);
  } catch {
    return undefined; // a malformed config entry changes nothing, identically on every replica
  }
}

/** Rejects append requests whose shape a real leader never produces (indexes must follow prevLogIndex). */
function validAppend(m: AppendRequest): boolean {
  if (!Number.isSafeInteger(m.prevLogIndex) || m.prevLogIndex < 0) return false;
  if (!Number.isSafeInteger(m.prevLogTerm) || m.prevLogTerm < 0) return false;
  if (!Number.isSafeInteger(m.commit) || m.commit < 0) return false;
  if (!Array.isArray(m.entries)) return false;
  let i = m.prevLogIndex;
  for (const e of m.entries) {
    i++;
    if (typeof e !== "object" || e === null || e.index !== i || !Number.isSafeInteger(e.term) || e.term > m.term) return false;
    if (e.kind !== "normal" && e.kind !== "config") return false;
    if (!(e.data instanceof Uint8Array)) return false;
  }
  return true;
}

function validSnapshot(s: Snapshot | undefined): s is Snapshot {
  if (typeof s !== "object" || s === null || typeof s.meta !== "object" || s.meta === null) return false;
  const { index, term, conf } = s.meta;
  return (
    Number.isSafeInteger(index) &&
    index >= 0 &&
    Number.isSafeInteger(term) &&
    term >= 0 &&
    typeof conf === "object" &&
    conf !== null &&
    Array.isArray(conf.voters) &&
    Array.isArray(conf.learners) &&
    s.data instanceof Uint8Array
  );
}
