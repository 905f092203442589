// Membership as the log says: configuration entries take effect when applied (and, at restart, every committed
// one is replayed). One server at a time; the leader steps down once the change that removes it is applied.
import { applyConfChange, decodeConfChange } from "./confchange.js";
import { bcastAppend, maybeCommit } from "./leader-send.js";
import { onCommitAdvanced } from "./read-index.js";
import { becomeFollower } from "./roles.js";
import type { RaftState } from "./state.js";
import type { ConfChange, ConfState, Entry } from "./types.js";

export function replayConfChanges(s: RaftState, lo: number, hi: number): void {
  if (lo > hi) return;
  for (const e of s.log.slice(lo, hi + 1)) {
    if (e.kind !== "config") continue;
    const cc = tryDecode(e.data);
    if (cc) s.tracker.conf = applyConfChange(s.tracker.conf, cc);
    s.confAppliedThrough = e.index;
  }
  s.tracker.setConf(s.tracker.conf, s.log.lastIndex());
}

export function applyConfEntry(s: RaftState, e: Entry): void {
  const cc = tryDecode(e.data);
  if (!cc) return;
  const next: ConfState = applyConfChange(s.tracker.conf, cc);
  s.tracker.setConf(next, s.log.lastIndex());
  if (s.role !== "leader") return;
  if (s.leadTransferee !== null && !s.tracker.isVoter(s.leadTransferee)) s.leadTransferee = null;
  if (!s.tracker.isVoter(s.id)) {
    // Removed (or no longer a voter): make sure the others learn the commit of the change, then step down.
    bcastAppend(s);
    becomeFollower(s, s.term, null);
    return;
  }
  // A smaller quorum may commit more; new members need the log.
  if (maybeCommit(s)) onCommitAdvanced(s);
  bcastAppend(s);
}

function tryDecode(data: Uint8Array): ConfChange | undefined {
  try {
    return decodeConfChange(data);
  } catch {
    return undefined; // a malformed config entry changes nothing, identically on every replica
  }
}
