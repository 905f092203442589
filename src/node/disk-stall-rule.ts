// What a replica does while its own log write has not returned (issue 14.5: a disk that stops answering). The
// runner (raft-runner.ts, in milliseconds) and the simulator (test/sim, in ticks) both ask this rule, so what the
// simulator proves about stalled disks is about the production rule.
//
// Raft cannot go on without the write: a leader whose fsync hangs sends nothing more (the next Ready waits for
// this one), so its followers elect another after an election timeout. Until then, and after, the stalled leader
// would keep accepting proposals it cannot commit and answer as leader. Past one election timeout of a pending
// write it therefore steps down (a local event fed to the pure core), and its waiting clients hear at once that
// the outcome is unknown instead of waiting for the disk. A node that is not leader holds its election timer while
// its write is stalled: it could not persist its own vote, and a single-voter cluster would otherwise re-elect
// itself in memory every timeout. A follower with a stalled disk holds nothing else back: its acknowledgements wait
// for its disk, so the leader commits on the other members. A leader that is the only voter does not step down: no
// one else could take over, so stepping down would only turn a slow fsync (a loaded machine can take longer than an
// election timeout) into OUTCOME_UNKNOWN answers for writes that are about to commit; it waits for its disk.
import type { Role } from "../raft/types.js";

export type WriteStallAction =
  /** No write pending, or not for long: carry on. */
  | "none"
  /** A leader whose write is stalled: feed the core a step-down (and tick no further). */
  | "stepDown"
  /** Anyone else whose write is stalled: do not advance the election timer. */
  | "holdElectionTimer";

export interface WriteStallView {
  /** When the pending write began (ms or ticks); null when none is pending. */
  readonly writeStartedAt: number | null;
  readonly now: number;
  /** A write pending this long is stalled: one (maximum) election timeout, in the same unit. */
  readonly stallAfter: number;
  /** The core's role now. */
  readonly role: Role;
  /** Voters in the current configuration, this node included. */
  readonly voterCount: number;
}

export function writeStallAction(v: WriteStallView): WriteStallAction {
  if (v.writeStartedAt === null || v.now - v.writeStartedAt < v.stallAfter) return "none";
  if (v.role !== "leader") return "holdElectionTimer";
  return v.voterCount > 1 ? "stepDown" : "none";
}
