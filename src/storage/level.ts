// The durable log of a real node, on LevelDB. The core reads MemoryStorage; the runner writes each Ready here
// first (one atomic batch, fsynced) and only then to MemoryStorage, so MemoryStorage never runs ahead of the disk.
//
// The store keeps the shape of the log in memory (compaction point, the term of every held entry, the snapshot
// index, the hard state) so that every write is planned synchronously — truncating a conflicting suffix needs
// the current last index, accepting a snapshot needs the term at its index — and validated exactly as load()
// will validate it later: a write that would leave an unloadable store is refused instead.
//
// Group commit: writes are serialized; the ones that queue up while a batch is being synced go out together
// as the next batch (one fsync), and each caller's promise resolves, in call order, once its batch is durable.
import { Level } from "level";
import type { Entry, HardState, Snapshot, SnapshotMeta } from "../raft/types.js";
import { EMPTY_HARD_STATE } from "../raft/types.js";
import {
  corrupt,
  decodeCompactionPoint,
  decodeEntry,
  decodeFormatVersion,
  decodeHardState,
  decodeSnapshotMeta,
  decodeSnapshotPointer,
  encodeCompactionPoint,
  encodeEntry,
  encodeFormatVersion,
  encodeHardState,
  encodeSnapshotMeta,
  encodeSnapshotPointer,
  FORMAT_VERSION,
  type CompactionPoint,
} from "./codec.js";
import type { DurableStore, PersistBatch } from "./durable.js";
import { StorageError } from "./errors.js";
import {
  COMPACTION_KEY,
  describeKey,
  ENTRY_RANGE_END,
  ENTRY_RANGE_START,
  entryIndexOfKey,
  entryKey,
  FORMAT_VERSION_KEY,
  HARD_STATE_KEY,
  MAX_INDEX,
  SNAPSHOT_DATA_KEY,
  SNAPSHOT_META_KEY,
  SNAPSHOT_POINTER_KEY,
} from "./keys.js";
import { MemoryStorage } from "./memory.js";
import { clearChunksExcept, clearGeneration, highestChunkGeneration, readChunks, writeChunks, type SnapshotPointer } from "./snapshot-chunks.js";

/** Writes waiting for their turn; past this the caller is not awaiting persist() or the disk has stalled. */
export const MAX_QUEUED_WRITES = 1024;
/** At most this many calls share one batch and one fsync ... */
export const MAX_GROUP_WRITES = 128;
/** ... and at most this many payload bytes (a single larger call still goes out, alone). */
export const MAX_GROUP_BYTES = 8 * 1024 * 1024;

type Db = Level<Uint8Array, Uint8Array>;
type BatchOp = { type: "put"; key: Uint8Array; value: Uint8Array } | { type: "del"; key: Uint8Array };

/** Everything load() reads, validated. */
interface StoredState {
  readonly hardState: HardState | null;
  readonly snapshot: Snapshot | null;
  readonly compaction: CompactionPoint;
  readonly entries: Entry[];
  /** Where the snapshot's data is; null when there is none or it is a single "sd" value (an older store). */
  readonly pointer: SnapshotPointer | null;
}

type QueuedWrite = {
  readonly plan: (ops: BatchOp[]) => void;
  readonly bytes: number;
  /** Whether this write needs the fsync; a group is synced if any of its writes does. */
  readonly sync: boolean;
  /** Runs before this write is planned, with nothing else written meanwhile (an installed snapshot's chunks). */
  readonly prepare?: () => Promise<void>;
  readonly resolve: () => void;
  readonly reject: (err: unknown) => void;
};

export class LevelStore implements DurableStore {
  // ---- the shape of what is on disk (after the last successful batch, or the one being planned) ----
  private offsetIndex: number;
  private offsetTerm: number;
  /** terms[k] is the term of the entry at offsetIndex + 1 + k. */
  private terms: number[];
  private snapshotIndex: number;
  private hard: HardState | null;
  /** The chunk generation the stored snapshot's data is in (null: none, or an older store's single value). */
  private snapshotGeneration: number | null;
  private nextGeneration: number;
  /** Chunk writes of local snapshots and deletions of old generations: close() waits for them. */
  private readonly background = new Set<Promise<unknown>>();
  /** A local snapshot's data written ahead by stageSnapshot, waiting for its saveSnapshot. */
  private staged: { readonly data: Uint8Array; readonly pointer: SnapshotPointer } | null = null;

  private readonly queue: QueuedWrite[] = [];
  private flushing: Promise<void> | null = null;
  private failure: StorageError | null = null;
  private closed = false;
  /** Counters for metrics and tests: how many calls were made durable, and in how many synced batches. */
  private readonly counters = { writes: 0, syncedBatches: 0 };

  private constructor(
    private readonly db: Db,
    state: StoredState,
    highestGeneration: number,
  ) {
    this.snapshotGeneration = state.pointer?.generation ?? null;
    this.nextGeneration = Math.max(highestGeneration, this.snapshotGeneration ?? 0) + 1;
    this.offsetIndex = state.compaction.index;
    this.offsetTerm = state.compaction.term;
    this.terms = state.entries.map((e) => e.term);
    this.snapshotIndex = state.snapshot?.meta.index ?? 0;
    this.hard = state.hardState;
  }

  /** Opens (creating if missing) the store in `dir` and validates everything in it. Throws STORAGE_CORRUPT or
   *  STORAGE_VERSION rather than starting from an empty or partial log. */
  static async open(dir: string): Promise<LevelStore> {
    const db: Db = new Level<Uint8Array, Uint8Array>(dir, { keyEncoding: "view", valueEncoding: "view" });
    try {
      await db.open();
    } catch (err) {
      // LevelDB holds a lock file: the usual cause is another process (a second node) using the same data dir.
      const cause = (err as { cause?: { code?: string } }).cause;
      if (cause?.code === "LEVEL_LOCKED") {
        throw new StorageError("STORAGE_LOCKED", `data dir ${dir} is in use by another process (LevelDB lock held): is another node running on it?`);
      }
      throw new StorageError("STORAGE_FAILED", `cannot open the log in ${dir}: ${(err as Error).message}${cause ? ` (${String((cause as Error).message ?? cause.code)})` : ""}`);
    }
    try {
      await checkFormatVersion(db);
      const state = await readState(db);
      const highestGeneration = await highestChunkGeneration(db);
      // Chunks of a save that a crash cut short (or of a generation whose deletion it cut short): awaited, so that
      // no new generation is being written while the ranges are cleared.
      await clearChunksExcept(db, state.pointer?.generation ?? null);
      return new LevelStore(db, state, highestGeneration);
    } catch (err) {
      await db.close();
      throw err;
    }
  }

  /** Calls made durable so far and the synced batches they took (writes / syncedBatches = group-commit factor). */
  stats(): { readonly writes: number; readonly syncedBatches: number } {
    return { ...this.counters };
  }

  /** The last index on disk (or being written); the compaction point when the log is empty. */
  lastIndex(): number {
    return this.offsetIndex + this.terms.length;
  }

  async load(): Promise<MemoryStorage> {
    this.assertOpen();
    await this.flushing;
    return restoreMemoryStorage(await readState(this.db));
  }

  persist(batch: PersistBatch): Promise<void> {
    const { snapshot } = batch;
    const bytes = batch.entries.reduce((n, e) => n + e.data.byteLength, 0);
    if (!snapshot) return this.enqueue(bytes, (ops) => this.planPersist(batch, null, ops), batch.sync ?? true);
    return this.enqueueWithChunks(snapshot.data, bytes, (pointer, ops) => this.planPersist(batch, pointer, ops));
  }

  saveSnapshot(snapshot: Snapshot, compactTo: number): Promise<void> {
    return this.enqueueWithChunks(snapshot.data, 0, (pointer, ops) => {
      this.checkSaveSnapshot(snapshot, compactTo);
      this.planSaveSnapshot(snapshot, compactTo, pointer, ops);
    });
  }

  /** Writes a snapshot's data as chunks now, beside the write queue (Readies keep being persisted meanwhile), so
   *  that a later saveSnapshot with the same data object only has to move the pointer: one small batch. At most
   *  one staged snapshot is kept; staging another drops the previous one's chunks. */
  async stageSnapshot(data: Uint8Array): Promise<void> {
    this.assertOpen();
    const previous = this.staged;
    this.staged = null;
    if (previous) this.dropGeneration(previous.pointer.generation);
    const generation = this.nextGeneration++;
    try {
      const pointer = await this.track(writeChunks(this.db, generation, data));
      this.staged = { data, pointer };
    } catch (err) {
      this.dropGeneration(generation);
      throw err;
    }
  }

  /** Enqueues a write that points at `data`'s chunks: the staged ones, or else chunks written when the write reaches
   *  the head of the queue (in order: the writes after it wait, as they must). The replaced generation's chunks
   *  are deleted once the pointer moved; this one's if the write is refused. */
  private enqueueWithChunks(data: Uint8Array, bytes: number, plan: (pointer: SnapshotPointer, ops: BatchOp[]) => void): Promise<void> {
    let pointer = this.staged?.data === data ? this.staged.pointer : null;
    if (pointer) this.staged = null;
    const generation = pointer?.generation ?? this.nextGeneration++;
    let replaced: number | null = null;
    const prepare = pointer
      ? undefined
      : async (): Promise<void> => {
          pointer = await writeChunks(this.db, generation, data);
        };
    const planWithPointer = (ops: BatchOp[]): void => {
      if (!pointer) throw invariant("snapshot chunks were not written");
      const before = this.snapshotGeneration;
      plan(pointer, ops);
      replaced = before;
    };
    return this.enqueue(bytes, planWithPointer, true, prepare).then(
      () => this.dropGeneration(replaced),
      (err: unknown) => {
        this.dropGeneration(generation);
        throw err;
      },
    );
  }

  /** Deletes a generation's chunks in the background (nothing points to it any more). */
  private dropGeneration(generation: number | null): void {
    if (generation === null || generation === this.snapshotGeneration || this.closed) return;
    void this.track(clearGeneration(this.db, generation)).catch(() => {
      // Left as orphans: the next open() clears them.
    });
  }

  private track<T>(p: Promise<T>): Promise<T> {
    this.background.add(p);
    void p.finally(() => this.background.delete(p)).catch(() => {});
    return p;
  }

  /** Waits for queued writes, then closes the database. Later calls fail with STORAGE_CLOSED. */
  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    await this.flushing;
    await Promise.allSettled([...this.background]);
    await this.db.close();
  }

  // ---- the write queue ----

  private enqueue(bytes: number, plan: (ops: BatchOp[]) => void, sync: boolean, prepare?: () => Promise<void>): Promise<void> {
    try {
      this.assertOpen();
      if (this.failure) throw this.failure;
      if (this.queue.length >= MAX_QUEUED_WRITES) {
        throw new StorageError("STORAGE_OVERLOADED", `more than ${MAX_QUEUED_WRITES} writes queued`);
      }
    } catch (err) {
      return Promise.reject(err);
    }
    return new Promise<void>((resolve, reject) => {
      this.queue.push({ plan, bytes, sync, prepare, resolve, reject });
      this.flushing ??= this.flush();
    });
  }

  private async flush(): Promise<void> {
    // Yield first: `flushing` must be set before this can finish, and writes issued in the same tick share a batch.
    await null;
    while (this.queue.length > 0) {
      const head = this.queue[0]!;
      if (head.prepare) {
        try {
          await head.prepare();
        } catch (err) {
          this.queue.shift();
          head.reject(err);
          continue;
        }
      }
      const group = this.takeGroup();
      const ops: BatchOp[] = [];
      const planned: QueuedWrite[] = [];
      for (const w of group) {
        try {
          w.plan(ops); // validates before it changes anything, so a refused call leaves the plan as it was
          planned.push(w);
        } catch (err) {
          w.reject(err);
        }
      }
      try {
        if (ops.length > 0) {
          const sync = planned.some((w) => w.sync);
          await this.db.batch(ops, { sync });
          if (sync) this.counters.syncedBatches++;
        }
      } catch (cause) {
        // The in-memory shape already includes this batch and the disk may or may not: refuse everything from
        // now on. The node must stop and recover from what load() finds.
        this.failure = new StorageError("STORAGE_FAILED", `write failed: ${String(cause)}`, { cause });
        for (const w of [...planned, ...this.queue.splice(0)]) w.reject(this.failure);
        break;
      }
      this.counters.writes += planned.length;
      for (const w of planned) w.resolve();
    }
    this.flushing = null;
  }

  private takeGroup(): QueuedWrite[] {
    let count = 0;
    let bytes = 0;
    for (const w of this.queue) {
      // A write with a prepare step starts its own group: its step runs when it is at the head of the queue.
      if (count > 0 && (count >= MAX_GROUP_WRITES || bytes + w.bytes > MAX_GROUP_BYTES || w.prepare)) break;
      count++;
      bytes += w.bytes;
    }
    return this.queue.splice(0, count);
  }

  // ---- planning: validate, then append the batch operations and update the in-memory shape ----

  private termAt(i: number): number {
    if (i === this.offsetIndex) return this.offsetTerm;
    const t = this.terms[i - this.offsetIndex - 1];
    if (t === undefined) throw invariant(`no entry at index ${i} (log holds ${this.offsetIndex + 1}..${this.lastIndex()})`);
    return t;
  }

  /** Mirrors MemoryStorage.applySnapshot + append + setHardState, in that order. */
  private planPersist(batch: PersistBatch, pointer: SnapshotPointer | null, ops: BatchOp[]): void {
    const { snapshot, entries, hardState } = batch;

    // Validate against the shape the log will have after the snapshot, without changing anything yet.
    let offset = this.offsetIndex;
    let offsetTerm = this.offsetTerm;
    let last = this.lastIndex();
    let snapshotKeepsLog = false;
    if (snapshot) {
      checkSnapshotMeta(snapshot.meta);
      if (!pointer) throw invariant("a snapshot batch without its chunks");
      const i = snapshot.meta.index;
      snapshotKeepsLog = i > offset && i <= last && this.termAt(i) === snapshot.meta.term;
      offset = i;
      offsetTerm = snapshot.meta.term;
      last = snapshotKeepsLog ? last : i;
    }
    checkEntries(entries);
    const kept = entries.filter((e) => e.index > offset); // entries already under the compaction point are no-ops
    const first = kept[0];
    const lastKept = kept[kept.length - 1];
    if (first && lastKept) {
      if (first.index > last + 1) throw invariant(`append at ${first.index} leaves a gap after ${last}`);
      const prevTerm = first.index - 1 === offset ? offsetTerm : this.termAt(first.index - 1);
      if (first.term < prevTerm) throw invariant(`entry ${first.index} has term ${first.term} below the previous entry's ${prevTerm}`);
      last = lastKept.index;
    }
    const lastTerm = lastKept ? lastKept.term : last === offset ? offsetTerm : this.termAt(last);
    const hs = hardState ?? this.hard;
    if (hardState) checkHardState(hardState);
    if (hs && hs.commit > last) throw invariant(`commit ${hs.commit} is past the last index ${last}`);
    if (hs && hs.term < lastTerm) throw invariant(`hard state term ${hs.term} is below the last entry's term ${lastTerm}`);

    // Commit the plan.
    if (snapshot) {
      const i = snapshot.meta.index;
      const dropTo = snapshotKeepsLog ? i : this.lastIndex();
      for (let k = this.offsetIndex + 1; k <= dropTo; k++) ops.push({ type: "del", key: entryKey(k) });
      this.terms = snapshotKeepsLog ? this.terms.slice(i - this.offsetIndex) : [];
      this.offsetIndex = i;
      this.offsetTerm = snapshot.meta.term;
      this.snapshotIndex = i;
      pushSnapshotPointer(ops, snapshot, pointer!);
      this.snapshotGeneration = pointer!.generation;
      ops.push({ type: "put", key: COMPACTION_KEY, value: encodeCompactionPoint({ index: i, term: snapshot.meta.term }) });
    }
    if (first && lastKept) {
      for (let k = lastKept.index + 1; k <= this.lastIndex(); k++) ops.push({ type: "del", key: entryKey(k) });
      this.terms.length = first.index - this.offsetIndex - 1;
      for (const e of kept) {
        this.terms.push(e.term);
        ops.push({ type: "put", key: entryKey(e.index), value: encodeEntry(e) });
      }
    }
    if (hardState) {
      this.hard = hardState;
      ops.push({ type: "put", key: HARD_STATE_KEY, value: encodeHardState(hardState) });
    }
  }

  /** Throws when saving this snapshot would leave an unloadable store; changes nothing. */
  private checkSaveSnapshot(snapshot: Snapshot, compactTo: number): void {
    checkSnapshotMeta(snapshot.meta);
    const i = snapshot.meta.index;
    if (i > this.lastIndex()) throw invariant(`snapshot index ${i} is past the last index ${this.lastIndex()}`);
    if (i < this.snapshotIndex) throw invariant(`snapshot at ${i} is older than the stored one at ${this.snapshotIndex}`);
    if (this.termAt(i) !== snapshot.meta.term) {
      throw invariant(`snapshot term ${snapshot.meta.term} differs from the log's term ${this.termAt(i)} at ${i}`);
    }
    if (!Number.isSafeInteger(compactTo) || compactTo > i) throw invariant(`cannot compact to ${compactTo} past the snapshot at ${i}`);
  }

  /** Mirrors MemoryStorage.createSnapshot + compact; checkSaveSnapshot has passed. */
  private planSaveSnapshot(snapshot: Snapshot, compactTo: number, pointer: SnapshotPointer, ops: BatchOp[]): void {
    this.snapshotIndex = snapshot.meta.index;
    this.snapshotGeneration = pointer.generation;
    pushSnapshotPointer(ops, snapshot, pointer);
    if (compactTo > this.offsetIndex) {
      const term = this.termAt(compactTo);
      for (let k = this.offsetIndex + 1; k <= compactTo; k++) ops.push({ type: "del", key: entryKey(k) });
      this.terms = this.terms.slice(compactTo - this.offsetIndex);
      this.offsetIndex = compactTo;
      this.offsetTerm = term;
      ops.push({ type: "put", key: COMPACTION_KEY, value: encodeCompactionPoint({ index: compactTo, term }) });
    }
  }

  private assertOpen(): void {
    if (this.closed) throw new StorageError("STORAGE_CLOSED", "the store is closed");
  }
}

/** The factory a node uses: open (or create) the store under its data dir. */
export function openLevelStore(dir: string): Promise<LevelStore> {
  return LevelStore.open(dir);
}

/** The metadata and the pointer to the already written chunks; an older store's single value goes. */
function pushSnapshotPointer(ops: BatchOp[], snapshot: Snapshot, pointer: SnapshotPointer): void {
  ops.push({ type: "put", key: SNAPSHOT_META_KEY, value: encodeSnapshotMeta(snapshot.meta) });
  ops.push({ type: "put", key: SNAPSHOT_POINTER_KEY, value: encodeSnapshotPointer(pointer) });
  ops.push({ type: "del", key: SNAPSHOT_DATA_KEY });
}

function invariant(message: string): StorageError {
  return new StorageError("STORAGE_INVARIANT", message);
}

const isNatural = (n: number): boolean => Number.isSafeInteger(n) && n >= 0 && n <= MAX_INDEX;

function checkEntries(entries: readonly Entry[]): void {
  let prev: Entry | undefined;
  for (const e of entries) {
    if (!isNatural(e.index) || e.index === 0 || !isNatural(e.term)) throw invariant(`entry has a bad index/term ${e.index}/${e.term}`);
    if (e.kind !== "normal" && e.kind !== "config") throw invariant(`entry ${e.index} has an unknown kind ${String(e.kind)}`);
    if (!(e.data instanceof Uint8Array)) throw invariant(`entry ${e.index} data is not bytes`);
    if (prev && e.index !== prev.index + 1) throw invariant(`entries are not contiguous: ${e.index} after ${prev.index}`);
    if (prev && e.term < prev.term) throw invariant(`entry ${e.index} has term ${e.term} below ${prev.term}`);
    prev = e;
  }
}

function checkHardState(hs: HardState): void {
  if (!isNatural(hs.term) || !isNatural(hs.commit)) throw invariant(`bad hard state term/commit ${hs.term}/${hs.commit}`);
  if (hs.vote !== null && typeof hs.vote !== "string") throw invariant("hard state vote is neither null nor an id");
}

function checkSnapshotMeta(m: SnapshotMeta): void {
  if (!isNatural(m.index) || !isNatural(m.term)) throw invariant(`bad snapshot index/term ${m.index}/${m.term}`);
}

// ---- reading and validating ----

async function checkFormatVersion(db: Db): Promise<void> {
  const stored = await db.get(FORMAT_VERSION_KEY);
  if (stored === undefined) {
    // A fresh store gets a version; a store holding data without one is not ours (or lost its version key).
    for await (const key of db.keys({ limit: 1 })) {
      throw corrupt("v", `is missing although the store holds data (first key ${describeKey(key)})`);
    }
    await db.put(FORMAT_VERSION_KEY, encodeFormatVersion(), { sync: true });
    return;
  }
  const version = decodeFormatVersion(stored);
  if (version !== FORMAT_VERSION) {
    throw new StorageError("STORAGE_VERSION", `store format ${version} is not the supported format ${FORMAT_VERSION}`, { key: "v" });
  }
}

async function readState(db: Db): Promise<StoredState> {
  const [hardBytes, metaBytes, singleDataBytes, compactionBytes, pointerBytes] = await db.getMany([
    HARD_STATE_KEY,
    SNAPSHOT_META_KEY,
    SNAPSHOT_DATA_KEY,
    COMPACTION_KEY,
    SNAPSHOT_POINTER_KEY,
  ]);
  if (singleDataBytes !== undefined && pointerBytes !== undefined) throw corrupt("sd", "exists beside a snapshot pointer");
  const pointer = pointerBytes === undefined ? null : decodeSnapshotPointer(pointerBytes);
  const dataBytes = pointer ? await readChunks(db, pointer) : singleDataBytes;
  const hardState = hardBytes === undefined ? null : decodeHardState(hardBytes);
  const compaction = compactionBytes === undefined ? { index: 0, term: 0 } : decodeCompactionPoint(compactionBytes);

  if ((metaBytes === undefined) !== (dataBytes === undefined)) {
    throw corrupt(metaBytes === undefined ? "sm" : "sp", "is missing while its snapshot counterpart exists");
  }
  const snapshot = metaBytes && dataBytes ? { meta: decodeSnapshotMeta(metaBytes), data: new Uint8Array(dataBytes) } : null;
  if (!snapshot && compaction.index > 0) throw corrupt("c", `compacts to ${compaction.index} but no snapshot is stored`);
  if (snapshot && snapshot.meta.index < compaction.index) {
    throw corrupt("sm", `snapshot at ${snapshot.meta.index} is behind the compaction point ${compaction.index}`);
  }

  const entries: Entry[] = [];
  let prevTerm = compaction.term;
  for await (const [key, value] of db.iterator({ gte: ENTRY_RANGE_START, lt: ENTRY_RANGE_END })) {
    const index = entryIndexOfKey(key);
    if (index === null) throw corrupt(describeKey(key), "is not a well-formed entry key");
    const expected = compaction.index + entries.length + 1;
    if (index !== expected) {
      throw corrupt(`e/${index}`, `breaks the log: expected index ${expected} (entries must follow the compaction point ${compaction.index} without gaps)`);
    }
    const e = decodeEntry(value, index);
    if (e.term < prevTerm) throw corrupt(`e/${index}`, `has term ${e.term} below the previous term ${prevTerm}`);
    prevTerm = e.term;
    entries.push(e);
  }
  const lastIndex = compaction.index + entries.length;

  if (snapshot) {
    const i = snapshot.meta.index;
    if (i > lastIndex) throw corrupt("sm", `snapshot at ${i} is past the last index ${lastIndex}`);
    const termAtIndex = i === compaction.index ? compaction.term : entries[i - compaction.index - 1]!.term;
    if (termAtIndex !== snapshot.meta.term) {
      throw corrupt("sm", `snapshot term ${snapshot.meta.term} differs from the log's term ${termAtIndex} at ${i}`);
    }
  }
  if (hardState) {
    if (hardState.commit > lastIndex) throw corrupt("h", `commit ${hardState.commit} is past the last index ${lastIndex}`);
    if (hardState.term < prevTerm) throw corrupt("h", `term ${hardState.term} is below the last entry's term ${prevTerm}`);
  }
  return { hardState, snapshot, compaction, entries, pointer };
}

/** Rebuilds the MemoryStorage that the persisted writes produced, through its public writers only. */
function restoreMemoryStorage(state: StoredState): MemoryStorage {
  const { snapshot, compaction, entries } = state;
  const mem = new MemoryStorage(snapshot?.meta.conf);
  if (snapshot) {
    if (snapshot.meta.index === compaction.index) {
      mem.applySnapshot(snapshot);
    } else {
      // The log keeps a window below the snapshot: place the compaction point first, the snapshot after the log.
      mem.applySnapshot({ meta: { index: compaction.index, term: compaction.term, conf: snapshot.meta.conf }, data: new Uint8Array(0) });
    }
  }
  mem.append(entries);
  if (snapshot && snapshot.meta.index !== compaction.index) mem.createSnapshot(snapshot);
  mem.setHardState(state.hardState ?? EMPTY_HARD_STATE);
  return mem;
}
