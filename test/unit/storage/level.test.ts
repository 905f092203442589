import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import path from "node:path";
import fc from "fast-check";
import { Level } from "level";
import { afterEach, describe, expect, it } from "vitest";
import type { Entry, HardState, Snapshot } from "../../../src/raft/types.js";
import { encodeEntry, encodeFormatVersion, encodeHardState } from "../../../src/storage/codec.js";
import type { PersistBatch } from "../../../src/storage/durable.js";
import { entryKey, FORMAT_VERSION_KEY, HARD_STATE_KEY, SNAPSHOT_POINTER_KEY } from "../../../src/storage/keys.js";
import { LevelStore, openLevelStore } from "../../../src/storage/level.js";
import { MemoryStorage } from "../../../src/storage/memory.js";

const dirs: string[] = [];
const stores: LevelStore[] = [];

function tempDir(): string {
  const dir = mkdtempSync(path.join(tmpdir(), "raftsched-level-"));
  dirs.push(dir);
  return dir;
}

async function open(dir: string): Promise<LevelStore> {
  const s = await openLevelStore(dir);
  stores.push(s);
  return s;
}

afterEach(async () => {
  for (const s of stores.splice(0)) await s.close();
  for (const d of dirs.splice(0)) rmSync(d, { recursive: true, force: true });
});

function entry(index: number, term: number, text = `${index}@${term}`): Entry {
  return { index, term, kind: index % 7 === 0 ? "config" : "normal", data: new TextEncoder().encode(text) };
}

function run(from: number, to: number, term: number): Entry[] {
  const out: Entry[] = [];
  for (let i = from; i <= to; i++) out.push(entry(i, term));
  return out;
}

function snapshotAt(index: number, term: number, text = "state"): Snapshot {
  return { meta: { index, term, conf: { voters: ["n1", "n2", "n3"], learners: ["n4"] } }, data: new TextEncoder().encode(`${text}@${index}`) };
}

/** What the runner does after a successful persist (the order of Ready handling). */
function applyToMemory(mem: MemoryStorage, b: PersistBatch): void {
  if (b.snapshot) mem.applySnapshot(b.snapshot);
  mem.append(b.entries);
  if (b.hardState) mem.setHardState(b.hardState);
}

/** Everything the core can observe of a Storage. */
function observe(m: MemoryStorage) {
  const first = m.firstIndex();
  return {
    initialState: m.initialState(),
    firstIndex: first,
    lastIndex: m.lastIndex(),
    offsetTerm: m.term(first - 1),
    snapshot: m.snapshot(),
    entries: m.entries(first, m.lastIndex() + 1),
  };
}

async function reopened(dir: string, store: LevelStore): Promise<MemoryStorage> {
  await store.close();
  const again = await open(dir);
  return again.load();
}

async function rawDb(dir: string) {
  const db = new Level<Uint8Array, Uint8Array>(dir, { keyEncoding: "view", valueEncoding: "view" });
  await db.open();
  return db;
}

async function expectCorrupt(dir: string, key: string): Promise<void> {
  const err = await LevelStore.open(dir).then(
    (s) => s.close().then(() => null),
    (e: unknown) => e,
  );
  expect(err).toMatchObject({ code: "STORAGE_CORRUPT", key });
}

const hs = (term: number, commit: number, vote: string | null = "n1"): HardState => ({ term, vote, commit });

describe("LevelStore", () => {
  it("starts empty and round-trips hard state and entries", async () => {
    const dir = tempDir();
    const store = await open(dir);
    expect(observe(await store.load())).toEqual(observe(new MemoryStorage()));

    const mem = new MemoryStorage();
    const batches: PersistBatch[] = [
      { hardState: hs(1, 0), entries: run(1, 3, 1) },
      { entries: run(4, 4, 1) },
      { hardState: hs(2, 3, null), entries: [] },
      { hardState: hs(2, 4, "n2"), entries: run(5, 9, 2) },
    ];
    for (const b of batches) {
      await store.persist(b);
      applyToMemory(mem, b);
    }
    expect(store.lastIndex()).toBe(9);
    expect(observe(await store.load())).toEqual(observe(mem));
    expect(observe(await reopened(dir, store))).toEqual(observe(mem));
  });

  it("truncates a conflicting suffix in the same write", async () => {
    const dir = tempDir();
    const store = await open(dir);
    await store.persist({ hardState: hs(1, 2), entries: run(1, 10, 1) });
    await store.persist({ hardState: hs(3, 2), entries: run(6, 7, 3) });
    expect(store.lastIndex()).toBe(7);

    const mem = await reopened(dir, store);
    expect(mem.lastIndex()).toBe(7);
    expect(mem.entries(1, 8).map((e) => e.term)).toEqual([1, 1, 1, 1, 1, 3, 3]);
    await stores[stores.length - 1]!.close(); // release the LevelDB lock to look at the raw keys
    const db = await rawDb(dir);
    try {
      for (let i = 8; i <= 10; i++) expect(await db.get(entryKey(i))).toBeUndefined();
    } finally {
      await db.close();
    }
  });

  it("rewrites an identical overlapping batch without truncating what follows it", async () => {
    const dir = tempDir();
    const store = await open(dir);
    await store.persist({ hardState: hs(1, 0), entries: run(1, 5, 1) });
    // Same indices again (a duplicate append): MemoryStorage.append replaces from entries[0] and so do we.
    await store.persist({ entries: run(2, 3, 1) });
    expect(store.lastIndex()).toBe(3);
    expect((await reopened(dir, store)).lastIndex()).toBe(3);
  });

  it("refuses writes the in-memory log would refuse, and stays usable", async () => {
    const store = await open(tempDir());
    await store.persist({ hardState: hs(2, 0), entries: run(1, 3, 2) });
    await expect(store.persist({ entries: run(5, 6, 2) })).rejects.toMatchObject({ code: "STORAGE_INVARIANT" });
    await expect(store.persist({ entries: run(4, 4, 1) })).rejects.toMatchObject({ code: "STORAGE_INVARIANT" });
    await expect(store.persist({ hardState: hs(2, 9), entries: [] })).rejects.toMatchObject({ code: "STORAGE_INVARIANT" });
    await expect(store.persist({ entries: run(4, 4, 3) })).rejects.toMatchObject({ code: "STORAGE_INVARIANT" }); // term past hard state
    await expect(store.saveSnapshot(snapshotAt(3, 1), 2)).rejects.toMatchObject({ code: "STORAGE_INVARIANT" }); // wrong term
    await expect(store.saveSnapshot(snapshotAt(2, 2), 3)).rejects.toMatchObject({ code: "STORAGE_INVARIANT" }); // compact past it
    await store.persist({ entries: run(4, 4, 2) });
    expect((await store.load()).lastIndex()).toBe(4);
  });

  it("saves a local snapshot and compacts, keeping a window of entries below it", async () => {
    const dir = tempDir();
    const store = await open(dir);
    const mem = new MemoryStorage();
    const first: PersistBatch = { hardState: hs(1, 8), entries: run(1, 10, 1) };
    await store.persist(first);
    applyToMemory(mem, first);

    await store.saveSnapshot(snapshotAt(8, 1), 5);
    mem.createSnapshot(snapshotAt(8, 1));
    mem.compact(5);

    const loaded = await reopened(dir, store);
    expect(observe(loaded)).toEqual(observe(mem));
    expect(loaded.firstIndex()).toBe(6);
    expect(loaded.snapshot().meta.index).toBe(8);
    expect(() => loaded.term(4)).toThrow(/compacted/);
  });

  it("installs a leader's snapshot: keeps an agreeing tail, drops a conflicting log", async () => {
    const dir = tempDir();
    let store = await open(dir);
    const mem = new MemoryStorage();
    const batches: PersistBatch[] = [
      { hardState: hs(2, 3), entries: [...run(1, 4, 1), ...run(5, 9, 2)] },
      { snapshot: snapshotAt(6, 2), entries: [], hardState: hs(2, 6) }, // agrees at 6: entries 7..9 stay
    ];
    for (const b of batches) {
      await store.persist(b);
      applyToMemory(mem, b);
    }
    let loaded = await reopened(dir, store);
    expect(observe(loaded)).toEqual(observe(mem));
    expect([loaded.firstIndex(), loaded.lastIndex()]).toEqual([7, 9]);

    store = stores[stores.length - 1]!;
    const conflicting: PersistBatch = { snapshot: snapshotAt(12, 4), entries: run(13, 14, 4), hardState: hs(4, 12) };
    await store.persist(conflicting);
    applyToMemory(mem, conflicting);
    loaded = await reopened(dir, store);
    expect(observe(loaded)).toEqual(observe(mem));
    expect([loaded.firstIndex(), loaded.lastIndex()]).toEqual([13, 14]);
  });

  it("merges concurrent persists into one synced batch and resolves them in call order", async () => {
    const dir = tempDir();
    const store = await open(dir);
    const mem = new MemoryStorage();
    const batches: PersistBatch[] = [];
    let last = 0;
    let term = 1;
    for (let k = 0; k < 60; k++) {
      if (k % 13 === 12 && last > 3) {
        term++; // overwrite a suffix with a higher term, inside the same merged group
        const from = last - 2;
        batches.push({ hardState: hs(term, 0), entries: run(from, from, term) });
        last = from;
      } else {
        batches.push({ hardState: hs(term, Math.max(0, last - 1)), entries: run(last + 1, last + 3, term) });
        last += 3;
      }
    }
    const resolved: number[] = [];
    await Promise.all(batches.map((b, k) => store.persist(b).then(() => resolved.push(k))));
    for (const b of batches) applyToMemory(mem, b);

    expect(resolved).toEqual(batches.map((_, k) => k));
    expect(store.stats()).toEqual({ writes: 60, syncedBatches: 1 });
    expect(observe(await reopened(dir, store))).toEqual(observe(mem));
  });

  it("keeps order across groups when writes arrive while a batch is syncing", async () => {
    const store = await open(tempDir());
    const resolved: number[] = [];
    const local = snapshotAt(3, 1);
    await store.stageSnapshot(local.data); // written ahead, so its save is a small write that can share a batch
    const first = store.persist({ hardState: hs(1, 0), entries: run(1, 1, 1) }).then(() => resolved.push(0));
    await new Promise((r) => setImmediate(r)); // the first batch is now in flight
    const rest = [1, 2, 3].map((k) => store.persist({ entries: run(k + 1, k + 1, 1) }).then(() => resolved.push(k)));
    const snap = store.saveSnapshot(local, 2).then(() => resolved.push(4));
    await Promise.all([first, ...rest, snap]);
    expect(resolved).toEqual([0, 1, 2, 3, 4]);
    expect(store.stats().syncedBatches).toBeLessThanOrEqual(2);
    const loaded = await store.load();
    expect([loaded.firstIndex(), loaded.lastIndex(), loaded.snapshot().meta.index]).toEqual([3, 4, 3]);
  });

  it("fails every later write once a batch could not be written", async () => {
    const store = await open(tempDir());
    await store.persist({ hardState: hs(1, 0), entries: run(1, 1, 1) });
    // Pull the database out from under the store: the next batch fails as a disk error would.
    await (store as unknown as { db: { close(): Promise<void> } }).db.close();
    const failed = store.persist({ entries: run(2, 2, 1) });
    const queuedBehind = store.persist({ entries: run(3, 3, 1) });
    await expect(failed).rejects.toMatchObject({ code: "STORAGE_FAILED" });
    await expect(queuedBehind).rejects.toMatchObject({ code: "STORAGE_FAILED" });
    await expect(store.persist({ entries: run(2, 2, 1) })).rejects.toMatchObject({ code: "STORAGE_FAILED" });
  });

  it("refuses calls after close", async () => {
    const store = await open(tempDir());
    await store.close();
    await expect(store.persist({ entries: run(1, 1, 1) })).rejects.toMatchObject({ code: "STORAGE_CLOSED" });
    await expect(store.load()).rejects.toMatchObject({ code: "STORAGE_CLOSED" });
  });

  it("equals the in-memory log after any sequence of writes and a reopen (property)", async () => {
    const step = fc.record({
      kind: fc.constantFrom("append", "append", "append", "overwrite", "commit", "saveSnapshot", "leaderSnapshot"),
      count: fc.integer({ min: 0, max: 6 }),
      back: fc.integer({ min: 0, max: 5 }),
      window: fc.integer({ min: 0, max: 4 }),
      keep: fc.boolean(),
    });
    await fc.assert(
      fc.asyncProperty(fc.array(step, { minLength: 1, maxLength: 25 }), async (steps) => {
        const dir = tempDir();
        const store = await open(dir);
        const mem = new MemoryStorage();
        let hard = hs(1, 0);
        const pending: Promise<void>[] = [];
        for (const s of steps) {
          const last = mem.lastIndex();
          const lastTerm = mem.term(last);
          if (s.kind === "append" || s.kind === "overwrite") {
            const from = s.kind === "overwrite" ? Math.max(hard.commit + 1, mem.firstIndex(), last + 1 - s.back) : last + 1;
            if (s.kind === "overwrite") hard = { ...hard, term: hard.term + 1 };
            const b: PersistBatch = { hardState: hard, entries: run(from, from + s.count - 1, hard.term) };
            pending.push(store.persist(b));
            applyToMemory(mem, b);
          } else if (s.kind === "commit") {
            hard = { ...hard, commit: Math.min(last, hard.commit + s.count) };
            pending.push(store.persist({ hardState: hard, entries: [] }));
            mem.setHardState(hard);
          } else if (s.kind === "saveSnapshot") {
            const at = hard.commit;
            if (at < mem.snapshot().meta.index || at < mem.firstIndex() - 1) continue;
            const snap = snapshotAt(at, mem.term(at), "local");
            const compactTo = Math.max(mem.firstIndex() - 1, at - s.window);
            pending.push(store.saveSnapshot(snap, compactTo));
            mem.createSnapshot(snap);
            mem.compact(compactTo);
          } else {
            // A leader's snapshot either matches our log at its index or lies past it with a newer term.
            const at = s.keep && last > mem.firstIndex() ? last - Math.min(s.back, last - mem.firstIndex()) : last + 1 + s.count;
            const term = at <= last ? mem.term(at) : Math.max(hard.term, lastTerm) + 1;
            hard = { term: Math.max(hard.term, term), vote: null, commit: Math.max(hard.commit, at) };
            const b: PersistBatch = { snapshot: snapshotAt(at, term, "leader"), entries: [], hardState: hard };
            pending.push(store.persist(b));
            applyToMemory(mem, b);
          }
        }
        await Promise.all(pending);
        expect(observe(await store.load())).toEqual(observe(mem));
        expect(observe(await reopened(dir, store))).toEqual(observe(mem));
      }),
      { numRuns: 40 },
    );
  });
});

describe("LevelStore corruption detection", () => {
  async function writtenStore(): Promise<string> {
    const dir = tempDir();
    const store = await LevelStore.open(dir);
    await store.persist({ hardState: hs(2, 4), entries: [...run(1, 3, 1), ...run(4, 6, 2)] });
    await store.close();
    return dir;
  }

  it("detects a hole in the log", async () => {
    const dir = await writtenStore();
    const db = await rawDb(dir);
    await db.del(entryKey(3));
    await db.close();
    await expectCorrupt(dir, "e/4");
  });

  it("detects a log that does not start at the compaction point", async () => {
    const dir = await writtenStore();
    const db = await rawDb(dir);
    await db.del(entryKey(1));
    await db.close();
    await expectCorrupt(dir, "e/2");
  });

  it("detects a decreasing term", async () => {
    const dir = await writtenStore();
    const db = await rawDb(dir);
    await db.put(entryKey(5), encodeEntry(entry(5, 1)));
    await db.close();
    await expectCorrupt(dir, "e/5");
  });

  it("detects an undecodable value and an entry stored under the wrong index", async () => {
    let dir = await writtenStore();
    let db = await rawDb(dir);
    await db.put(entryKey(2), Uint8Array.of(0xc1, 0x00, 0xff));
    await db.close();
    await expectCorrupt(dir, "e/2");

    dir = await writtenStore();
    db = await rawDb(dir);
    await db.put(entryKey(2), encodeEntry(entry(3, 1)));
    await db.close();
    await expectCorrupt(dir, "e/2");
  });

  it("detects a malformed entry key inside the entry range", async () => {
    const dir = await writtenStore();
    const db = await rawDb(dir);
    await db.put(Uint8Array.of(0x65, 0x01), Uint8Array.of(0x90));
    await db.close();
    await expectCorrupt(dir, "0x6501");
  });

  it("detects a hard state that commits past the log", async () => {
    const dir = await writtenStore();
    const db = await rawDb(dir);
    await db.put(HARD_STATE_KEY, encodeHardState(hs(2, 99)));
    await db.close();
    await expectCorrupt(dir, "h");
  });

  it("detects snapshot metadata without its data", async () => {
    const dir = tempDir();
    const store = await LevelStore.open(dir);
    await store.persist({ hardState: hs(1, 3), entries: run(1, 3, 1) });
    await store.saveSnapshot(snapshotAt(3, 1), 3);
    await store.close();
    const db = await rawDb(dir);
    await db.del(SNAPSHOT_POINTER_KEY);
    await db.close();
    await expectCorrupt(dir, "sp");
  });

  it("refuses a store with data but no format version, and an unknown format version", async () => {
    let dir = await writtenStore();
    let db = await rawDb(dir);
    await db.del(FORMAT_VERSION_KEY);
    await db.close();
    await expectCorrupt(dir, "v");

    dir = await writtenStore();
    db = await rawDb(dir);
    await db.put(FORMAT_VERSION_KEY, Uint8Array.of(0x91, 0x63)); // msgpack [99]
    await db.close();
    await expect(LevelStore.open(dir)).rejects.toMatchObject({ code: "STORAGE_VERSION" });
    expect(Array.from(encodeFormatVersion())).toEqual([0x91, 0x01]);
  });
});
