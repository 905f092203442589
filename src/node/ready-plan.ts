// What a runner does with one Ready while its write is in flight, decided in one place: the node's runner
// (raft-runner.ts) and the simulator's (test/sim/node.ts) both follow this plan, so what the simulator proves about
// the order of persist, send and apply is about the production rule, not a copy of it.
//
// The contract: persist (one batch, synced when the Ready says so) → send → apply → advance. Two relaxations, both
// safe because the next Ready is only built after advance():
//   - A leader may send its appends and heartbeats while its own write is in flight (Raft dissertation §10.2.1):
//     they promise nothing about the leader's disk. A term or vote change is always persisted first, and replies
//     (vote grants, append acks) always wait for the write.
//   - Committed entries already in the log before this Ready's new entries are durable on a majority: they may be
//     applied (and their clients answered) during the write. Entries this Ready itself adds (a single-voter
//     cluster commits at once) wait for it, and so does everything when the Ready installs a snapshot.
import type { HardState, Message, Ready } from "../raft/types.js";

export interface ReadyPlan {
  /** The Ready carries something to write (entries, a hard state or a snapshot). */
  readonly needsWrite: boolean;
  /** The write must be fsynced before anything waiting for it goes on (a commit-only change needs no fsync: the
   *  commit index is re-learned from the leader). */
  readonly sync: boolean;
  /** Indexes into rd.messages that may leave before the write completes; the others wait for it. */
  readonly sendEarly: ReadonlySet<number>;
  /** How many of rd.committedEntries (a prefix) may be applied before the write completes. */
  readonly applyDuringWrite: number;
}

/** Whether a Ready's hard state changes term or vote against the hard state that is durable now (what a crash
 *  would come back with). Compared with the durable one, not the core's: a vote the core granted but whose write
 *  has not completed is still a change. The runners process one Ready at a time, so the durable hard state is the
 *  one written by the previous Ready (or loaded at start). */
export function changesTermOrVote(next: HardState | undefined, durable: HardState): boolean {
  return next !== undefined && (next.term !== durable.term || next.vote !== durable.vote);
}

/** A message a leader may send before its own write completes. */
function mayLeaveEarly(m: Message): boolean {
  return m.type === "append" || m.type === "heartbeat";
}

/** The plan for one Ready. `isLeader`: the core's role when the Ready was taken; `durableHardState`: the hard state
 *  on disk before this Ready's write. */
export function planReady(rd: Ready, isLeader: boolean, durableHardState: HardState): ReadyPlan {
  const needsWrite = rd.hardState !== undefined || rd.entries.length > 0 || rd.snapshot !== undefined;
  const sendEarly = new Set<number>();
  if (isLeader && !changesTermOrVote(rd.hardState, durableHardState)) {
    rd.messages.forEach((m, i) => {
      if (mayLeaveEarly(m)) sendEarly.add(i);
    });
  }
  let applyDuringWrite = 0;
  if (!rd.snapshot) {
    const firstNew = rd.entries[0]?.index ?? Infinity;
    while (applyDuringWrite < rd.committedEntries.length && rd.committedEntries[applyDuringWrite]!.index < firstNew) applyDuringWrite++;
  }
  return { needsWrite, sync: rd.mustSync, sendEarly, applyDuringWrite };
}
