// What the pure core reads from stable storage. Reads are synchronous: a real node keeps the log it has
// persisted in memory (MemoryStorage, bounded by compaction) and writes it through to LevelDB; the core never
// waits on a disk.
import type { ConfState, Entry, HardState, Snapshot } from "./types.js";

export interface InitialState {
  readonly hardState: HardState;
  readonly confState: ConfState;
}

export interface Storage {
  /** Hard state and membership as they were last persisted (membership: from the snapshot, or as bootstrapped;
   *  config entries in the log after it are replayed by the core). */
  initialState(): InitialState;
  /** Entries in [lo, hi), stopping early once their encoded size passes maxBytes (but always at least one).
   *  Throws RaftError COMPACTED if lo <= the snapshot index, UNAVAILABLE if hi > lastIndex() + 1. */
  entries(lo: number, hi: number, maxBytes?: number): Entry[];
  /** The term of the entry at index i; the snapshot's term for its index. Throws COMPACTED / UNAVAILABLE. */
  term(i: number): number;
  /** The index of the first entry still held (snapshot index + 1). */
  firstIndex(): number;
  lastIndex(): number;
  /** The most recent snapshot (index 0, empty data when none). */
  snapshot(): Snapshot;
}

/** Approximate wire size of an entry, for batching limits. */
export function entrySizeBytes(e: Entry): number {
  return e.data.byteLength + 24;
}
