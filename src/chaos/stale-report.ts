// The chaos workload's "stale worker": a completion with an attempt that is certainly superseded, so fencing must
// refuse it (409). Attempts only grow, so an attempt below the highest one a client has already seen is stale for
// good. A task seen only at attempt 0 or 1 has no superseded attempt yet: `max(1, attempt - 1)` would send the
// current attempt (a normal completion, not a stale one), which is why such tasks are skipped here.

/** The highest attempt a client has seen for a task. */
export interface SeenAttempt {
  readonly attempt: number;
}

/** The attempt a stale worker would report for a task last seen at `seenAttempt`, or null when none is stale. */
export function staleAttemptFor(seenAttempt: number): number | null {
  return Number.isSafeInteger(seenAttempt) && seenAttempt > 1 ? seenAttempt - 1 : null;
}

/**
 * A stale report to send: the preferred id when it has a superseded attempt, else the first of `candidates` (most
 * recent last, scanned from the end) that has one; null when no task seen so far has been reassigned.
 */
export function pickStaleReport(
  preferred: string,
  candidates: readonly string[],
  seen: ReadonlyMap<string, SeenAttempt>,
): { id: string; attempt: number; supersededBy: number } | null {
  const of = (id: string): { id: string; attempt: number; supersededBy: number } | null => {
    const s = seen.get(id);
    const attempt = s === undefined ? null : staleAttemptFor(s.attempt);
    return attempt === null || s === undefined ? null : { id, attempt, supersededBy: s.attempt };
  };
  const first = of(preferred);
  if (first) return first;
  for (let i = candidates.length - 1; i >= 0; i--) {
    const found = of(candidates[i]!);
    if (found) return found;
  }
  return null;
}
