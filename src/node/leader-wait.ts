// Waiting for a leader, in two strengths: `node.ready()` (an embedding service waits until this node can serve:
// a leader is known and everything committed so far is applied here) and the short wait a write makes when it
// arrives while no leader is known (right after a start, or during an election) instead of failing at once.
import { RaftschedError } from "../util/errors.js";

/** What the waits read of a node; a function each, so the values are read fresh at every poll. */
export interface LeaderProbe {
  knownLeader(): string | null;
  commitIndex(): number;
  appliedIndex(): number;
  /** True once the node is closed or failed: nothing will change any more. */
  stopped(): boolean;
}

/** A write with no known leader waits this many (maximum) election timeouts: enough for a split vote or two to
 *  resolve, short enough that a cluster with no quorum answers 503 within about a second. */
export const SUBMIT_LEADER_WAIT_ELECTIONS = 4;
/** `ready()` without a timeout: a cluster whose other nodes start a little later still gets there. */
export const DEFAULT_READY_TIMEOUT_MS = 30_000;
const POLL_MS = 10;

export function submitLeaderWaitMs(maxElectionTimeoutMs: number): number {
  return maxElectionTimeoutMs * SUBMIT_LEADER_WAIT_ELECTIONS;
}

/** Why the node is not ready yet, or null when it is. Pure: the probe's values decide. */
export function readinessGap(p: LeaderProbe): string | null {
  if (p.stopped()) return "the node is stopped";
  if (p.knownLeader() === null) return "no leader is known";
  const commit = p.commitIndex();
  const applied = p.appliedIndex();
  if (applied < commit) return `applied ${applied} of ${commit} committed entries`;
  return null;
}

/** Resolves once readinessGap is null; rejects with NOT_READY (naming what was missing) after timeoutMs. */
export async function waitUntilReady(p: LeaderProbe, timeoutMs: number = DEFAULT_READY_TIMEOUT_MS): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const gap = readinessGap(p);
    if (gap === null) return;
    if (p.stopped() || Date.now() >= deadline) {
      throw new RaftschedError("NOT_READY", `node not ready after ${timeoutMs} ms: ${gap}`, { timeoutMs });
    }
    await new Promise((r) => setTimeout(r, POLL_MS));
  }
}
