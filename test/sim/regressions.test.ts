// Seeds that once failed, replayed on every run. Each line says what the seed found and where it was fixed.
import { expect, it } from "vitest";
import { runSeed } from "./cluster.js";
import { formatFailure } from "./seed-range.js";

const SEEDS: ReadonlyArray<readonly [seed: number, found: string]> = [
  // sim:long at 159d522: a worker's report proposed to a leader at index 71 of term 2 was dropped from the
  // scheduler model's waiting list when the same node, leader again in term 4, proposed another entry at index 71;
  // the report never resolved, was never retried, and its task stayed assigned (liveness after the heal).
  [608, "a replaced proposal must resolve as lost (scheduler-model.ts propose)"],
  // The same cause on 5 nodes with members added at runtime: a report to the leader n6 reported through was lost.
  [11267, "a replaced proposal must resolve as lost, with membership changes"],
  // sim:long at 3f7305a: a learner joined late, 38 entries behind at the heal, catching up 1 entry per append with
  // appends reordered (so the leader kept falling back to probing): ~600 ticks, over the heal bound, which had
  // assumed pipelined appends. The bound now allows one append per round trip plus a heartbeat (catchUpTicks).
  [17576, "the heal bound must allow a throttled learner's real catch-up pace"],
  // sim:long at 24f5291: n1 applied its own removal during the write of the Ready that carried the commit index,
  // crashed before that write finished, restarted believing it was a member (its disk said commit 8 < 9) and won
  // an election. Raft allows it (it still holds the removal entry, and one-server changes keep majorities
  // overlapping); the checker counted knowledge the crash had erased. Knowledge of a removal now counts once durable.
  [9510, "a removal learned but not yet durable is forgotten at a crash (removedNodeLeads)"],
];

for (const [seed, found] of SEEDS) {
  it(`seed ${seed}: ${found}`, () => {
    const r = runSeed({ seed });
    expect(r.violations.length === 0 ? "" : formatFailure(r)).toBe("");
  });
}
