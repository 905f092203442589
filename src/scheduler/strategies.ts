// Placement strategies: pure functions the leader runs before proposing an assignment. Same inputs, same pick:
// candidates are considered in id order whatever order they arrive in, and randomness comes only from the
// injected rng. A worker at capacity is never eligible.

import type { Rng } from "./prng.js";
import { compareStrings } from "./sorted-list.js";

export type Strategy = "random" | "round-robin" | "least-loaded" | "weighted";
export const STRATEGIES: readonly Strategy[] = ["random", "round-robin", "least-loaded", "weighted"];

export function isStrategy(value: unknown): value is Strategy {
  return typeof value === "string" && (STRATEGIES as readonly string[]).includes(value);
}

export interface Candidate {
  readonly id: string;
  /** Tasks currently assigned. */
  readonly active: number;
  /** How many tasks it runs at once. */
  readonly capacity: number;
}

export interface PlacementState {
  /** The worker round-robin picked last (committed in the table), null at the start. */
  readonly rrCursor: string | null;
}

export interface Pick {
  readonly worker: string;
  /** The round-robin cursor after this pick (unchanged for the other strategies). */
  readonly rrCursor: string | null;
}

export function pickWorker(
  strategy: Strategy,
  candidates: readonly Candidate[],
  rng: Rng,
  state: PlacementState,
): Pick | null {
  const eligible = candidates.filter((c) => c.active < c.capacity).sort((a, b) => compareStrings(a.id, b.id));
  if (eligible.length === 0) return null;
  switch (strategy) {
    case "random": {
      const i = Math.min(eligible.length - 1, Math.floor(rng() * eligible.length));
      return { worker: eligible[i]!.id, rrCursor: state.rrCursor };
    }
    case "round-robin": {
      // The first eligible worker after the cursor in id order, wrapping around; the cursor is an id, not a
      // position, so members joining or leaving do not make it skip or repeat anyone.
      const cursor = state.rrCursor;
      const next = (cursor === null ? undefined : eligible.find((c) => c.id > cursor)) ?? eligible[0]!;
      return { worker: next.id, rrCursor: next.id };
    }
    case "least-loaded":
      return { worker: best(eligible, (a, b) => a.active - b.active).id, rrCursor: state.rrCursor };
    case "weighted":
      return { worker: weighted(eligible, rng).id, rrCursor: state.rrCursor };
  }
}

/** Lowest active/capacity (compared exactly by cross-multiplication; capacity > 0 when eligible). Exact ties are
 *  broken at random in proportion to capacity: when work completes faster than it arrives every worker sits at
 *  0 and a fixed tie-break (lowest id) would send everything to one worker, while a capacity-weighted draw keeps
 *  the shares proportional to capacity in that regime too. */
function weighted(sorted: readonly Candidate[], rng: Rng): Candidate {
  let ties: Candidate[] = [];
  for (const c of sorted) {
    const lead = ties[0];
    const order = lead === undefined ? -1 : c.active * lead.capacity - lead.active * c.capacity;
    if (order < 0) ties = [c];
    else if (order === 0) ties.push(c);
  }
  if (ties.length === 1) return ties[0]!;
  const total = ties.reduce((sum, c) => sum + c.capacity, 0);
  let r = rng() * total;
  for (const c of ties) {
    if (r < c.capacity) return c;
    r -= c.capacity;
  }
  return ties[ties.length - 1]!;
}

/** The smallest by `compare`; ties go to the earlier (lower id) candidate. */
function best(sorted: readonly Candidate[], compare: (a: Candidate, b: Candidate) => number): Candidate {
  let winner = sorted[0]!;
  for (const c of sorted) if (compare(c, winner) < 0) winner = c;
  return winner;
}
