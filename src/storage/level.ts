// The durable log of a real node, on LevelDB. The core reads MemoryStorage; the runner writes each Ready here
// first (one atomic batch, fsynced) and only then to MemoryStorage, so MemoryStorage never runs ahead of the disk.
//
// The store keeps the shape of the log in memory (compaction point, the term of every held entry, the snapshot
// index, the hard state) so that every write is planned synchronously — truncating a conflicting suffix needs
// the current last index, accepting a snapshot needs the term at its index — and validated exactly as load()
// will validate it later: a write that would leave an unloadable store is refused instead.
//
// Group commit (one fsync for the writes that queued up meanwhile) is group-commit.ts; reading the store back at
// open and load() is level-load.ts.
import { Level } from "level";
import type { Entry, HardState, Snapshot, SnapshotMeta } from "../raft/types.js";
import { encodeCompactionPoint, encodeEntry, encodeHardState, encodeSnapshotMeta, encodeSnapshotPointer } from "./codec.js";
import type { DurableStore, PersistBatch } from "./durable.js";
import { DiskFaults } from "./disk-faults.js";
import { StorageError } from "./errors.js";
import { type BatchOp, GroupCommitQueue, writeFailure } from "./group-commit.js";
import { COMPACTION_KEY, ENTRY_RANGE_START, entryKey, HARD_STATE_KEY, MAX_INDEX, SNAPSHOT_DATA_KEY, SNAPSHOT_META_KEY, SNAPSHOT_POINTER_KEY } from "./keys.js";
import { checkFormatVersion, readState, restoreMemoryStorage, type StoredState } from "./level-load.js";
import type { MemoryStorage } from "./memory.js";
import { chunkKey, clearChunksExcept, clearGeneration, highestChunkGeneration, writeChunks, type SnapshotPointer } from "./snapshot-chunks.js";
import { DeadRangeReclaim } from "./dead-range-reclaim.js";

/** How often, at most, deleted key ranges are compacted (a run takes LevelDB's thread for a moment, not the loop's). */
const DEFAULT_RECLAIM_EVERY_MS = 60_000;

export { MAX_GROUP_BYTES, MAX_GROUP_WRITES, MAX_QUEUED_WRITES } from "./group-commit.js";

type Db = Level<Uint8Array, Uint8Array>;
type Compactable = { compactRange(start: Uint8Array, end: Uint8Array): Promise<void> };

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

  private readonly writes: GroupCommitQueue;
  private closed = false;
  /** Fault injection on the write path (latency, stall, EIO, ENOSPC): inert unless a test or chaos sets one. */
  readonly faults = new DiskFaults();
  /** Compacts the key ranges of the deleted log prefix and dropped snapshot chunks (dead-range-reclaim.ts). */
  readonly reclaim: DeadRangeReclaim;

  private constructor(
    private readonly db: Db,
    state: StoredState,
    highestGeneration: number,
    reclaimEveryMs: number,
  ) {
    this.snapshotGeneration = state.pointer?.generation ?? null;
    this.nextGeneration = Math.max(highestGeneration, this.snapshotGeneration ?? 0) + 1;
    this.offsetIndex = state.compaction.index;
    this.offsetTerm = state.compaction.term;
    this.terms = state.entries.map((e) => e.term);
    this.snapshotIndex = state.snapshot?.meta.index ?? 0;
    this.hard = state.hardState;
    this.writes = new GroupCommitQueue(db, this.faults);
    this.reclaim = new DeadRangeReclaim(
      {
        // classic-level's compactRange (Node's `level`); level's typings do not declare it.
        compact: (start, end) => this.track((db as unknown as Compactable).compactRange(start, end)),
        compactedTo: () => this.offsetIndex,
        entryKey,
        entryRangeStart: ENTRY_RANGE_START,
        generationRange: (g) => [chunkKey(g, 0), chunkKey(g + 1, 0)],
      },
      reclaimEveryMs,
    );
  }

  /** Opens (creating if missing) the store in `dir` and validates everything in it. Throws STORAGE_CORRUPT or
   *  STORAGE_VERSION rather than starting from an empty or partial log. */
  static async open(dir: string, opts: { reclaimEveryMs?: number } = {}): Promise<LevelStore> {
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
      return new LevelStore(db, state, highestGeneration, opts.reclaimEveryMs ?? DEFAULT_RECLAIM_EVERY_MS);
    } catch (err) {
      await db.close();
      throw err;
    }
  }

  /** Told how long each synced batch took (for the metrics); null: nobody listens. */
  set onSyncedBatch(listener: ((seconds: number) => void) | null) {
    this.writes.onSyncedBatch = listener;
  }

  /** Calls made durable so far and the synced batches they took (writes / syncedBatches = group-commit factor). */
  stats(): { readonly writes: number; readonly syncedBatches: number } {
    return this.writes.stats();
  }

  /** The last index on disk (or being written); the compaction point when the log is empty. */
  lastIndex(): number {
    return this.offsetIndex + this.terms.length;
  }

  async load(): Promise<MemoryStorage> {
    this.assertOpen();
    await this.writes.idle();
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
      const pointer = await this.track(this.writeChunksGated(generation, data));
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
          pointer = await this.writeChunksGated(generation, data);
        };
    const planWithPointer = (ops: BatchOp[]): void => {
      if (!pointer) throw invariant("snapshot chunks were not written");
      const before = this.snapshotGeneration;
      plan(pointer, ops);
      replaced = before;
    };
    return this.enqueue(bytes, planWithPointer, true, prepare).then(
      () => {
        this.dropGeneration(replaced);
        this.reclaim.poke(); // the log prefix this snapshot compacted away
      },
      (err: unknown) => {
        this.dropGeneration(generation);
        throw err;
      },
    );
  }

  /** A snapshot's chunks pass the fault gate the log's batches pass (a stalled disk holds them too, an injected EIO
   *  fails them), and a failed chunk write gets the coded error a failed log write gets (STORAGE_NO_SPACE, …). */
  private async writeChunksGated(generation: number, data: Uint8Array): Promise<SnapshotPointer> {
    try {
      await this.faults.beforeWrite();
      return await writeChunks(this.db, generation, data);
    } catch (cause) {
      throw cause instanceof StorageError ? cause : writeFailure(cause, "a snapshot");
    }
  }

  /** Deletes a generation's chunks in the background (nothing points to it any more). */
  private dropGeneration(generation: number | null): void {
    if (generation === null || generation === this.snapshotGeneration || this.closed) return;
    void this.track(clearGeneration(this.db, generation)).then(
      () => this.reclaim.generationDropped(generation),
      () => {
        // Left as orphans: the next open() clears them.
      },
    );
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
    await this.writes.idle();
    await this.reclaim.stop();
    await Promise.allSettled([...this.background]);
    await this.db.close();
  }

  // ---- the write queue ----

  private enqueue(bytes: number, plan: (ops: BatchOp[]) => void, sync: boolean, prepare?: () => Promise<void>): Promise<void> {
    if (this.closed) return Promise.reject(new StorageError("STORAGE_CLOSED", "the store is closed"));
    return this.writes.enqueue(bytes, plan, sync, prepare);
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
