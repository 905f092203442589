// node.ready() and the short wait of a write with no known leader (src/node/leader-wait.ts).
import { describe, expect, it } from "vitest";
import { readinessGap, submitLeaderWaitMs, waitUntilReady, type LeaderProbe } from "../../../src/node/leader-wait.js";

function probe(s: { leader: string | null; commit: number; applied: number; stopped?: boolean }): LeaderProbe {
  return { knownLeader: () => s.leader, commitIndex: () => s.commit, appliedIndex: () => s.applied, stopped: () => s.stopped === true };
}

describe("readiness", () => {
  it("is ready only with a known leader and everything committed applied", () => {
    expect(readinessGap(probe({ leader: null, commit: 0, applied: 0 }))).toBe("no leader is known");
    expect(readinessGap(probe({ leader: "n1", commit: 7, applied: 5 }))).toBe("applied 5 of 7 committed entries");
    expect(readinessGap(probe({ leader: "n1", commit: 7, applied: 7, stopped: true }))).toBe("the node is stopped");
    expect(readinessGap(probe({ leader: "n2", commit: 7, applied: 7 }))).toBeNull();
  });

  it("waits until the node catches up, and rejects with NOT_READY on timeout or when stopped", async () => {
    const s = { leader: null as string | null, commit: 3, applied: 1 };
    const waiting = waitUntilReady(probe(s), 10_000);
    setTimeout(() => {
      s.leader = "n3";
      s.applied = 3;
    }, 30);
    await expect(waiting).resolves.toBeUndefined();
    await expect(waitUntilReady(probe({ leader: null, commit: 0, applied: 0 }), 30)).rejects.toMatchObject({ code: "NOT_READY", message: expect.stringMatching(/no leader is known/) });
    await expect(waitUntilReady(probe({ leader: null, commit: 0, applied: 0, stopped: true }), 10_000)).rejects.toMatchObject({ code: "NOT_READY" });
  });

  it("a write with no known leader waits a few election timeouts, not one", () => {
    expect(submitLeaderWaitMs(300)).toBeGreaterThanOrEqual(3 * 300);
  });
});
