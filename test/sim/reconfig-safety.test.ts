// Issue #18 point 1 in the simulator: the dead-learner promotion schedule is refused by the production rule and
// the cluster keeps committing; with the rule switched off (skipReconfigCheck) the promotion goes through, the
// cluster stops committing, and the reconfigQuorumLoss checker reports it. Random seeds with membership changes
// run every change through the rule and stay clean.
import { describe, expect, it } from "vitest";
import { runSeed } from "./cluster.js";
import { reconfigQuorumLoss, runDeadLearnerPromotion } from "./reconfig-safety.js";

describe("promoting a learner that died after catching up (issue #18)", () => {
  it("the rule refuses the promotion and the two live voters keep committing", () => {
    for (const seed of [1, 2, 3, 4, 5]) {
      const r = runDeadLearnerPromotion(seed);
      expect(r.result.violations, `seed ${seed}`).toEqual([]);
      expect(r, `seed ${seed}`).toMatchObject({ learnerCaughtUp: true, promotionProposed: false, committedAfter: true });
    }
  });

  it("broken rule skipReconfigCheck: the promotion goes through, commits stop, and reconfigQuorumLoss fires", () => {
    for (const seed of [1, 2, 3, 4, 5]) {
      const r = runDeadLearnerPromotion(seed, { skipReconfigCheck: true });
      expect(r, `seed ${seed}`).toMatchObject({ learnerCaughtUp: true, promotionProposed: true, committedAfter: false });
      const v = r.result.violations.find((x) => x.checker === "reconfigQuorumLoss");
      expect(v?.detail, `seed ${seed}`).toMatch(/addVoter n4 proposed with 2 of 4 voters after it up, promoting a member down \d+ ticks/);
    }
  });
});

describe("the reconfigQuorumLoss checker", () => {
  const base = { seed: 1, tick: 500, voters: ["n1", "n2", "n3"] };
  it("accepts removing a member down for long when the rest keep a majority, and a change while everyone is up", () => {
    const down = (id: string) => (id === "n3" ? 200 : null);
    expect(reconfigQuorumLoss({ ...base, change: { op: "remove", id: "n3" }, downForTicks: down })).toBeNull();
    expect(reconfigQuorumLoss({ ...base, change: { op: "addVoter", id: "n4" }, downForTicks: () => null })).toBeNull();
  });
  it("ignores a member down only briefly (the leader may rightly have heard it within its election timeout)", () => {
    expect(reconfigQuorumLoss({ ...base, change: { op: "addVoter", id: "n4" }, downForTicks: (id) => (id === "n4" ? 10 : null) })).toBeNull();
  });
  it("fires on removing a live voter when another is down", () => {
    const v = reconfigQuorumLoss({ ...base, change: { op: "remove", id: "n2" }, downForTicks: (id) => (id === "n3" ? 100 : null) });
    expect(v?.detail).toMatch(/remove n2 proposed with 1 of 2 voters after it up: n3 \(down 100 ticks\)/);
  });
});

describe("random seeds with membership changes go through the rule", () => {
  it("changes still commit, and none costs the quorum", () => {
    let confChanges = 0;
    for (let seed = 1; seed <= 40; seed++) {
      const r = runSeed({ seed, membership: true, faultTicks: 800 });
      expect(r.violations, `seed ${seed}`).toEqual([]);
      confChanges += r.stats.confChanges;
    }
    expect(confChanges).toBeGreaterThanOrEqual(40);
  });
});
