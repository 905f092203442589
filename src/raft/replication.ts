// The leader's side of replication: what a follower's answer (append or heartbeat response) moves, and what the
// runner reports about a peer (unreachable, snapshot done or failed).
import { bcastAppend, maybeCommit, sendAppend, sendAppendNonEmpty, sendSnapshot } from "./leader-send.js";
import type { Progress } from "./progress.js";
import { answerRead, onCommitAdvanced } from "./read-index.js";
import type { RaftState } from "./state.js";
import type { AppendResponse, HeartbeatResponse, Message, NodeId } from "./types.js";

export function stepLeader(s: RaftState, m: Message): void {
  const pr = s.tracker.progress.get(m.from);
  switch (m.type) {
    case "appendResp":
      if (pr) handleAppendResponse(s, m, pr);
      return;
    case "heartbeatResp":
      if (pr) handleHeartbeatResponse(s, m, pr);
      return;
    default:
      return; // vote requests are handled before; another leader of our term cannot exist
  }
}

function handleAppendResponse(s: RaftState, m: AppendResponse, pr: Progress): void {
  if (!Number.isSafeInteger(m.index) || m.index < 0) return;
  pr.recentActive = true;
  if (m.reject) {
    handleAppendRejection(s, m, pr);
    return;
  }
  if (m.index > s.log.lastIndex()) return; // acknowledges entries we never had: ignore
  const wasPaused = pr.isPaused();
  const updated = pr.maybeUpdate(m.index);
  if (pr.state === "snapshot" && m.index >= pr.pendingSnapshot && pr.match + 1 >= s.log.firstIndex()) {
    // The follower installed the snapshot (even an index-0 one, which moves no match): stream from it.
    pr.becomeProbe();
    pr.becomeReplicate();
    sendAppend(s, m.from, pr);
  }
  if (updated) {
    if (pr.state === "probe") {
      pr.becomeReplicate();
    } else if (pr.state === "replicate") {
      pr.inflights.freeLE(m.index);
    }
    if (maybeCommit(s)) {
      onCommitAdvanced(s);
      bcastAppend(s);
    } else if (wasPaused) {
      sendAppend(s, m.from, pr);
    }
    // Keep streaming while the window allows and entries remain.
    while (pr.next <= s.log.lastIndex() && sendAppendNonEmpty(s, m.from, pr)) {
      /* loop */
    }
    if (m.from === s.leadTransferee && pr.match === s.log.lastIndex()) {
      s.send({ type: "timeoutNow", to: m.from });
    }
  }
}

function handleAppendRejection(s: RaftState, m: AppendResponse, pr: Progress): void {
  let hint = typeof m.rejectHint === "number" && Number.isSafeInteger(m.rejectHint) ? m.rejectHint : m.index - 1;
  hint = Math.max(0, Math.min(hint, m.index));
  if (typeof m.logTerm === "number" && m.logTerm > 0) {
    // Skip every entry of ours whose term is above the follower's term at the hint: none of them can match.
    hint = s.log.findConflictByTerm(hint, m.logTerm).index;
  }
  if (m.index === 0) {
    // Nothing can fail to match at index 0 except on a joining node: it needs the snapshot (membership).
    if (pr.state !== "snapshot") sendSnapshot(s, m.from, pr);
    return;
  }
  if (pr.maybeDecrTo(m.index, hint)) {
    if (pr.state === "replicate") pr.becomeProbe();
    sendAppend(s, m.from, pr);
  }
}

function handleHeartbeatResponse(s: RaftState, m: HeartbeatResponse, pr: Progress): void {
  pr.recentActive = true;
  pr.probeSent = false;
  if (pr.state === "replicate" && pr.inflights.full()) pr.inflights.freeFirstOne();
  if (pr.match < s.log.lastIndex()) sendAppend(s, m.from, pr);
  if (typeof m.context !== "string") return;
  const acks = s.readOnly.recvAck(m.from, m.context);
  if (!acks) return;
  if (s.tracker.tallyVotesOf(acks) !== "won") return;
  for (const r of s.readOnly.advance(m.context)) answerRead(s, r.from, r.context, r.index);
}

export function reportUnreachable(s: RaftState, to: NodeId): void {
  if (s.role !== "leader") return;
  const pr = s.tracker.progress.get(to);
  if (pr && pr.state === "replicate") pr.becomeProbe();
}

export function reportSnapshot(s: RaftState, to: NodeId, ok: boolean): void {
  if (s.role !== "leader") return;
  const pr = s.tracker.progress.get(to);
  if (!pr || pr.state !== "snapshot") return;
  if (!ok) pr.pendingSnapshot = 0; // retry from the log (or a fresh snapshot) rather than the failed one
  // Either way wait for an answer (an appendResp, or a heartbeatResp) before sending again.
  pr.becomeProbe();
  pr.probeSent = true;
}
