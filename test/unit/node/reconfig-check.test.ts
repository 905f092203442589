import { describe, expect, it } from "vitest";
import { PROMOTION_MAX_LAG_ENTRIES, reconfigRefusal, type ReconfigView } from "../../../src/node/reconfig-check.js";

// n1 leads; n2 is heard, n3 is dead (silent 5 s); n4 is a learner whose state each test sets.
function view(n4: { silenceMs: number | null; matchIndex: number } | undefined, extra: Partial<ReconfigView> = {}): ReconfigView {
  return {
    leaderId: "n1",
    voters: ["n1", "n2", "n3"],
    learners: ["n4"],
    leaderLastIndex: 1000,
    electionTimeoutMs: 300,
    contact: {
      n2: { silenceMs: 40, matchIndex: 1000 },
      n3: { silenceMs: 5000, matchIndex: 700 },
      ...(n4 ? { n4 } : {}),
    },
    ...extra,
  };
}

describe("reconfigRefusal", () => {
  it("promotes a learner heard now and caught up (3 of 4 voters reachable after)", () => {
    expect(reconfigRefusal(view({ silenceMs: 20, matchIndex: 990 }), { op: "addVoter", id: "n4" })).toBeNull();
  });

  it("refuses a learner that was caught up but is silent now: LEARNER_NOT_READY naming the silence", () => {
    const r = reconfigRefusal(view({ silenceMs: 3000, matchIndex: 1000 }), { op: "addVoter", id: "n4" });
    expect(r).toMatchObject({ code: "LEARNER_NOT_READY", reason: "learnerSilent" });
    expect(r!.message).toMatch(/"n4" was last heard 3000 ms ago/);
  });

  it("refuses a learner never heard, and one more than 100 entries behind", () => {
    expect(reconfigRefusal(view(undefined), { op: "addVoter", id: "n4" })).toMatchObject({ code: "LEARNER_NOT_READY", reason: "learnerSilent" });
    const behind = reconfigRefusal(view({ silenceMs: 10, matchIndex: 1000 - PROMOTION_MAX_LAG_ENTRIES - 1 }), { op: "addVoter", id: "n4" });
    expect(behind).toMatchObject({ code: "LEARNER_NOT_READY", reason: "learnerBehind" });
    expect(reconfigRefusal(view({ silenceMs: 10, matchIndex: 0 }), { op: "addVoter", id: "n4" })).toMatchObject({ reason: "learnerBehind" });
    expect(reconfigRefusal(view({ silenceMs: 10, matchIndex: 1000 - PROMOTION_MAX_LAG_ENTRIES }), { op: "addVoter", id: "n4" })).toBeNull();
  });

  it("refuses adding a voter that is not a learner", () => {
    expect(reconfigRefusal(view(undefined), { op: "addVoter", id: "n9" })).toMatchObject({ code: "LEARNER_NOT_READY", reason: "notALearner" });
  });

  it("UNSAFE_RECONFIG: a promotion after which the reachable voters are not a majority", () => {
    // n4 alive and caught up, but n2 is silent too: n1 and n4 of 4 voters is not a majority.
    const v = view({ silenceMs: 10, matchIndex: 1000 }, { contact: { n2: { silenceMs: 900, matchIndex: 1000 }, n3: { silenceMs: 5000, matchIndex: 1 }, n4: { silenceMs: 10, matchIndex: 1000 } } });
    const r = reconfigRefusal(v, { op: "addVoter", id: "n4" });
    expect(r).toMatchObject({ code: "UNSAFE_RECONFIG", reason: "quorumAfterChange" });
    expect(r!.message).toMatch(/2 of 4 voters reachable.*n2, n3/);
  });

  it("removing a dead voter that keeps a quorum is allowed (how an operator recovers); removing a live one that breaks it is not", () => {
    expect(reconfigRefusal(view(undefined), { op: "remove", id: "n3" })).toBeNull();
    expect(reconfigRefusal(view(undefined), { op: "remove", id: "n2" })).toMatchObject({ code: "UNSAFE_RECONFIG" });
    expect(reconfigRefusal(view(undefined), { op: "remove", id: "n4" })).toBeNull();
  });

  it("4 voters, 2 of them dead (the issue's aftermath): removing a dead one restores a majority", () => {
    const v = view(undefined, { voters: ["n1", "n2", "n3", "n4"], learners: [], contact: { n2: { silenceMs: 10, matchIndex: 9 }, n3: { silenceMs: 9000, matchIndex: 1 }, n4: { silenceMs: 9000, matchIndex: 1 } } });
    expect(reconfigRefusal(v, { op: "remove", id: "n4" })).toBeNull();
  });
});
