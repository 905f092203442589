// Elections: the timers that start them (and the leader's check-quorum), pre-vote and vote rounds, and the
// voter's side (§5.2, §5.4.1, pre-vote §9.6).
import { bcastHeartbeat } from "./leader-send.js";
import { becomeCandidate, becomeFollower, becomeLeader, becomePreCandidate } from "./roles.js";
import type { RaftState } from "./state.js";
import type { VoteRequest, VoteResponse } from "./types.js";

export function tick(s: RaftState): void {
  if (s.role === "leader") tickLeader(s);
  else tickElection(s);
}

/** Starts a (pre-)election if this node may: it is a voter, not leader, and applied every committed change. */
export function hup(s: RaftState, transfer: boolean): void {
  if (s.role === "leader" || !s.promotable()) return;
  if (hasUnappliedConfChanges(s)) return;
  if (s.preVote && !transfer) startElection(s, "preVote", false);
  else startElection(s, "vote", transfer);
}

function startElection(s: RaftState, kind: "preVote" | "vote", transfer: boolean): void {
  let campaignTerm: number;
  if (kind === "preVote") {
    becomePreCandidate(s);
    campaignTerm = s.term + 1;
  } else {
    becomeCandidate(s);
    campaignTerm = s.term;
  }
  s.tracker.recordVote(s.id, true);
  if (s.tracker.tallyVotes() === "won") {
    // A single-voter cluster wins at once.
    if (kind === "preVote") startElection(s, "vote", transfer);
    else becomeLeader(s);
    return;
  }
  const lastLogIndex = s.log.lastIndex();
  const lastLogTerm = s.log.lastTerm();
  for (const to of s.tracker.conf.voters) {
    if (to === s.id) continue;
    s.send({
      type: kind,
      to,
      term: campaignTerm,
      lastLogIndex,
      lastLogTerm,
      ...(transfer ? { transfer: true } : {}),
    });
  }
}

function hasUnappliedConfChanges(s: RaftState): boolean {
  const lo = Math.max(s.log.applied, s.confAppliedThrough) + 1;
  const hi = s.log.committed + 1;
  if (lo >= hi) return false;
  try {
    return s.log.slice(lo, hi).some((e) => e.kind === "config");
  } catch {
    return false;
  }
}

function tickElection(s: RaftState): void {
  s.electionElapsedTicks++;
  if (s.promotable() && s.electionElapsedTicks >= s.randomizedElectionTicks) {
    s.electionElapsedTicks = 0;
    hup(s, false);
  }
}

function tickLeader(s: RaftState): void {
  s.heartbeatElapsedTicks++;
  s.electionElapsedTicks++;
  if (s.electionElapsedTicks >= s.electionTicksMax) {
    s.electionElapsedTicks = 0;
    if (s.checkQuorum) {
      if (!s.tracker.quorumActive()) {
        becomeFollower(s, s.term, null);
        return;
      }
      for (const [id, pr] of s.tracker.progress) if (id !== s.id) pr.recentActive = false;
    }
    s.leadTransferee = null; // a transfer not done within an election timeout is abandoned
  }
  if (s.heartbeatElapsedTicks >= s.heartbeatTicks) {
    s.heartbeatElapsedTicks = 0;
    bcastHeartbeat(s);
  }
}

export function handleVoteRequest(s: RaftState, m: VoteRequest): void {
  const respType = m.type === "vote" ? "voteResp" : "preVoteResp";
  const canVote =
    s.vote === m.from ||
    (s.vote === null && s.leaderId === null) ||
    (m.type === "preVote" && m.term > s.term) ||
    (m.type === "vote" && s.broken.grantTwoVotesPerTerm === true);
  const upToDate =
    s.broken.skipUpToDateCheck === true ||
    (Number.isSafeInteger(m.lastLogIndex) && Number.isSafeInteger(m.lastLogTerm) && s.log.isUpToDate(m.lastLogIndex, m.lastLogTerm));
  if (canVote && upToDate) {
    // The grant carries the candidate's term: for a pre-vote that is the term it would campaign in.
    s.send({ type: respType, to: m.from, term: m.term, reject: false });
    if (m.type === "vote") {
      s.electionElapsedTicks = 0;
      s.vote = m.from;
    }
  } else {
    s.send({ type: respType, to: m.from, reject: true });
  }
}

/** A (pre-)candidate counts an answer: a won pre-vote starts the real election, a won vote makes a leader. */
export function handleVoteResponse(s: RaftState, m: VoteResponse): void {
  const mine = s.role === "preCandidate" ? "preVoteResp" : "voteResp";
  if (m.type !== mine) return;
  s.tracker.recordVote(m.from, !m.reject);
  const result = s.tracker.tallyVotes();
  if (result === "won") {
    if (s.role === "preCandidate") startElection(s, "vote", false);
    else becomeLeader(s);
  } else if (result === "lost") {
    becomeFollower(s, s.term, null);
  }
}
