// ReadIndex (dissertation §6.4): a linearizable read point without a log entry. The leader confirms it still
// leads with one heartbeat round, then answers with its commit index; a follower forwards to the leader.
import { bcastHeartbeat } from "./leader-send.js";
import type { RaftState } from "./state.js";
import type { NodeId, ReadIndexRequest, ReadIndexResponse, ReadState } from "./types.js";
import { RaftError } from "./types.js";

/** Reads queued on a new leader until it commits an entry of its term; beyond this they are dropped. */
const MAX_QUEUED_READS = 4096;

/** The public readIndex() call. */
export function requestReadIndex(s: RaftState, context: string): void {
  if (s.role === "leader") {
    handleReadIndex(s, s.id, context);
    return;
  }
  if (s.leaderId === null) throw new RaftError("NOT_LEADER", "no leader known to serve a read index", null);
  s.send({ type: "readIndex", to: s.leaderId, context });
}

export function stepReadIndex(s: RaftState, m: ReadIndexRequest | ReadIndexResponse): void {
  if (typeof m.context !== "string") return;
  if (m.type === "readIndex") {
    if (s.role === "leader") handleReadIndex(s, m.from, m.context);
    return;
  }
  if (s.role !== "leader" && Number.isSafeInteger(m.index) && m.index >= 0) {
    pushReadState(s, { index: m.index, context: m.context });
  }
}

export function handleReadIndex(s: RaftState, from: NodeId, context: string): void {
  const voters = s.tracker.conf.voters;
  if (voters.length === 1 && voters[0] === s.id) {
    answerRead(s, from, context, s.log.committed);
    return;
  }
  if (!s.committedEntryInCurrentTerm()) {
    // Our commit index may lag the real one until an entry of our term commits (§6.4): hold the read.
    if (s.queuedReads.length < MAX_QUEUED_READS) s.queuedReads.push({ from, context });
    return;
  }
  if (!s.readOnly.addRequest(s.log.committed, from, context)) return;
  s.readOnly.recvAck(s.id, context);
  bcastHeartbeat(s);
}

/** Called whenever the leader's commit index moved: the first commit of its term releases the held reads. */
export function onCommitAdvanced(s: RaftState): void {
  if (s.queuedReads.length > 0 && s.committedEntryInCurrentTerm()) {
    const queued = s.queuedReads;
    s.queuedReads = [];
    for (const r of queued) handleReadIndex(s, r.from, r.context);
  }
}

export function answerRead(s: RaftState, from: NodeId, context: string, index: number): void {
  if (from === s.id) pushReadState(s, { index, context });
  else s.send({ type: "readIndexResp", to: from, context, index });
}

function pushReadState(s: RaftState, rs: ReadState): void {
  if (s.readStates.length < MAX_QUEUED_READS) s.readStates.push(rs);
}
