// The pure Raft core (in the spirit of etcd-io/raft): a state machine driven by tick(), step(message) and the
// proposal calls, whose every effect is handed out as a Ready (see the ordering contract on Ready in types.ts).
//
// Roles pick the step and tick handlers: follower, preCandidate, candidate, leader. A learner is a follower that is
// not a voter: it never campaigns, and quorum math (quorum.ts) never counts it.
//
// RaftNode is the facade; the work is split by concern over functions of one RaftState (state.ts):
//   step.ts         term checks, then dispatch by role      elections.ts  timers, (pre-)votes, check-quorum
//   follower.ts     appends, heartbeats, snapshots received  replication.ts the leader's handling of answers
//   leader-send.ts  appends, heartbeats, the commit rule     propose.ts    admission and appending proposals
//   read-index.ts   linearizable read points (§6.4)          transfer.ts   leadership transfer
//   membership.ts   configuration entries                    roles.ts      role transitions
//   ready.ts        the Ready / advance cycle
import type { PeerProgress, Proposed, RaftConfig, RaftCore, RaftStatus } from "./api.js";
import { hup, tick } from "./elections.js";
import { replayConfChanges } from "./membership.js";
import { propose, proposeConfChange } from "./propose.js";
import { requestReadIndex } from "./read-index.js";
import { advance, hasReady, ready } from "./ready.js";
import { reportSnapshot, reportUnreachable } from "./replication.js";
import { becomeFollower } from "./roles.js";
import { RaftState } from "./state.js";
import { step } from "./step.js";
import { transferLeadership } from "./transfer.js";
import type { ConfChange, Message, NodeId, Ready, Role } from "./types.js";

export class RaftNode implements RaftCore {
  readonly id: NodeId;
  private readonly s: RaftState;

  constructor(cfg: RaftConfig) {
    const s = new RaftState(cfg);
    this.s = s;
    this.id = s.id;
    // Membership at restart: the snapshot's, then every committed config entry after it. Entries after the
    // commit index take effect when they commit, like any other.
    replayConfChanges(s, s.confAppliedThrough + 1, s.log.committed);
    becomeFollower(s, s.term, null);
  }

  tick(): void {
    tick(this.s);
  }

  campaign(): void {
    hup(this.s, false);
  }

  propose(data: Uint8Array): Proposed {
    return propose(this.s, data);
  }

  proposeConfChange(cc: ConfChange): Proposed {
    return proposeConfChange(this.s, cc);
  }

  readIndex(context: string): void {
    requestReadIndex(this.s, context);
  }

  transferLeadership(to: NodeId): void {
    transferLeadership(this.s, to);
  }

  stepDown(): void {
    if (this.s.role === "leader") becomeFollower(this.s, this.s.term, null);
  }

  reportUnreachable(to: NodeId): void {
    reportUnreachable(this.s, to);
  }

  reportSnapshot(to: NodeId, ok: boolean): void {
    reportSnapshot(this.s, to, ok);
  }

  step(m: Message): void {
    step(this.s, m);
  }

  hasReady(): boolean {
    return hasReady(this.s);
  }

  ready(): Ready {
    return ready(this.s);
  }

  advance(rd: Ready): void {
    advance(this.s, rd);
  }

  currentRole(): Role {
    return this.s.role;
  }

  currentLeader(): NodeId | null {
    return this.s.leaderId;
  }

  status(): RaftStatus {
    const s = this.s;
    const base = {
      id: s.id,
      role: s.role,
      term: s.term,
      vote: s.vote,
      leaderId: s.leaderId,
      commit: s.log.committed,
      applied: s.log.applied,
      lastIndex: s.log.lastIndex(),
      conf: { voters: [...s.tracker.conf.voters], learners: [...s.tracker.conf.learners] },
    };
    if (s.role !== "leader") return base;
    const progress: Record<NodeId, PeerProgress> = {};
    for (const [id, pr] of s.tracker.progress) {
      if (id === s.id) continue;
      progress[id] = { match: pr.match, next: pr.next, state: pr.state, recentActive: pr.recentActive, learner: pr.learner };
    }
    return { ...base, progress, transferee: s.leadTransferee };
  }
}
