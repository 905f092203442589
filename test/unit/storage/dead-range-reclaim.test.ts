// The store gives back the space of what it deleted (issue 13 point 2): after a snapshot compacts the log, the
// deleted entries' key range is compacted, so the data dir shrinks to about its live data instead of waiting for
// LevelDB's own compaction to reach those files. Compared against the same writes with reclaiming off.
import { randomBytes } from "node:crypto";
import { mkdtempSync, readdirSync, rmSync, statSync } from "node:fs";
import { tmpdir } from "node:os";
import path from "node:path";
import { afterEach, describe, expect, it, vi } from "vitest";
import type { Entry, Snapshot } from "../../../src/raft/types.js";
import { DeadRangeReclaim, type ReclaimTarget } from "../../../src/storage/dead-range-reclaim.js";
import { LevelStore } from "../../../src/storage/level.js";

const dirs: string[] = [];
afterEach(() => {
  for (const d of dirs.splice(0)) rmSync(d, { recursive: true, force: true });
});

function dirBytes(dir: string): number {
  return readdirSync(dir).reduce((n, f) => n + statSync(path.join(dir, f)).size, 0);
}

const ENTRY_BYTES = 4096;
const ENTRIES = 3000; // ~12 MiB of log, flushed from LevelDB's 4 MiB write buffer into table files

/** Writes ENTRIES entries, then a snapshot that compacts all of them away; returns the dir's size once settled. */
async function writeThenCompactLog(reclaimEveryMs: number): Promise<{ bytes: number; compactions: number }> {
  const dir = mkdtempSync(path.join(tmpdir(), "raftsched-reclaim-"));
  dirs.push(dir);
  const store = await LevelStore.open(dir, { reclaimEveryMs });
  const payload = randomBytes(ENTRY_BYTES); // incompressible: LevelDB compresses its table files
  for (let from = 1; from <= ENTRIES; from += 100) {
    const entries: Entry[] = [];
    for (let i = from; i < from + 100; i++) entries.push({ index: i, term: 1, kind: "normal", data: payload });
    await store.persist({ entries, hardState: { term: 1, vote: "n1", commit: from + 99 } });
  }
  const snap: Snapshot = { meta: { index: ENTRIES, term: 1, conf: { voters: ["n1"], learners: [] } }, data: new Uint8Array(1000) };
  await store.saveSnapshot(snap, ENTRIES);
  // Let a reclaim run (if on) finish: close() waits for it.
  for (let i = 0; i < 200 && reclaimEveryMs === 0 && store.reclaim.compactions === 0; i++) await new Promise((r) => setTimeout(r, 10));
  const compactions = store.reclaim.compactions;
  await store.close();
  return { bytes: dirBytes(dir), compactions };
}

describe("reclaiming deleted key ranges", () => {
  it("after the log is compacted away, the data dir shrinks to its live data; without reclaiming it does not", async () => {
    const off = await writeThenCompactLog(Number.POSITIVE_INFINITY);
    const on = await writeThenCompactLog(0);
    expect(off.compactions).toBe(0);
    expect(on.compactions).toBeGreaterThanOrEqual(1);
    // 12 MiB written and deleted: kept as garbage without reclaiming, gone with it.
    expect(off.bytes).toBeGreaterThan(8 * 1024 * 1024);
    expect(on.bytes).toBeLessThan(off.bytes / 4);
  }, 60_000);

  it("runs at most once per interval and remembers what to compact until then", async () => {
    let compactedTo = 0;
    const ranges: string[] = [];
    const target: ReclaimTarget = {
      compact: async (start, end) => void ranges.push(`${start[0]}:${start.at(-1)}-${end.at(-1)}`),
      compactedTo: () => compactedTo,
      entryKey: (i) => Uint8Array.of(101, i),
      entryRangeStart: Uint8Array.of(101),
      generationRange: (g) => [Uint8Array.of(115, g), Uint8Array.of(115, g + 1)],
    };
    vi.useFakeTimers(); // Date.now and setTimeout: the interval is counted on a clock the test moves
    try {
      const r = new DeadRangeReclaim(target, 200);
      compactedTo = 10;
      r.poke();
      await vi.advanceTimersByTimeAsync(1);
      expect(ranges).toEqual(["101:101-11"]); // the log from its start to index 10, at once
      compactedTo = 20;
      r.generationDropped(3);
      r.generationDropped(5);
      r.poke();
      await vi.advanceTimersByTimeAsync(150);
      expect(ranges).toHaveLength(1); // within the interval: waits
      await vi.advanceTimersByTimeAsync(100);
      expect(ranges.slice(1)).toEqual(["101:11-21", "115:3-6"]); // log 11..20, then generations 3..5 as one span
      compactedTo = 30;
      r.poke(); // within the interval again
      await r.stop(); // stopped before its interval: never runs
      await vi.advanceTimersByTimeAsync(1000);
      expect(ranges).toHaveLength(3);
    } finally {
      vi.useRealTimers();
    }
  });
});
