// watchStreamsAgree fires on a hand-made pair of differing event lists and stays quiet on equal ones; with the
// broken-rule switch (n2 derives its events without requeued tasks) the simulator reports it on a real run, and
// the same seeds with correct replicas are clean.
import { describe, expect, it } from "vitest";
import { runSeed } from "./cluster.js";
import { watchStreamsAgree, type WatchRecord } from "./watch-checker.js";

const rec = (node: string, state: "pending" | "assigned"): WatchRecord => ({ index: 9, node, tick: 1, events: [{ index: 9, id: "t1", state, attempt: 1, worker: null }] });

describe("watchStreamsAgree", () => {
  it("fires when two replicas derived different events for one index, not when they agree", () => {
    expect(watchStreamsAgree(1, 5, rec("n1", "pending"), rec("n2", "pending"))).toEqual([]);
    const v = watchStreamsAgree(1, 5, rec("n1", "pending"), rec("n2", "assigned"));
    expect(v).toHaveLength(1);
    expect(v[0]!.detail).toMatch(/index 9 differ: n1 .*t1=pending.* vs n2 .*t1=assigned/);
  });

  it("a replica that forgets requeued tasks in its events is caught on a real run within 60 seeds; correct replicas are clean", () => {
    let hit: { seed: number; detail: string } | null = null;
    for (let seed = 1; seed <= 60 && !hit; seed++) {
      const v = runSeed({ seed, brokenScheduler: { watchDropsRequeued: true }, continueAfterViolation: true }).violations.find((x) => x.checker === "watchStreamsAgree");
      if (v) hit = { seed, detail: v.detail };
    }
    expect(hit, "no seed requeued a task on n2's watch").not.toBeNull();
    expect(hit!.detail).toMatch(/watch events at index \d+ differ/);
    expect(runSeed({ seed: hit!.seed }).violations.filter((x) => x.checker === "watchStreamsAgree")).toEqual([]);
  });

  it("a replica that forgets deletions in its events is caught on a lifecycle run within 60 seeds; correct replicas are clean", () => {
    let hit: { seed: number; detail: string } | null = null;
    for (let seed = 1; seed <= 60 && !hit; seed++) {
      const v = runSeed({ seed, lifecycle: true, brokenScheduler: { watchDropsDeleted: true }, continueAfterViolation: true }).violations.find((x) => x.checker === "watchStreamsAgree");
      if (v) hit = { seed, detail: v.detail };
    }
    expect(hit, "no seed deleted a task on n2's watch").not.toBeNull();
    expect(hit!.detail).toMatch(/watch events at index \d+ differ: .*=deleted/);
    expect(runSeed({ seed: hit!.seed, lifecycle: true }).violations.filter((x) => x.checker === "watchStreamsAgree")).toEqual([]);
  });
});
