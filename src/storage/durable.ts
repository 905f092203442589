// The durable side of a node's storage: one atomic, synced write per Ready. LevelDB implements it for real nodes
// (level.ts); the simulator implements it in memory and loses whatever was not yet synced at a crash.
import type { Entry, HardState, Snapshot } from "../raft/types.js";
import type { MemoryStorage } from "./memory.js";

/** What one Ready asks to persist. */
export interface PersistBatch {
  readonly hardState?: HardState;
  /** Replace everything from entries[0].index on. */
  readonly entries: readonly Entry[];
  /** A snapshot received from the leader: replaces the log up to its index. */
  readonly snapshot?: Snapshot;
  /** False when nothing in the batch must survive a power loss (Ready.mustSync false: only the commit index
   *  moved, which a node re-learns from its leader). Default true. */
  readonly sync?: boolean;
}

export interface DurableStore {
  /** Rebuilds the in-memory view from disk (hard state, snapshot, log tail). */
  load(): Promise<MemoryStorage>;
  /** One atomic batch, fsynced before the promise resolves (group commit: one fsync per batch). */
  persist(batch: PersistBatch): Promise<void>;
  /** Persists a locally taken snapshot and drops log entries up to `compactTo` (<= snapshot index). */
  saveSnapshot(snapshot: Snapshot, compactTo: number): Promise<void>;
  /** Optional: writes a local snapshot's data ahead, beside the ordered writes, so that the saveSnapshot that
   *  follows with the same data is one small batch (a store holding large values in bounded chunks does this). */
  stageSnapshot?(data: Uint8Array): Promise<void>;
  close(): Promise<void>;
}
