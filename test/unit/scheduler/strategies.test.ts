import fc from "fast-check";
import { describe, expect, it } from "vitest";
import { makePrng } from "../../../src/raft/prng.js";
import { planAssignments } from "../../../src/scheduler/planner.js";
import { pickWorker, STRATEGIES, type Strategy } from "../../../src/scheduler/strategies.js";
import { Log } from "./helpers.js";

const candidateArb = fc.uniqueArray(
  fc.record({ id: fc.stringMatching(/^[a-z][a-z0-9]{0,4}$/), active: fc.nat(10), capacity: fc.nat(10) }),
  { selector: (c) => c.id, minLength: 1, maxLength: 8 },
);

describe("pickWorker, every strategy", () => {
  it("never picks a worker at capacity, and picks nothing when all are full", () => {
    fc.assert(
      fc.property(fc.constantFrom(...STRATEGIES), candidateArb, fc.nat(), fc.option(fc.string()), (strategy, candidates, seed, cursor) => {
        const pick = pickWorker(strategy, candidates, makePrng(seed), { rrCursor: cursor });
        const eligible = candidates.filter((c) => c.active < c.capacity);
        if (eligible.length === 0) expect(pick).toBeNull();
        else expect(eligible.map((c) => c.id)).toContain(pick!.worker);
      }),
      { numRuns: 2000 },
    );
    for (const strategy of STRATEGIES) {
      const full = [{ id: "a", active: 2, capacity: 2 }, { id: "b", active: 0, capacity: 0 }];
      expect(pickWorker(strategy, full, makePrng(1), { rrCursor: null })).toBeNull();
    }
  });

  it("does not depend on the order the candidates arrive in", () => {
    fc.assert(
      fc.property(fc.constantFrom(...STRATEGIES), candidateArb, fc.nat(), (strategy, candidates, seed) => {
        const a = pickWorker(strategy, candidates, makePrng(seed), { rrCursor: null });
        const b = pickWorker(strategy, [...candidates].reverse(), makePrng(seed), { rrCursor: null });
        expect(b).toEqual(a);
      }),
      { numRuns: 1000 },
    );
  });
});

describe("least-loaded", () => {
  it("never picks a worker with more active tasks than another eligible one", () => {
    fc.assert(
      fc.property(candidateArb, (candidates) => {
        const pick = pickWorker("least-loaded", candidates, makePrng(0), { rrCursor: null });
        if (pick === null) return;
        const chosen = candidates.find((c) => c.id === pick.worker)!;
        for (const c of candidates) if (c.active < c.capacity) expect(chosen.active).toBeLessThanOrEqual(c.active);
      }),
      { numRuns: 3000 },
    );
  });
});

/** Assigns `tasks` tasks one at a time while completions (uniform over running tasks) keep the number running at
 *  most `load` × total capacity, so capacity is never what limits a worker. Returns each worker's share. */
function shares(strategy: Strategy, capacities: Record<string, number>, tasks: number, seed: number, load = 0.5): Record<string, number> {
  const rng = makePrng(seed);
  const workers: { id: string; active: number; capacity: number }[] = Object.entries(capacities).map(([id, capacity]) => ({ id, active: 0, capacity }));
  const totalCapacity = workers.reduce((s, w) => s + w.capacity, 0);
  const assigned: Record<string, number> = Object.fromEntries(workers.map((w) => [w.id, 0]));
  let cursor: string | null = null;
  let currentWeights: ReadonlyMap<string, number> = new Map();
  for (let i = 0; i < tasks; i++) {
    const pick = pickWorker(strategy, workers, rng, { rrCursor: cursor, currentWeights });
    if (pick === null) throw new Error("capacity limited the test");
    cursor = pick.rrCursor;
    currentWeights = pick.currentWeights;
    workers.find((w) => w.id === pick.worker)!.active += 1;
    assigned[pick.worker]! += 1;
    let running = workers.reduce((s, w) => s + w.active, 0);
    while (running > totalCapacity * load) {
      // Complete a uniformly random running task.
      let k = Math.floor(rng() * running);
      for (const w of workers) {
        if (k < w.active) {
          w.active -= 1;
          break;
        }
        k -= w.active;
      }
      running -= 1;
    }
  }
  return Object.fromEntries(Object.entries(assigned).map(([id, n]) => [id, n / tasks]));
}

describe("weighted", () => {
  const regimes: [string, number][] = [
    // Every task completes before the next arrives: all workers idle at each pick.
    ["work completes faster than it arrives", 0],
    // Busy cluster, but completions keep it below capacity.
    ["load held at 90% of capacity", 0.9],
  ];
  for (const [name, load] of regimes) {
    it(`gives each worker a share within 5% of its capacity share over 10,000 tasks: ${name}`, () => {
      const cases: Record<string, number>[] = [{ a: 10, b: 20, c: 30, d: 40 }, { n1: 16, n2: 8, n3: 8 }, { x: 8, y: 24 }];
      for (const capacities of cases) {
        const total = Object.values(capacities).reduce((s, c) => s + c, 0);
        const got = shares("weighted", capacities, 10_000, 42, load);
        for (const [id, capacity] of Object.entries(capacities)) {
          const expected = capacity / total;
          expect(Math.abs(got[id]! - expected)).toBeLessThanOrEqual(0.05 * expected);
        }
      }
    });
  }

  it("is nginx's smooth weighted round-robin: weights 5/1/1 give a a b a c a a", () => {
    const cs = [{ id: "a", active: 0, capacity: 5 }, { id: "b", active: 0, capacity: 1 }, { id: "c", active: 0, capacity: 1 }];
    let currentWeights: ReadonlyMap<string, number> = new Map();
    const seq: string[] = [];
    for (let i = 0; i < 14; i++) {
      const pick = pickWorker("weighted", cs, makePrng(i), { rrCursor: null, currentWeights })!;
      seq.push(pick.worker);
      currentWeights = pick.currentWeights;
    }
    expect(seq.join("")).toBe("aabacaa".repeat(2));
    // After a full cycle every weight is back to 0: the sequence repeats exactly, whatever the rng.
    expect([...currentWeights.values()]).toEqual([0, 0, 0]);
  });

  it("skips a worker at capacity, whose weight keeps growing so that it catches up once it has room", () => {
    const weights = new Map([["a", 3], ["b", -2], ["c", -1]]);
    const cs = [{ id: "a", active: 2, capacity: 2 }, { id: "b", active: 0, capacity: 2 }, { id: "c", active: 0, capacity: 1 }];
    const pick = pickWorker("weighted", cs, makePrng(0), { rrCursor: null, currentWeights: weights })!;
    expect(pick.worker).toBe("b"); // -2 + 2 = 0 ties with -1 + 1 = 0: the lower id
    expect(pick.currentWeights).toEqual(new Map([["a", 5], ["b", -5], ["c", 0]]));
    const roomAgain = cs.map((c) => ({ ...c, active: 0 }));
    expect(pickWorker("weighted", roomAgain, makePrng(0), { rrCursor: null, currentWeights: pick.currentWeights })!.worker).toBe("a");
  });

  it("keeps every weight within ±(total capacity) whatever the strategy that picks (no unbounded growth)", () => {
    fc.assert(
      fc.property(fc.constantFrom(...STRATEGIES), candidateArb, fc.nat(), (strategy, candidates, seed) => {
        const rng = makePrng(seed);
        const total = candidates.reduce((s, c) => s + c.capacity, 0);
        let currentWeights: ReadonlyMap<string, number> = new Map();
        for (let i = 0; i < 50; i++) {
          const pick = pickWorker(strategy, candidates, rng, { rrCursor: null, currentWeights });
          if (pick === null) return;
          currentWeights = pick.currentWeights;
          for (const w of currentWeights.values()) expect(Math.abs(w)).toBeLessThanOrEqual(total);
        }
      }),
      { numRuns: 500 },
    );
  });

  // Issue 17 point 3: capacities 1/2/4 and 600 quick tasks on a real cluster gave the leader 34.5 % for a 28.6 %
  // share. The leader's own completions are applied at once, the followers' a few rounds later, so under the old
  // "lowest active/capacity" the leader looked idlest at nearly every pick. This drives the production path (the
  // planner on the committed table, apply() of each assign and complete) with exactly that lag.
  for (const leader of ["n1", "n2", "n4"]) {
    it(`capacities 1/2/4, 600 quick tasks, followers' completions applied 3 rounds late: shares within 5 points (leader ${leader})`, () => {
      const capacities: Record<string, number> = { n1: 1, n2: 2, n4: 4 };
      const log = new Log();
      for (const [id, capacity] of Object.entries(capacities)) log.up(id, capacity);
      const got: Record<string, number> = { n1: 0, n2: 0, n4: 0 };
      const completions: { due: number; id: string; attempt: number }[] = [];
      const rng = makePrng(17);
      for (let round = 0; round < 600; round++) {
        for (const c of completions.filter((c) => c.due <= round)) log.run({ type: "complete", id: c.id, attempt: c.attempt });
        completions.splice(0, completions.length, ...completions.filter((c) => c.due > round));
        log.submit(`t${round}`);
        const cmd = planAssignments(log.table, { nowMs: 1e12, strategy: "weighted", rng });
        if (cmd === null) continue; // every worker full this round: the task waits
        log.run(cmd);
        for (const a of cmd.assignments) {
          got[a.worker]! += 1;
          completions.push({ due: round + (a.worker === leader ? 1 : 3), id: a.taskId, attempt: a.attempt });
        }
      }
      const assignedTotal = Object.values(got).reduce((s, n) => s + n, 0);
      expect(assignedTotal).toBeGreaterThan(590);
      for (const [id, capacity] of Object.entries(capacities)) {
        expect(Math.abs(got[id]! / assignedTotal - capacity / 7)).toBeLessThan(0.05);
      }
    });
  }
});

describe("random", () => {
  it("passes a chi-square uniformity test at p = 0.001 (fixed seed)", () => {
    const ids = ["n1", "n2", "n3", "n4", "n5"];
    // Loads differ but never fill anyone up: random must ignore load.
    const candidates = ids.map((id, i) => ({ id, active: i, capacity: 1_000_000 }));
    const counts = new Map(ids.map((id) => [id, 0]));
    const rng = makePrng(20240607);
    const draws = 10_000;
    for (let i = 0; i < draws; i++) {
      const pick = pickWorker("random", candidates, rng, { rrCursor: null })!;
      counts.set(pick.worker, counts.get(pick.worker)! + 1);
    }
    const expected = draws / ids.length;
    const chiSquare = [...counts.values()].reduce((s, n) => s + (n - expected) ** 2 / expected, 0);
    // Critical value of chi-square with 4 degrees of freedom at p = 0.001.
    expect(chiSquare).toBeLessThan(18.467);
    // And it is not degenerate (every worker drawn).
    for (const n of counts.values()) expect(n).toBeGreaterThan(0);
  });

  it("a biased picker would fail the same test (the test can fail)", () => {
    const counts = [2100, 2100, 2100, 2100, 1600];
    const chiSquare = counts.reduce((s, n) => s + (n - 2000) ** 2 / 2000, 0);
    expect(chiSquare).toBeGreaterThan(18.467);
  });
});

describe("round-robin", () => {
  it("cycles in id order from the cursor, skipping full workers, and continues across joins", () => {
    const cs = [
      { id: "n1", active: 0, capacity: 4 },
      { id: "n2", active: 4, capacity: 4 },
      { id: "n3", active: 0, capacity: 4 },
    ];
    const seq: string[] = [];
    let cursor: string | null = null;
    for (let i = 0; i < 4; i++) {
      const pick: { worker: string; rrCursor: string | null } = pickWorker("round-robin", cs, makePrng(0), { rrCursor: cursor })!;
      seq.push(pick.worker);
      cursor = pick.rrCursor;
    }
    expect(seq).toEqual(["n1", "n3", "n1", "n3"]);
    // A worker that sorts after the cursor joins: it is next, nobody repeats.
    const joined = [...cs, { id: "n4", active: 0, capacity: 4 }];
    expect(pickWorker("round-robin", joined, makePrng(0), { rrCursor: "n3" })!.worker).toBe("n4");
    // The cursor worker left: continue with the next id after it.
    expect(pickWorker("round-robin", [cs[0]!], makePrng(0), { rrCursor: "n3" })!.worker).toBe("n1");
  });

  it("spreads evenly when nobody is full", () => {
    const got = shares("round-robin", { a: 100, b: 100, c: 100 }, 9_000, 1);
    expect(got).toEqual({ a: 1 / 3, b: 1 / 3, c: 1 / 3 });
  });
});
