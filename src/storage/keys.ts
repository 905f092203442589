// The LevelDB key layout. Keys are raw bytes, so LevelDB's bytewise order is the order we want:
//
//   "c"               compaction point: index and term of the last entry dropped from the log
//   "e" + u64 BE      one log entry per index; fixed width big-endian so key order = index order
//   "h"               hard state (term, vote, commit)
//   "sd"              snapshot data as one value (stores written before chunking; replaced by "sp" on the next save)
//   "sk" + u64 + u32  snapshot data chunks: generation, chunk number (snapshot-chunks.ts)
//   "sm"              snapshot metadata (index, term, conf)
//   "sp"              snapshot pointer: the generation of chunks holding the current snapshot's data
//   "v"               on-disk format version
//
// "c" < "e" < "h" < "s" < "v": the entries form one contiguous key range, [ENTRY_RANGE_START, ENTRY_RANGE_END).

const ENTRY_PREFIX = 0x65; // "e"
const ENTRY_KEY_BYTES = 9;

/** Indexes must stay exact in a double; 2^53 entries is far beyond any real log. */
export const MAX_INDEX = Number.MAX_SAFE_INTEGER;

const ascii = (s: string): Uint8Array => Uint8Array.from(s, (ch) => ch.charCodeAt(0));

export const COMPACTION_KEY = ascii("c");
export const HARD_STATE_KEY = ascii("h");
export const SNAPSHOT_DATA_KEY = ascii("sd");
export const SNAPSHOT_META_KEY = ascii("sm");
export const SNAPSHOT_POINTER_KEY = ascii("sp");
export const FORMAT_VERSION_KEY = ascii("v");

export const ENTRY_RANGE_START = Uint8Array.of(ENTRY_PREFIX);
export const ENTRY_RANGE_END = Uint8Array.of(ENTRY_PREFIX + 1);

export function entryKey(index: number): Uint8Array {
  if (!Number.isSafeInteger(index) || index < 0) throw new RangeError(`entry index ${index} is not a safe non-negative integer`);
  const key = new Uint8Array(ENTRY_KEY_BYTES);
  key[0] = ENTRY_PREFIX;
  new DataView(key.buffer).setBigUint64(1, BigInt(index), false);
  return key;
}

/** The index in an entry key, or null when the key is not a well-formed entry key. */
export function entryIndexOfKey(key: Uint8Array): number | null {
  if (key.byteLength !== ENTRY_KEY_BYTES || key[0] !== ENTRY_PREFIX) return null;
  const index = new DataView(key.buffer, key.byteOffset, key.byteLength).getBigUint64(1, false);
  if (index > BigInt(MAX_INDEX)) return null;
  return Number(index);
}

/** A readable name for a key, for error messages: "e/<index>" for entries, the ASCII name otherwise, hex if neither. */
export function describeKey(key: Uint8Array): string {
  const index = entryIndexOfKey(key);
  if (index !== null) return `e/${index}`;
  const printable = key.every((b) => b >= 0x21 && b <= 0x7e);
  if (printable && key.byteLength > 0) return String.fromCharCode(...key);
  return `0x${Buffer.from(key.buffer, key.byteOffset, key.byteLength).toString("hex")}`;
}
