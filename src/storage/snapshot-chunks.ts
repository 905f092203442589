// Snapshot data on disk in bounded chunks (issue #18 item 2). One value of tens of MB in one synced batch held
// the write queue (and with it every Ready: no heartbeats, no acks) for 0.3–1 s and blocked the event loop while
// it went in. Now the data goes in as chunks of CHUNK_BYTES, one unsynced batch each with a yield between them,
// under a fresh generation number; only then does one small synced batch write the metadata and the pointer
// ("sp": generation, chunk count, byte count). A crash before that batch leaves the old pointer, hence the old
// snapshot, intact; the new generation's chunks are orphans that the next open() deletes. The previous
// generation's chunks are deleted after the pointer moved, in the background (db.clear runs off the loop).
//
// Keys: "sk" + u64 BE generation + u32 BE chunk number, so one generation is one contiguous key range.
import type { Level } from "level";
import { corrupt } from "./codec.js";

type Db = Level<Uint8Array, Uint8Array>;

/** Bytes per chunk, and per batch: bounds both the event-loop block of one write and how long any Ready waits. */
export const CHUNK_BYTES = 256 * 1024;
const PREFIX = [0x73, 0x6b]; // "sk"
const KEY_BYTES = PREFIX.length + 8 + 4;

export const CHUNK_RANGE_START = Uint8Array.of(...PREFIX);
export const CHUNK_RANGE_END = Uint8Array.of(PREFIX[0]!, PREFIX[1]! + 1);

/** Where the current snapshot's data lives. */
export interface SnapshotPointer {
  readonly generation: number;
  readonly chunks: number;
  readonly bytes: number;
}

export function chunkKey(generation: number, chunk: number): Uint8Array {
  const key = new Uint8Array(KEY_BYTES);
  key.set(PREFIX, 0);
  const view = new DataView(key.buffer);
  view.setBigUint64(PREFIX.length, BigInt(generation), false);
  view.setUint32(PREFIX.length + 8, chunk, false);
  return key;
}

/** The generation in a chunk key, or null for a key that is not one. */
export function generationOfChunkKey(key: Uint8Array): number | null {
  if (key.byteLength !== KEY_BYTES || key[0] !== PREFIX[0] || key[1] !== PREFIX[1]) return null;
  return Number(new DataView(key.buffer, key.byteOffset, key.byteLength).getBigUint64(PREFIX.length, false));
}

const yieldToLoop = (): Promise<void> => new Promise((resolve) => setImmediate(resolve));

/** Writes `data` as generation `generation`'s chunks, one unsynced batch per chunk, yielding between them. The
 *  synced pointer batch that follows makes them durable (LevelDB's log is sequential). */
export async function writeChunks(db: Db, generation: number, data: Uint8Array): Promise<SnapshotPointer> {
  const chunks = Math.max(1, Math.ceil(data.byteLength / CHUNK_BYTES));
  for (let c = 0; c < chunks; c++) {
    // A copy, not a view: the store must not keep (or let LevelDB see) a view into the caller's buffer.
    const value = data.slice(c * CHUNK_BYTES, Math.min(data.byteLength, (c + 1) * CHUNK_BYTES));
    await db.batch([{ type: "put", key: chunkKey(generation, c), value }], { sync: false });
    await yieldToLoop();
  }
  return { generation, chunks, bytes: data.byteLength };
}

/** Reads the data a pointer names; throws STORAGE_CORRUPT when a chunk is missing or the sizes disagree. */
export async function readChunks(db: Db, p: SnapshotPointer): Promise<Uint8Array> {
  const out = new Uint8Array(p.bytes);
  let offset = 0;
  let next = 0;
  for await (const [key, value] of db.iterator({ gte: chunkKey(p.generation, 0), lt: chunkKey(p.generation + 1, 0) })) {
    const chunk = key.byteLength === KEY_BYTES ? new DataView(key.buffer, key.byteOffset, key.byteLength).getUint32(PREFIX.length + 8, false) : -1;
    if (chunk !== next) {
      throw corrupt("sp", `names generation ${p.generation} but its chunk ${next} is missing`);
    }
    if (offset + value.byteLength > p.bytes) throw corrupt("sp", `generation ${p.generation} holds more than its ${p.bytes} bytes`);
    out.set(value, offset);
    offset += value.byteLength;
    next++;
  }
  if (next !== p.chunks || offset !== p.bytes) {
    throw corrupt("sp", `names ${p.chunks} chunks / ${p.bytes} bytes of generation ${p.generation}, found ${next} / ${offset}`);
  }
  return out;
}

/** The highest generation any chunk on disk has (0 when none), so a new one never reuses an orphan's number. */
export async function highestChunkGeneration(db: Db): Promise<number> {
  for await (const key of db.keys({ gte: CHUNK_RANGE_START, lt: CHUNK_RANGE_END, reverse: true, limit: 1 })) {
    return generationOfChunkKey(key) ?? 0;
  }
  return 0;
}

/** Deletes every chunk except generation `keep`'s (orphans of a crash mid-save, or a superseded generation). */
export async function clearChunksExcept(db: Db, keep: number | null): Promise<void> {
  if (keep === null) {
    await db.clear({ gte: CHUNK_RANGE_START, lt: CHUNK_RANGE_END });
    return;
  }
  await db.clear({ gte: CHUNK_RANGE_START, lt: chunkKey(keep, 0) });
  await db.clear({ gte: chunkKey(keep + 1, 0), lt: CHUNK_RANGE_END });
}

/** Deletes one generation's chunks. */
export function clearGeneration(db: Db, generation: number): Promise<void> {
  return db.clear({ gte: chunkKey(generation, 0), lt: chunkKey(generation + 1, 0) });
}
