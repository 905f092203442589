import { describe, expect, it } from "vitest";
import { nextSnapshotIndex, snapshotDue, snapshotPosition } from "../../../src/node/snapshot-schedule.js";

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
});
