// How fast LevelStore makes entries durable on this disk (every batch is written with sync: true).
//
//   npx tsx scripts/bench-storage.ts [--seconds 3] [--dir <parent dir for the temp store>]
//
// Cases: one writer persisting batches of 1 or 64 entries (each awaited, as the node runner does per Ready), and
// 16 writers persisting single entries concurrently (group commit merges them into fewer fsyncs).
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import path from "node:path";
import { parseArgs } from "node:util";
import type { Entry } from "../src/raft/types.js";
import { LevelStore } from "../src/storage/level.js";

const ENTRY_BYTES = 256;

const { values } = parseArgs({ options: { seconds: { type: "string", default: "3" }, dir: { type: "string", default: tmpdir() } } });
const durationMs = Number(values.seconds) * 1000;

interface Case {
  readonly name: string;
  readonly batchEntries: number;
  readonly writers: number;
}

const CASES: readonly Case[] = [
  { name: "1 writer, batches of 1", batchEntries: 1, writers: 1 },
  { name: "1 writer, batches of 64", batchEntries: 64, writers: 1 },
  { name: "16 writers, batches of 1", batchEntries: 1, writers: 16 },
];

async function runCase(c: Case): Promise<void> {
  const dir = mkdtempSync(path.join(values.dir, "raftsched-bench-storage-"));
  const store = await LevelStore.open(dir);
  const payload = new Uint8Array(ENTRY_BYTES).fill(0xab);
  let next = 1;
  let persists = 0;
  const latenciesMs: number[] = [];
  const deadline = performance.now() + durationMs;
  const startedAt = performance.now();

  // Indexes are handed out at call time, so concurrent writers still produce one contiguous log in call order.
  const writer = async (): Promise<void> => {
    while (performance.now() < deadline) {
      const entries: Entry[] = [];
      for (let k = 0; k < c.batchEntries; k++) entries.push({ index: next++, term: 1, kind: "normal", data: payload });
      const t0 = performance.now();
      await store.persist({ hardState: { term: 1, vote: null, commit: 0 }, entries });
      latenciesMs.push(performance.now() - t0);
      persists++;
    }
  };
  await Promise.all(Array.from({ length: c.writers }, writer));
  const elapsedS = (performance.now() - startedAt) / 1000;
  const { syncedBatches } = store.stats();
  await store.close();
  rmSync(dir, { recursive: true, force: true });

  latenciesMs.sort((a, b) => a - b);
  const pct = (p: number) => (latenciesMs[Math.min(latenciesMs.length - 1, Math.floor(p * latenciesMs.length))] ?? 0).toFixed(2);
  const entries = next - 1;
  console.log(
    `${c.name.padEnd(26)} ${(entries / elapsedS).toFixed(0).padStart(8)} entries/s  ${(persists / elapsedS).toFixed(0).padStart(6)} persists/s  ` +
      `${(syncedBatches / elapsedS).toFixed(0).padStart(6)} fsyncs/s  persist p50 ${pct(0.5)} ms  p99 ${pct(0.99)} ms`,
  );
}

console.log(`LevelStore, ${ENTRY_BYTES}-byte entries, sync: true, ${values.seconds}s per case, dir ${values.dir}`);
for (const c of CASES) await runCase(c);
