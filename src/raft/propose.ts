// Proposals on the leader: admission (leadership, transfer, back-pressure, one conf change at a time), appending
// to the local log, and the deferred broadcast that batches a burst of proposals into one append per follower.
import type { Proposed } from "./api.js";
import { confChangeProblem, encodeConfChange } from "./confchange.js";
import { bcastAppend, maybeCommit } from "./leader-send.js";
import { onCommitAdvanced } from "./read-index.js";
import type { RaftState } from "./state.js";
import type { ConfChange, Entry } from "./types.js";
import { RaftError } from "./types.js";

export function propose(s: RaftState, data: Uint8Array): Proposed {
  checkCanPropose(s, data.byteLength);
  return appendNew(s, "normal", data);
}

export function proposeConfChange(s: RaftState, cc: ConfChange): Proposed {
  const data = encodeConfChange(cc);
  checkCanPropose(s, data.byteLength);
  if (s.pendingConfIndex > s.log.applied) {
    throw new RaftError(
      "CONF_CHANGE_IN_PROGRESS",
      `a membership change (or the leader's first entry) at ${s.pendingConfIndex} is not applied yet`,
    );
  }
  const problem = confChangeProblem(s.tracker.conf, cc);
  if (problem !== null) throw new RaftError("INVALID_CONF_CHANGE", problem);
  const p = appendNew(s, "config", data);
  s.pendingConfIndex = p.index;
  return p;
}

function checkCanPropose(s: RaftState, bytes: number): void {
  if (s.role !== "leader") throw new RaftError("NOT_LEADER", "not the leader", s.leaderId);
  if (s.leadTransferee !== null) {
    throw new RaftError("TRANSFER_IN_PROGRESS", `leadership is moving to ${s.leadTransferee}`, s.leaderId);
  }
  if (!s.tracker.progress.has(s.id)) throw new RaftError("NOT_LEADER", "this leader was removed", null);
  if (bytes > 0 && s.uncommittedBytes > 0 && s.uncommittedBytes + bytes > s.maxUncommittedBytes) {
    throw new RaftError("PROPOSAL_TOO_LARGE", `${s.uncommittedBytes} bytes are already waiting to commit`);
  }
}

export function appendNew(s: RaftState, kind: Entry["kind"], data: Uint8Array): Proposed {
  const index = s.log.lastIndex() + 1;
  const e: Entry = { term: s.term, index, kind, data };
  s.log.append([e]);
  s.uncommittedBytes += data.byteLength;
  s.tracker.progress.get(s.id)?.maybeUpdate(index);
  // A single-voter cluster commits at once; otherwise this is a no-op until followers acknowledge.
  if (maybeCommit(s)) onCommitAdvanced(s);
  // Proposals arriving together (one HTTP burst, one microtask) go out as ONE append per follower, built when
  // the runner next asks for a Ready, not one append per proposal.
  s.appendPending = true;
  return { index, term: s.term };
}

/** Sends the appends that proposals deferred; called as a Ready is built. */
export function flushPendingAppends(s: RaftState): void {
  if (!s.appendPending) return;
  s.appendPending = false;
  if (s.role === "leader") bcastAppend(s);
}
