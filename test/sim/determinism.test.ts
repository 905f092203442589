// A seed is a complete description of a run: replaying it gives the same events, tick for tick.
import { describe, expect, it } from "vitest";
import { runSeed } from "./cluster.js";
import type { ProfileName } from "./faults.js";

describe("the simulator is deterministic", () => {
  it("replays a seed exactly, down to every message", () => {
    const a = runSeed({ seed: 4242, trace: true });
    const b = runSeed({ seed: 4242, trace: true });
    expect(a.trace.length).toBeGreaterThan(1000);
    expect(b.trace).toEqual(a.trace);
    expect(b.stats).toEqual(a.stats);
  });

  it("different seeds give different runs", () => {
    expect(runSeed({ seed: 1 }).stats).not.toEqual(runSeed({ seed: 2 }).stats);
  });

  it("seeds mix 3- and 5-node clusters and every fault profile, and the runs do real work", () => {
    const sizes = new Set<number>();
    const profiles = new Set<ProfileName>();
    for (let seed = 1; seed <= 40; seed++) {
      const r = runSeed({ seed, faultTicks: 300 });
      sizes.add(r.nodes);
      profiles.add(r.profile);
      expect(r.stats.committed, `seed ${seed}`).toBeGreaterThan(0);
    }
    expect([...sizes].sort()).toEqual([3, 5]);
    expect([...profiles].sort()).toEqual(["calm", "churn", "mixed", "partitions"]);
  });

  it("the scheduler workload does real work: tasks acknowledged and completed, stale reports fenced, tables compared", () => {
    const sum = { acknowledged: 0, completed: 0, failedAttempts: 0, staleReportsRefused: 0, requeued: 0, tableComparisons: 0, tablesRestored: 0 };
    for (let seed = 1; seed <= 10; seed++) {
      const tasks = runSeed({ seed }).stats.tasks;
      expect(tasks, `seed ${seed}`).toBeDefined();
      expect(tasks!.acknowledged, `seed ${seed}`).toBeGreaterThan(0);
      for (const k of Object.keys(sum) as (keyof typeof sum)[]) sum[k] += tasks![k];
    }
    for (const [k, v] of Object.entries(sum)) expect(v, k).toBeGreaterThan(0);
  });

  it("--nodes and --profile overrides are honoured", () => {
    const r = runSeed({ seed: 9, nodes: 3, profile: "churn", faultTicks: 200 });
    expect(r.nodes).toBe(3);
    expect(r.profile).toBe("churn");
  });
});
