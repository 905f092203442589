import { describe, expect, it } from "vitest";
import { nextSnapshotIndex, SNAPSHOT_REST_FACTOR, snapshotDue, snapshotPosition, snapshotRestOver } from "../../../src/node/snapshot-schedule.js";

describe("snapshot schedule", () => {
  it("gives the members of a cluster different snapshot indexes (staggered), one period apart each", () => {
    const voters = ["n3", "n1", "n2"];
    const dues = ["n1", "n2", "n3"].map((id) => {
      const { position, members } = snapshotPosition(id, voters, []);
      return nextSnapshotIndex(0, 500, position, members);
    });
    expect(dues).toEqual([500, 666, 333]);
    expect(new Set(dues).size).toBe(3);
    // After a snapshot at its own phase, the next is exactly one period later.
    expect(nextSnapshotIndex(666, 500, 1, 3)).toBe(1166);
  });

  it("after a snapshot installed at any index, waits at least half a period and returns to its phase", () => {
    for (let installed = 0; installed < 2000; installed += 37) {
      const next = nextSnapshotIndex(installed, 500, 2, 3);
      expect(next - installed).toBeGreaterThanOrEqual(250);
      expect(next - installed).toBeLessThan(750);
      expect(next % 500).toBe(333);
    }
  });

  it("is off for everyEntries <= 0, and a node outside the configuration still gets a schedule", () => {
    expect(snapshotDue(10_000, 0, 0, 0, 3)).toBe(false);
    expect(snapshotPosition("n9", ["n1", "n2"], [])).toEqual({ position: 0, members: 2 });
    expect(snapshotDue(4, 0, 3, 0, 1)).toBe(true);
  });

  it("rests a multiple of the last snapshot's duration before the next, so a slow (big) snapshot spaces them out", () => {
    expect(snapshotRestOver(0, null)).toBe(true); // none taken yet
    const last = { finishedAtMs: 10_000, durationMs: 2_000 };
    expect(snapshotRestOver(10_000 + SNAPSHOT_REST_FACTOR * 2_000 - 1, last)).toBe(false);
    expect(snapshotRestOver(10_000 + SNAPSHOT_REST_FACTOR * 2_000, last)).toBe(true);
    // A quick snapshot of a small table hardly delays the next.
    expect(snapshotRestOver(10_005, { finishedAtMs: 10_000, durationMs: 1 })).toBe(true);
    expect(snapshotRestOver(10_000, last, 0)).toBe(true);
  });
});
