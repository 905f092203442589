// Why peers refuse a member that lost its disk (src/node/storage-identity.ts): with the wiped voter's vote a
// node that lacks a committed entry wins and overwrites it; with the wiped voter refused (nothing it sends
// arrives, as the real transport does), the entry survives.
import { describe, expect, it } from "vitest";
import { runWipedVoter } from "./scenarios.js";

describe("a voter that lost its disk", () => {
  it("elects a leader without a committed entry when its vote counts", () => {
    const r = runWipedVoter(1, { refused: false });
    const found = new Set(r.violations.map((v) => v.checker));
    expect(found.has("leaderCompleteness") || found.has("stateMachineSafety"), JSON.stringify(r.violations, null, 1)).toBe(true);
  });

  it("cannot when its peers refuse it: the committed entry survives and its holder leads again", () => {
    const r = runWipedVoter(1, { refused: true });
    const found = r.violations.map((v) => v.checker);
    // committedEntryLost is the wipe itself (the checker assumes voters keep their disks); nothing else may fire.
    expect(found.filter((c) => c !== "committedEntryLost"), JSON.stringify(r.violations, null, 1)).toEqual([]);
    expect(found).toContain("committedEntryLost");
    expect(r.stats.leaders).toBeGreaterThanOrEqual(2);
  });
});
