// Value encodings for the LevelDB store (msgpack arrays, not maps: smaller, and field order is the schema).
// Every decoder validates shape and ranges and throws STORAGE_CORRUPT naming the key: a damaged store must stop
// the node, never be read as something plausible.
import { Packr } from "msgpackr";
import type { ConfState, Entry, EntryKind, HardState, SnapshotMeta } from "../raft/types.js";
import { StorageError } from "./errors.js";

export const FORMAT_VERSION = 1;

// useRecords: false keeps values plain msgpack (no shared structure table that a crash could leave stale).
// int64AsType "number": a (corrupt) 64-bit integer decodes as a number and then fails the safe-integer check.
const packr = new Packr({ useRecords: false, int64AsType: "number" });

const KIND_CODES: Record<EntryKind, number> = { normal: 0, config: 1 };
const KINDS_BY_CODE: readonly EntryKind[] = ["normal", "config"];

export interface CompactionPoint {
  readonly index: number;
  readonly term: number;
}

const encode = (value: unknown): Uint8Array => packr.pack(value);

function decodeArray(bytes: Uint8Array, key: string, length: number): unknown[] {
  let value: unknown;
  try {
    value = packr.unpack(bytes);
  } catch (err) {
    throw corrupt(key, "is not valid msgpack", err);
  }
  if (!Array.isArray(value) || value.length !== length) throw corrupt(key, `is not an array of ${length} fields`);
  return value;
}

export function corrupt(key: string, problem: string, cause?: unknown): StorageError {
  return new StorageError("STORAGE_CORRUPT", `corrupt store: key ${key} ${problem}`, { key, cause });
}

function naturalAt(fields: unknown[], i: number, key: string, what: string): number {
  const v = fields[i];
  if (typeof v !== "number" || !Number.isSafeInteger(v) || v < 0) throw corrupt(key, `has a bad ${what}: ${String(v)}`);
  return v;
}

function bytesAt(fields: unknown[], i: number, key: string, what: string): Uint8Array {
  const v = fields[i];
  if (!(v instanceof Uint8Array)) throw corrupt(key, `has a bad ${what}`);
  // A plain copy: msgpackr hands out Buffers that may view the (reused) read buffer.
  return new Uint8Array(v);
}

function idListAt(fields: unknown[], i: number, key: string, what: string): string[] {
  const v = fields[i];
  if (!Array.isArray(v) || !v.every((id) => typeof id === "string")) throw corrupt(key, `has a bad ${what}`);
  return v as string[];
}

// ---- entries ----

export function encodeEntry(e: Entry): Uint8Array {
  return encode([e.term, e.index, KIND_CODES[e.kind], e.data]);
}

/** Decodes the value stored under the entry key for `index`; the index inside must match the key. */
export function decodeEntry(bytes: Uint8Array, index: number): Entry {
  const key = `e/${index}`;
  const f = decodeArray(bytes, key, 4);
  const term = naturalAt(f, 0, key, "term");
  const storedIndex = naturalAt(f, 1, key, "index");
  if (storedIndex !== index) throw corrupt(key, `holds the entry for index ${storedIndex}`);
  const kind = KINDS_BY_CODE[naturalAt(f, 2, key, "kind")];
  if (kind === undefined) throw corrupt(key, `has an unknown kind ${String(f[2])}`);
  return { term, index, kind, data: bytesAt(f, 3, key, "data") };
}

// ---- hard state ----

export function encodeHardState(hs: HardState): Uint8Array {
  return encode([hs.term, hs.vote, hs.commit]);
}

export function decodeHardState(bytes: Uint8Array): HardState {
  const key = "h";
  const f = decodeArray(bytes, key, 3);
  const vote = f[1];
  if (vote !== null && typeof vote !== "string") throw corrupt(key, "has a bad vote");
  return { term: naturalAt(f, 0, key, "term"), vote, commit: naturalAt(f, 2, key, "commit") };
}

// ---- snapshot metadata ----

export function encodeSnapshotMeta(m: SnapshotMeta): Uint8Array {
  return encode([m.index, m.term, m.conf.voters, m.conf.learners]);
}

export function decodeSnapshotMeta(bytes: Uint8Array): SnapshotMeta {
  const key = "sm";
  const f = decodeArray(bytes, key, 4);
  const conf: ConfState = { voters: idListAt(f, 2, key, "voter list"), learners: idListAt(f, 3, key, "learner list") };
  return { index: naturalAt(f, 0, key, "index"), term: naturalAt(f, 1, key, "term"), conf };
}

// ---- snapshot pointer: where the snapshot data's chunks are (see snapshot-chunks.ts) ----

export function encodeSnapshotPointer(p: { generation: number; chunks: number; bytes: number }): Uint8Array {
  return encode([p.generation, p.chunks, p.bytes]);
}

export function decodeSnapshotPointer(bytes: Uint8Array): { generation: number; chunks: number; bytes: number } {
  const key = "sp";
  const f = decodeArray(bytes, key, 3);
  return { generation: naturalAt(f, 0, key, "generation"), chunks: naturalAt(f, 1, key, "chunk count"), bytes: naturalAt(f, 2, key, "byte count") };
}

// ---- compaction point and format version ----

export function encodeCompactionPoint(c: CompactionPoint): Uint8Array {
  return encode([c.index, c.term]);
}

export function decodeCompactionPoint(bytes: Uint8Array): CompactionPoint {
  const key = "c";
  const f = decodeArray(bytes, key, 2);
  return { index: naturalAt(f, 0, key, "index"), term: naturalAt(f, 1, key, "term") };
}

export function encodeFormatVersion(): Uint8Array {
  return encode([FORMAT_VERSION]);
}

export function decodeFormatVersion(bytes: Uint8Array): number {
  return naturalAt(decodeArray(bytes, "v", 1), 0, "v", "version");
}
