// Snapshot data in bounded chunks (issue #18 item 2): no LevelDB batch carries more than one chunk of snapshot data,
// and a crash anywhere before the pointer batch leaves the previous snapshot loadable and its chunks in place.
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import path from "node:path";
import { Level } from "level";
import { afterEach, describe, expect, it } from "vitest";
import type { Entry, Snapshot } from "../../../src/raft/types.js";
import { LevelStore } from "../../../src/storage/level.js";
import { CHUNK_BYTES, CHUNK_RANGE_END, CHUNK_RANGE_START, chunkKey, generationOfChunkKey } from "../../../src/storage/snapshot-chunks.js";

type Db = Level<Uint8Array, Uint8Array>;
const dirs: string[] = [];
afterEach(() => {
  for (const d of dirs.splice(0)) rmSync(d, { recursive: true, force: true });
});

function tempDir(): string {
  const dir = mkdtempSync(path.join(tmpdir(), "raftsched-chunks-"));
  dirs.push(dir);
  return dir;
}

const CONF = { voters: ["n1", "n2", "n3"], learners: [] };
function snapshotOf(index: number, bytes: number, fill: number): Snapshot {
  return { meta: { index, term: 1, conf: CONF }, data: new Uint8Array(bytes).fill(fill) };
}
function entries(from: number, to: number): Entry[] {
  const out: Entry[] = [];
  for (let i = from; i <= to; i++) out.push({ index: i, term: 1, kind: "normal", data: Uint8Array.of(i & 0xff) });
  return out;
}

async function chunkGenerations(dir: string): Promise<Map<number, number>> {
  const db: Db = new Level<Uint8Array, Uint8Array>(dir, { keyEncoding: "view", valueEncoding: "view" });
  await db.open();
  const counts = new Map<number, number>();
  for await (const key of db.keys({ gte: CHUNK_RANGE_START, lt: CHUNK_RANGE_END })) {
    const g = generationOfChunkKey(key)!;
    counts.set(g, (counts.get(g) ?? 0) + 1);
  }
  await db.close();
  return counts;
}

/** The largest value bytes any one db.batch carried while `f` ran. */
async function largestBatchBytes(store: LevelStore, f: () => Promise<void>): Promise<number> {
  const db = (store as unknown as { db: Db }).db;
  const original = db.batch.bind(db) as (ops: unknown, options: unknown) => Promise<void>;
  let largest = 0;
  (db as unknown as { batch: unknown }).batch = (ops: Array<{ value?: Uint8Array }>, options: unknown) => {
    largest = Math.max(largest, ops.reduce((n, op) => n + (op.value?.byteLength ?? 0), 0));
    return original(ops, options);
  };
  try {
    await f();
  } finally {
    (db as unknown as { batch: unknown }).batch = original;
  }
  return largest;
}

/** A store holding entries 1..20 and a 600 KiB snapshot at 10 (three chunks). */
async function storeWithSnapshot(dir: string): Promise<{ store: LevelStore; old: Snapshot }> {
  const store = await LevelStore.open(dir);
  await store.persist({ hardState: { term: 1, vote: null, commit: 20 }, entries: entries(1, 20) });
  const old = snapshotOf(10, 600 * 1024, 0xaa);
  await store.saveSnapshot(old, 5);
  return { store, old };
}

describe("snapshot data in chunks", () => {
  it("saves and installs a snapshot in batches of at most one chunk, and loads it back whole", async () => {
    const dir = tempDir();
    const { store } = await storeWithSnapshot(dir);
    const local = snapshotOf(15, 3 * CHUNK_BYTES + 17, 0xbb);
    const saveLargest = await largestBatchBytes(store, async () => {
      await store.stageSnapshot(local.data);
      await store.saveSnapshot(local, 12);
    });
    expect(saveLargest).toBeLessThanOrEqual(CHUNK_BYTES + 1024);
    const leader = { meta: { index: 40, term: 2, conf: CONF }, data: new Uint8Array(5 * CHUNK_BYTES).fill(0xcc) };
    const installLargest = await largestBatchBytes(store, () =>
      store.persist({ snapshot: leader, entries: [], hardState: { term: 2, vote: null, commit: 40 } }),
    );
    expect(installLargest).toBeLessThanOrEqual(CHUNK_BYTES + 1024);
    await store.close();

    const again = await LevelStore.open(dir);
    const loaded = await again.load();
    expect(loaded.snapshot().meta.index).toBe(40);
    expect(Buffer.from(loaded.snapshot().data).equals(Buffer.from(leader.data))).toBe(true);
    await again.close();
    // The replaced generations (the old and the local snapshot) are gone; only the current one's 5 chunks stay.
    expect([...(await chunkGenerations(dir)).values()]).toEqual([5]);
  });

  it("a crash after the chunks but before the pointer batch leaves the old snapshot, and the orphans go", async () => {
    const dir = tempDir();
    const { store, old } = await storeWithSnapshot(dir);
    // Chunks of a newer snapshot are written, then the process dies before saveSnapshot moves the pointer.
    await store.stageSnapshot(snapshotOf(15, 2 * CHUNK_BYTES + 1, 0xbb).data);
    await store.close();
    expect((await chunkGenerations(dir)).size).toBe(2);

    const again = await LevelStore.open(dir);
    const loaded = await again.load();
    expect(loaded.snapshot().meta.index).toBe(10);
    expect(Buffer.from(loaded.snapshot().data).equals(Buffer.from(old.data))).toBe(true);
    expect([loaded.firstIndex(), loaded.lastIndex()]).toEqual([6, 20]);
    await again.close();
    expect([...(await chunkGenerations(dir)).values()]).toEqual([3]);
  });

  it("a crash in the middle of the chunks (some written) leaves the old snapshot, and later saves still work", async () => {
    const dir = tempDir();
    const { store, old } = await storeWithSnapshot(dir);
    await store.close();
    // What a crash two chunks into a later generation leaves on disk.
    const db: Db = new Level<Uint8Array, Uint8Array>(dir, { keyEncoding: "view", valueEncoding: "view" });
    await db.open();
    await db.put(chunkKey(99, 0), new Uint8Array(CHUNK_BYTES).fill(1));
    await db.put(chunkKey(99, 1), new Uint8Array(CHUNK_BYTES).fill(1));
    await db.close();

    const again = await LevelStore.open(dir);
    expect(Buffer.from((await again.load()).snapshot().data).equals(Buffer.from(old.data))).toBe(true);
    const next = snapshotOf(18, CHUNK_BYTES + 5, 0xdd);
    await again.saveSnapshot(next, 15); // not staged: written in order, still in chunks
    await again.close();
    const third = await LevelStore.open(dir);
    const loaded = await third.load();
    expect(loaded.snapshot().meta.index).toBe(18);
    expect(Buffer.from(loaded.snapshot().data).equals(Buffer.from(next.data))).toBe(true);
    await third.close();
    expect([...(await chunkGenerations(dir)).values()]).toEqual([2]);
  });

  it("a staged snapshot superseded by a newer stage is dropped, and saving stale data still writes it", async () => {
    const dir = tempDir();
    const { store } = await storeWithSnapshot(dir);
    const a = snapshotOf(12, 100, 1);
    const b = snapshotOf(14, 100, 2);
    await store.stageSnapshot(a.data);
    await store.stageSnapshot(b.data);
    await store.saveSnapshot(a, 12); // a's staged chunks were dropped: written again, in order
    expect(Buffer.from((await store.load()).snapshot().data).equals(Buffer.from(a.data))).toBe(true);
    await store.close();
  });
});
