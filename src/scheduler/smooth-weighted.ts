// Smooth weighted round-robin (nginx's upstream algorithm), with a worker's capacity as its weight. The per-worker
// "current weights" are replicated state: they live in the task table (WorkerRecord.currentWeight), every applied
// assignment advances them with smoothWeightedStep, and the snapshot carries them. The leader's planner runs the
// very same step on a copy while it fills one assign command, so what it predicts is what apply() then records,
// and a new leader (or a replica restored from a snapshot) continues the sequence instead of restarting it.
//
// Why not "lowest active/capacity": under light load every worker is idle at each pick, and the leader, whose own
// completions are applied before the followers' reach it, looks idle more often than the others, so it got more
// than its share (issue 17 point 3). The round-robin sequence does not depend on how fast completions arrive.

/** What the step needs of a worker. */
export interface WeightedSlot {
  readonly id: string;
  /** The worker's weight: its capacity. */
  readonly capacity: number;
}

/** Current weights by worker id; absent means 0. */
export type CurrentWeights = ReadonlyMap<string, number>;

/** The worker nginx would pick: the largest current weight + capacity among `eligible` (the workers with room,
 *  sorted by id by the caller); an exact tie goes to the first, i.e. the lowest id. null when none is eligible. */
export function smoothWeightedChoice(eligible: readonly WeightedSlot[], current: CurrentWeights): string | null {
  let best: string | null = null;
  let bestWeight = 0;
  for (const slot of eligible) {
    const w = (current.get(slot.id) ?? 0) + slot.capacity;
    if (best === null || w > bestWeight) {
      best = slot.id;
      bestWeight = w;
    }
  }
  return best;
}

/** One round of the algorithm once `picked` got a task: the current weight of every participant (every live
 *  worker, with room or not) grows by its capacity and the picked one gives back the total.
 *
 *  Unlike nginx, a worker that is full keeps growing: it was owed that task, and it gets it back as soon as it has
 *  room. Without this, a small worker that is often full under heavy load loses its share for good (8 % of it
 *  at 90 % load). Weights are clamped to ±total, which bounds the catch-up a long-full worker can claim, and keeps
 *  a weight from growing without bound when another strategy picks (the table advances the weights on every
 *  assignment, whatever the strategy). The participants depend only on who is alive, not on who is busy, so the
 *  planner and apply() compute the same weights even when completions are applied between them. Returns a new
 *  map; integers in, integers out, so every replica computes the same bytes. */
export function smoothWeightedStep(current: CurrentWeights, participants: readonly WeightedSlot[], picked: string): Map<string, number> {
  const next = new Map(current);
  smoothWeightedStepInPlace(next, participants, picked);
  return next;
}

/** smoothWeightedStep on a map the caller owns (the table's own records, the planner's working copy). */
export function smoothWeightedStepInPlace(weights: Map<string, number>, participants: readonly WeightedSlot[], picked: string): void {
  let total = 0;
  for (const slot of participants) total += slot.capacity;
  for (const slot of participants) {
    let w = (weights.get(slot.id) ?? 0) + slot.capacity;
    if (slot.id === picked) w -= total;
    weights.set(slot.id, Math.max(-total, Math.min(total, w)));
  }
}
