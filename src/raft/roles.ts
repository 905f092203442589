// Role transitions: follower, preCandidate, candidate, leader. Each resets what a new term or role must not
// inherit (timers, votes, progress, pending reads, a transfer in progress).
import { appendNew } from "./propose.js";
import type { RaftState } from "./state.js";
import type { NodeId } from "./types.js";

function reset(s: RaftState, term: number): void {
  if (term !== s.term) {
    s.term = term;
    s.vote = null;
  }
  s.leaderId = null;
  s.electionElapsedTicks = 0;
  s.heartbeatElapsedTicks = 0;
  s.randomizedElectionTicks = s.electionTicksMin + Math.floor(s.random() * (s.electionTicksMax - s.electionTicksMin + 1));
  s.randomizedElectionTicks = Math.min(s.randomizedElectionTicks, s.electionTicksMax);
  s.leadTransferee = null;
  s.tracker.resetVotes();
  s.tracker.resetProgress(s.log.lastIndex());
  s.pendingConfIndex = 0;
  s.uncommittedBytes = 0;
  s.readOnly.reset();
  s.queuedReads = [];
}

export function becomeFollower(s: RaftState, term: number, leaderId: NodeId | null): void {
  reset(s, term);
  s.role = "follower";
  s.leaderId = leaderId;
}

export function becomePreCandidate(s: RaftState): void {
  // Changes neither term nor vote: a pre-vote only asks whether an election could be won.
  s.role = "preCandidate";
  s.leaderId = null;
  s.tracker.resetVotes();
}

export function becomeCandidate(s: RaftState): void {
  reset(s, s.term + 1);
  s.vote = s.id;
  s.role = "candidate";
}

export function becomeLeader(s: RaftState): void {
  reset(s, s.term);
  s.role = "leader";
  s.leaderId = s.id;
  const self = s.tracker.progress.get(s.id);
  if (self) {
    self.becomeReplicate();
    self.recentActive = true;
  }
  // No conf change until everything in the log so far, including this no-op, is applied: that proves the
  // leader committed an entry of its own term (the fix for the single-server change bug).
  const noop = appendNew(s, "normal", new Uint8Array(0));
  s.pendingConfIndex = noop.index;
}
