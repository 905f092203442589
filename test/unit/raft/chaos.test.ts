// A small randomized run of 5 RaftNodes with message loss, duplication, reordering, partitions and restarts,
// checking election safety and state machine safety after every step. (test/sim holds the full simulator; this
// one guards the core on its own and proves the checks can fail with a broken rule.)
import { describe, expect, it } from "vitest";
import { bytes, TestNet } from "./net.js";
import type { BrokenRules } from "../../../src/raft/api.js";
import { makePrng } from "../../../src/raft/prng.js";
import type { Entry } from "../../../src/raft/types.js";

const IDS = ["n1", "n2", "n3", "n4", "n5"];

function run(seed: number, brokenRules: BrokenRules = {}, steps = 400): string | null {
  const random = makePrng(seed);
  const net = TestNet.cluster(IDS, { brokenRules });
  net.chaos = { random, dropRate: 0.1, duplicateRate: 0.05 };
  const leaderOfTerm = new Map<number, string>();
  /** The entry each index was first applied with, anywhere. */
  const appliedAt = new Map<number, Entry>();
  const seenApplied = new Map<string, number>();
  let proposals = 0;
  for (let step = 0; step < steps; step++) {
    const r = random();
    if (r < 0.03) {
      net.heal();
      const a = IDS[Math.floor(random() * IDS.length)]!;
      net.isolate(a);
      if (random() < 0.5) net.cutLink(IDS[Math.floor(random() * IDS.length)]!, IDS[Math.floor(random() * IDS.length)]!);
    } else if (r < 0.06) {
      net.heal();
    } else if (r < 0.08) {
      const id = IDS[Math.floor(random() * IDS.length)]!;
      net.restart(id, { brokenRules });
      seenApplied.set(id, 0);
    } else if (r < 0.2) {
      for (const id of net.leaders()) {
        try {
          net.raft(id).propose(bytes(`p${proposals++}`));
        } catch {
          /* transfer in progress or too large: fine */
        }
      }
      net.settle();
    } else {
      net.tick("all", 1);
    }
    for (const id of IDS) {
      const st = net.raft(id).status();
      if (st.role === "leader") {
        const prev = leaderOfTerm.get(st.term);
        if (prev !== undefined && prev !== id) return `seed ${seed} step ${step}: two leaders in term ${st.term}: ${prev}, ${id}`;
        leaderOfTerm.set(st.term, id);
      }
      const applied = net.peer(id).applied;
      for (let k = seenApplied.get(id) ?? 0; k < applied.length; k++) {
        const e = applied[k]!;
        const first = appliedAt.get(e.index);
        if (!first) appliedAt.set(e.index, e);
        else if (first.term !== e.term || !sameBytes(first.data, e.data)) {
          return `seed ${seed} step ${step}: ${id} applied a different entry at ${e.index}`;
        }
      }
      seenApplied.set(id, applied.length);
    }
  }
  // Liveness sanity: a run that commits (almost) nothing proves nothing about safety.
  if (appliedAt.size < 20) return `seed ${seed}: only ${appliedAt.size} entries applied`;
  return null;
}

function sameBytes(a: Uint8Array, b: Uint8Array): boolean {
  return a.byteLength === b.byteLength && a.every((x, i) => x === b[i]);
}

describe("randomized safety", () => {
  it("holds election safety and state machine safety across seeds", () => {
    const failures: string[] = [];
    let progressed = 0;
    for (let seed = 1; seed <= 40; seed++) {
      const f = run(seed);
      if (f) failures.push(f);
      else progressed++;
    }
    expect(failures).toEqual([]);
    expect(progressed).toBe(40);
  });

  it("the same checks catch a broken rule (two votes per term + no up-to-date check)", () => {
    let caught = 0;
    for (let seed = 1; seed <= 40 && caught === 0; seed++) {
      const f = run(seed, { grantTwoVotesPerTerm: true, skipUpToDateCheck: true }, 600);
      if (f && /two leaders|different entry/.test(f)) caught++;
    }
    expect(caught).toBeGreaterThan(0);
  });
});
