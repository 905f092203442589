// Reading a LevelStore back: the format version check at open, and load()'s read of everything on disk, validated
// as a whole (a gap, a term going backwards, a snapshot the log contradicts is STORAGE_CORRUPT, never a partial
// log), then rebuilt into the MemoryStorage the core reads.
import type { Level } from "level";
import type { Entry, HardState, Snapshot } from "../raft/types.js";
import { EMPTY_HARD_STATE } from "../raft/types.js";
import {
  corrupt,
  decodeCompactionPoint,
  decodeEntry,
  decodeFormatVersion,
  decodeHardState,
  decodeSnapshotMeta,
  decodeSnapshotPointer,
  encodeFormatVersion,
  FORMAT_VERSION,
  type CompactionPoint,
} from "./codec.js";
import { StorageError } from "./errors.js";
import {
  COMPACTION_KEY,
  describeKey,
  ENTRY_RANGE_END,
  ENTRY_RANGE_START,
  entryIndexOfKey,
  FORMAT_VERSION_KEY,
  HARD_STATE_KEY,
  SNAPSHOT_DATA_KEY,
  SNAPSHOT_META_KEY,
  SNAPSHOT_POINTER_KEY,
} from "./keys.js";
import { MemoryStorage } from "./memory.js";
import { readChunks, type SnapshotPointer } from "./snapshot-chunks.js";

type Db = Level<Uint8Array, Uint8Array>;

/** Everything load() reads, validated. */
export interface StoredState {
  readonly hardState: HardState | null;
  readonly snapshot: Snapshot | null;
  readonly compaction: CompactionPoint;
  readonly entries: Entry[];
  /** Where the snapshot's data is; null when there is none or it is a single "sd" value (an older store). */
  readonly pointer: SnapshotPointer | null;
}

export async function checkFormatVersion(db: Db): Promise<void> {
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

export async function readState(db: Db): Promise<StoredState> {
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
export function restoreMemoryStorage(state: StoredState): MemoryStorage {
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
