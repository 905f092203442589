// The Ready cycle: what changed since the last Ready (hard and soft state, entries to persist, messages, committed
// entries, read states), and advance(), which records what the runner persisted and applied. The ordering contract
// the runner must keep is on `Ready` in types.ts.
import { applyConfEntry } from "./membership.js";
import { flushPendingAppends } from "./propose.js";
import type { RaftState } from "./state.js";
import type { HardState, Ready } from "./types.js";
import { RaftError } from "./types.js";

export function hasReady(s: RaftState): boolean {
  if (s.readyOutstanding) return false;
  if (s.appendPending && s.role === "leader") return true;
  const ss = s.softState();
  if (ss.leaderId !== s.prevSoftState.leaderId || ss.role !== s.prevSoftState.role) return true;
  if (!sameHardState(s.hardState(), s.prevHardState)) return true;
  return (
    s.log.unstable.snapshot !== undefined ||
    s.log.unstable.entries.length > 0 ||
    s.msgs.length > 0 ||
    s.readStates.length > 0 ||
    s.log.hasNextCommittedEntries()
  );
}

export function ready(s: RaftState): Ready {
  if (s.readyOutstanding) throw new RaftError("INVARIANT", "ready() called again before advance()");
  flushPendingAppends(s);
  s.readyOutstanding = true;
  const ss = s.softState();
  const hs = s.hardState();
  const softChanged = ss.leaderId !== s.prevSoftState.leaderId || ss.role !== s.prevSoftState.role;
  const hardChanged = !sameHardState(hs, s.prevHardState);
  const snapshot = s.log.unstable.snapshot;
  const entries = s.log.unstable.entries.slice();
  const rd: Ready = {
    ...(softChanged ? { softState: ss } : {}),
    ...(hardChanged ? { hardState: hs } : {}),
    ...(snapshot ? { snapshot } : {}),
    entries,
    messages: s.msgs,
    committedEntries: s.log.nextCommittedEntries(s.maxBytesPerMsg),
    readStates: s.readStates,
    mustSync:
      (hardChanged && (hs.term !== s.prevHardState.term || hs.vote !== s.prevHardState.vote)) ||
      entries.length > 0 ||
      snapshot !== undefined,
  };
  s.msgs = [];
  s.readStates = [];
  s.prevSoftState = ss;
  if (hardChanged) s.prevHardState = hs;
  return rd;
}

export function advance(s: RaftState, rd: Ready): void {
  if (!s.readyOutstanding) throw new RaftError("INVARIANT", "advance() without an outstanding Ready");
  s.readyOutstanding = false;
  if (rd.snapshot) {
    const idx = rd.snapshot.meta.index;
    s.log.unstable.stableSnapTo(idx);
    if (idx > s.log.applied && idx <= s.log.committed) s.log.applied = idx;
    s.confAppliedThrough = Math.max(s.confAppliedThrough, idx);
  }
  const lastNew = rd.entries[rd.entries.length - 1];
  if (lastNew) s.log.unstable.stableTo(lastNew.index, lastNew.term);
  const lastCommitted = rd.committedEntries[rd.committedEntries.length - 1];
  if (lastCommitted) {
    for (const e of rd.committedEntries) {
      if (e.data.byteLength > 0) s.uncommittedBytes = Math.max(0, s.uncommittedBytes - e.data.byteLength);
      if (e.kind === "config" && e.index > s.confAppliedThrough) {
        s.confAppliedThrough = e.index;
        applyConfEntry(s, e);
      }
    }
    s.log.appliedTo(lastCommitted.index);
  }
}

function sameHardState(a: HardState, b: HardState): boolean {
  return a.term === b.term && a.vote === b.vote && a.commit === b.commit;
}
