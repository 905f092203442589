// step(): every message from a peer enters here. Terms are compared first (§5.1, with the pre-vote and
// check-quorum exceptions of §9.6 and §4.2.3), then the message goes to the handler of the current role.
import { handleVoteRequest, handleVoteResponse, hup } from "./elections.js";
import { handleAppend, handleHeartbeat, handleSnapshot } from "./follower.js";
import { stepReadIndex } from "./read-index.js";
import { stepLeader } from "./replication.js";
import { becomeFollower } from "./roles.js";
import type { RaftState } from "./state.js";
import type { Message } from "./types.js";

export function step(s: RaftState, m: Message): void {
  if (typeof m !== "object" || m === null || m.to !== s.id || m.from === s.id) return;
  if (typeof m.term !== "number" || !Number.isSafeInteger(m.term) || m.term < 0) return;
  // Read-index traffic is a request/answer to whoever leads; its term does not order anything.
  if (m.type === "readIndex" || m.type === "readIndexResp") {
    stepReadIndex(s, m);
    return;
  }
  if (m.term > s.term) {
    if (ignoreHigherTerm(s, m)) return;
  } else if (m.term < s.term) {
    answerStaleTerm(s, m);
    return;
  }
  if (m.type === "vote" || m.type === "preVote") {
    handleVoteRequest(s, m);
    return;
  }
  switch (s.role) {
    case "leader":
      stepLeader(s, m);
      break;
    case "candidate":
    case "preCandidate":
      stepCandidate(s, m);
      break;
    case "follower":
      stepFollower(s, m);
      break;
  }
}

/** A message of a higher term: usually adopt the term (and its sender as leader); returns true to drop it. */
function ignoreHigherTerm(s: RaftState, m: Message): boolean {
  if (m.type === "vote" || m.type === "preVote") {
    // §4.2.3: a server that heard from a leader within the minimum election timeout ignores (pre)votes, so
    // a partitioned or removed server cannot depose a working leader. A leadership transfer is exempt.
    const inLease = s.checkQuorum && s.leaderId !== null && s.electionElapsedTicks < s.electionTicksMin;
    if (inLease && m.transfer !== true) return true;
  }
  if (m.type === "preVote") {
    // A pre-vote never changes anyone's term.
  } else if (m.type === "preVoteResp" && !m.reject) {
    // A granted pre-vote carries the term we would campaign in; we do not move to it yet.
  } else if (m.type === "append" || m.type === "heartbeat" || m.type === "snapshot") {
    becomeFollower(s, m.term, m.from);
  } else {
    becomeFollower(s, m.term, null);
  }
  return false;
}

/** A message of a lower term is dropped, but some get an answer that carries our term. */
function answerStaleTerm(s: RaftState, m: Message): void {
  if ((s.checkQuorum || s.preVote) && (m.type === "append" || m.type === "heartbeat")) {
    // A stale leader (e.g. cut off, then healed) learns our term from this and steps down. Without it, with
    // pre-vote, a node with a higher term could never rejoin: its pre-votes fail and it ignores the leader.
    s.send({ type: "appendResp", to: m.from, index: 0, reject: false });
  } else if (m.type === "preVote") {
    s.send({ type: "preVoteResp", to: m.from, reject: true });
  }
}

function stepCandidate(s: RaftState, m: Message): void {
  switch (m.type) {
    case "append":
      becomeFollower(s, m.term, m.from);
      handleAppend(s, m);
      return;
    case "heartbeat":
      becomeFollower(s, m.term, m.from);
      handleHeartbeat(s, m);
      return;
    case "snapshot":
      becomeFollower(s, m.term, m.from);
      handleSnapshot(s, m);
      return;
    case "voteResp":
    case "preVoteResp":
      handleVoteResponse(s, m);
      return;
    default:
      return;
  }
}

function stepFollower(s: RaftState, m: Message): void {
  switch (m.type) {
    case "append":
      s.electionElapsedTicks = 0;
      s.leaderId = m.from;
      handleAppend(s, m);
      return;
    case "heartbeat":
      s.electionElapsedTicks = 0;
      s.leaderId = m.from;
      handleHeartbeat(s, m);
      return;
    case "snapshot":
      s.electionElapsedTicks = 0;
      s.leaderId = m.from;
      handleSnapshot(s, m);
      return;
    case "timeoutNow":
      // Leadership transfer: campaign at once, skipping pre-vote; voters must not refuse on the lease.
      hup(s, true);
      return;
    default:
      return;
  }
}
