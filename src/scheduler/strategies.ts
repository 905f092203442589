// Placement strategies: pure functions the leader runs before proposing an assignment. Same inputs, same pick:
// candidates are considered in id order whatever order they arrive in, and randomness comes only from the
// injected rng. A worker at capacity is never eligible.

import type { Rng } from "./prng.js";
import { compareStrings } from "./sorted-list.js";
import { carriesAll } from "./task-fields.js";
import { smoothWeightedChoice, smoothWeightedStep, type CurrentWeights } from "./smooth-weighted.js";

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
  /** The worker's tags (task-fields.ts); absent: none. */
  readonly tags?: readonly string[];
}

export interface PlacementState {
  /** The worker round-robin picked last (committed in the table), null at the start. */
  readonly rrCursor: string | null;
  /** Smooth weighted round-robin's current weights (committed in the table); absent: all 0. */
  readonly currentWeights?: CurrentWeights;
}

export interface Pick {
  readonly worker: string;
  /** The round-robin cursor after this pick (unchanged for the other strategies). */
  readonly rrCursor: string | null;
  /** The current weights after this pick for "weighted": the table advances them on every applied assignment
   *  (smoothWeightedStep), so the next weighted pick of the same plan must start from there too. The other
   *  strategies never read them and return them as given. */
  readonly currentWeights: CurrentWeights;
}

/** `requires`: the task's tags; only candidates carrying them all are eligible, whatever the strategy. The weights
 *  still advance over every candidate (participants below): they depend on who is alive, never on a task's tags,
 *  so apply() on every replica computes the same weights without knowing what the planner filtered. */
export function pickWorker(
  strategy: Strategy,
  candidates: readonly Candidate[],
  rng: Rng,
  state: PlacementState,
  requires: readonly string[] = [],
): Pick | null {
  const eligible = candidates
    .filter((c) => c.active < c.capacity && carriesAll(c.tags, requires))
    .sort((a, b) => compareStrings(a.id, b.id));
  if (eligible.length === 0) return null;
  const worker = chooseWorker(strategy, eligible, rng, state);
  return {
    worker: worker.id,
    rrCursor: strategy === "round-robin" ? worker.id : state.rrCursor,
    // Only the weighted choice reads the weights: other strategies leave them (apply advances the committed ones
    // whatever the strategy), which spares a copy of every worker's weight per pick (200 external workers).
    currentWeights:
      strategy === "weighted" ? smoothWeightedStep(state.currentWeights ?? NO_WEIGHTS, participants(candidates), worker.id) : (state.currentWeights ?? NO_WEIGHTS),
  };
}

const NO_WEIGHTS: CurrentWeights = new Map();

/** Smooth weighted round-robin's participants: every candidate that can run anything, full or not, in id order
 *  (TaskTable.apply advances the committed weights over the same set: the alive workers). */
function participants(candidates: readonly Candidate[]): Candidate[] {
  return candidates.filter((c) => c.capacity > 0).sort((a, b) => compareStrings(a.id, b.id));
}

function chooseWorker(strategy: Strategy, eligible: readonly Candidate[], rng: Rng, state: PlacementState): Candidate {
  switch (strategy) {
    case "random": {
      const i = Math.min(eligible.length - 1, Math.floor(rng() * eligible.length));
      return eligible[i]!;
    }
    case "round-robin": {
      // The first eligible worker after the cursor in id order, wrapping around; the cursor is an id, not a
      // position, so members joining or leaving do not make it skip or repeat anyone.
      const cursor = state.rrCursor;
      return (cursor === null ? undefined : eligible.find((c) => c.id > cursor)) ?? eligible[0]!;
    }
    case "least-loaded":
      return best(eligible, (a, b) => a.active - b.active);
    case "weighted": {
      // Smooth weighted round-robin by capacity among the workers with room (src/scheduler/smooth-weighted.ts).
      const id = smoothWeightedChoice(eligible, state.currentWeights ?? NO_WEIGHTS);
      return eligible.find((c) => c.id === id)!;
    }
  }
}

/** The smallest by `compare`; ties go to the earlier (lower id) candidate. */
function best(sorted: readonly Candidate[], compare: (a: Candidate, b: Candidate) => number): Candidate {
  let winner = sorted[0]!;
  for (const c of sorted) if (compare(c, winner) < 0) winner = c;
  return winner;
}
