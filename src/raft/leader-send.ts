// What a leader sends on its own initiative: appends (or a snapshot when the entries are compacted), heartbeats,
// and the commit rule that decides when counting replicas is enough.
import type { Progress } from "./progress.js";
import type { RaftState } from "./state.js";
import type { Entry, NodeId } from "./types.js";
import { RaftError } from "./types.js";

/** Figure 8: only an entry of the current term is committed by counting replicas. */
export function maybeCommit(s: RaftState): boolean {
  const mci = s.tracker.committed();
  if (mci <= s.log.committed) return false;
  if (s.log.term(mci) !== s.term && s.broken.commitOldTermEntries !== true) return false;
  s.log.commitTo(mci);
  return true;
}

export function bcastAppend(s: RaftState): void {
  for (const [id, pr] of s.tracker.progress) if (id !== s.id) sendAppend(s, id, pr);
}

export function bcastHeartbeat(s: RaftState): void {
  const context = s.readOnly.lastPendingContext();
  for (const [id, pr] of s.tracker.progress) {
    if (id === s.id) continue;
    s.send({
      type: "heartbeat",
      to: id,
      commit: Math.min(pr.match, s.log.committed),
      ...(context !== undefined ? { context } : {}),
    });
  }
}

/** Sends the next batch to `to` (or a snapshot when its next entries are compacted). Returns whether sent. */
export function sendAppend(s: RaftState, to: NodeId, pr: Progress): boolean {
  if (pr.isPaused()) return false;
  const prevLogIndex = pr.next - 1;
  const prevLogTerm = s.log.term(prevLogIndex);
  let entries: Entry[] | undefined;
  if (prevLogTerm !== undefined) {
    try {
      entries = s.log.entriesFrom(pr.next, s.maxEntriesPerMsg, s.maxBytesPerMsg);
    } catch (e) {
      if (!(e instanceof RaftError && e.code === "COMPACTED")) throw e;
    }
  }
  if (prevLogTerm === undefined || entries === undefined) return sendSnapshot(s, to, pr);
  s.send({ type: "append", to, prevLogIndex, prevLogTerm, entries, commit: s.log.committed });
  const last = entries[entries.length - 1];
  pr.sentEntries(entries.length, last ? last.index : prevLogIndex);
  return true;
}

export function sendSnapshot(s: RaftState, to: NodeId, pr: Progress): boolean {
  if (!pr.recentActive) return false; // do not ship a snapshot to a peer we have not heard from
  // Index 0 is the bootstrap membership with an empty state: what a joining node needs.
  const snapshot = s.log.snapshot();
  s.send({ type: "snapshot", to, snapshot });
  pr.becomeSnapshot(snapshot.meta.index);
  return true;
}

export function sendAppendNonEmpty(s: RaftState, to: NodeId, pr: Progress): boolean {
  if (pr.isPaused() || pr.next > s.log.lastIndex()) return false;
  return sendAppend(s, to, pr) && pr.state === "replicate";
}
