// The follower's side of replication: AppendEntries with the consistency check and fast backtracking,
// heartbeats carrying the commit index, and installing a leader's snapshot. Every field a peer sends is checked
// before use: a malformed message is dropped, never trusted.
import type { RaftState } from "./state.js";
import type { AppendRequest, Heartbeat, Snapshot, SnapshotRequest } from "./types.js";

export function handleAppend(s: RaftState, m: AppendRequest): void {
  if (!validAppend(m)) return;
  if (s.unconfigured()) {
    // A joining node (empty storage, no membership) cannot use the log: the initial membership lives in the
    // leader's snapshot, not in entries. Rejecting down to index 0 makes the leader send its snapshot.
    s.send({ type: "appendResp", to: m.from, index: m.prevLogIndex, reject: true, rejectHint: 0, logTerm: 0 });
    return;
  }
  if (m.prevLogIndex < s.log.committed) {
    // Everything up to our commit is settled; tell the leader where we are.
    s.send({ type: "appendResp", to: m.from, index: s.log.committed, reject: false });
    return;
  }
  const lastNew = s.log.maybeAppend(m.prevLogIndex, m.prevLogTerm, m.commit, m.entries, s.broken.skipLogConsistencyCheck === true);
  if (lastNew !== undefined) {
    s.send({ type: "appendResp", to: m.from, index: lastNew, reject: false });
    return;
  }
  // Fast backtracking: point the leader at the last index whose term could still match (<= its prevLogTerm).
  const hint = s.log.findConflictByTerm(Math.min(m.prevLogIndex, s.log.lastIndex()), m.prevLogTerm);
  s.send({
    type: "appendResp",
    to: m.from,
    index: m.prevLogIndex,
    reject: true,
    rejectHint: hint.index,
    logTerm: hint.term,
  });
}

export function handleHeartbeat(s: RaftState, m: Heartbeat): void {
  // The leader clamps commit to what it knows we hold; a commit past our log is never trusted.
  if (Number.isSafeInteger(m.commit) && m.commit <= s.log.lastIndex()) s.log.commitTo(m.commit);
  s.send({ type: "heartbeatResp", to: m.from, ...(m.context !== undefined ? { context: m.context } : {}) });
}

export function handleSnapshot(s: RaftState, m: SnapshotRequest): void {
  const snap = m.snapshot;
  if (!validSnapshot(snap)) return;
  if (restore(s, snap)) {
    s.send({ type: "appendResp", to: m.from, index: s.log.lastIndex(), reject: false });
  } else {
    s.send({ type: "appendResp", to: m.from, index: s.log.committed, reject: false });
  }
}

/** Installs a leader's snapshot if it is news to us. Returns whether the log was replaced. */
function restore(s: RaftState, snap: Snapshot): boolean {
  // A joining node takes even the leader's index-0 snapshot: it carries the membership it lacks.
  const joining = s.unconfigured() && snap.meta.index >= s.log.committed && snap.meta.conf.voters.length > 0;
  if (!joining && snap.meta.index <= s.log.committed) return false;
  if (!joining && s.log.matchTerm(snap.meta.index, snap.meta.term)) {
    // We already hold the snapshot's last entry: just move the commit index.
    s.log.commitTo(snap.meta.index);
    return false;
  }
  s.log.restore(snap);
  s.tracker.setConf(snap.meta.conf, s.log.lastIndex());
  s.confAppliedThrough = snap.meta.index;
  return true;
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

function validSnapshot(snap: Snapshot | undefined): snap is Snapshot {
  if (typeof snap !== "object" || snap === null || typeof snap.meta !== "object" || snap.meta === null) return false;
  const { index, term, conf } = snap.meta;
  return (
    Number.isSafeInteger(index) &&
    index >= 0 &&
    Number.isSafeInteger(term) &&
    term >= 0 &&
    typeof conf === "object" &&
    conf !== null &&
    Array.isArray(conf.voters) &&
    Array.isArray(conf.learners) &&
    snap.data instanceof Uint8Array
  );
}
