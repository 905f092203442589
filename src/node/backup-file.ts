// The backup file `raftsched snapshot save` writes and `raftsched snapshot restore` reads (README "Backup and
// restore"). One self-checking file:
//
//   "RAFTSCHED-BACKUP" (16 bytes) | u16 version (1) | u32 header length | header (JSON, UTF-8) |
//   data (header.dataBytes: a node snapshot's data, snapshot-data.ts: member urls + the task table) |
//   sha256 of every byte before it (32 bytes)
//
// The checksum trails the data so the leader can stream the file as it writes it; the header says how long the
// data is, so a truncated file is told apart from an altered one. Every refusal carries a stable code, and nothing
// is written anywhere before the whole file has been checked.
import { createHash, type Hash } from "node:crypto";
import { RaftschedError } from "../util/errors.js";

export const BACKUP_MAGIC = Buffer.from("RAFTSCHED-BACKUP");
export const BACKUP_VERSION = 1;
const PREFIX_BYTES = BACKUP_MAGIC.length + 2 + 4;
export const CHECKSUM_BYTES = 32;
/** A header is a few hundred bytes; more is not a header this code wrote. */
const MAX_HEADER_BYTES = 64 * 1024;
/** The largest file read back (Node's Buffer limit is about 4 GiB; a million tasks make about 100 MiB). */
export const MAX_BACKUP_BYTES = 2 ** 31 - 1;

export interface BackupHeader {
  /** The cluster file's "cluster" name of the cluster saved. */
  readonly cluster: string;
  /** The node (the leader) that took it. */
  readonly takenBy: string;
  /** ISO time at which it was taken (the leader's clock). */
  readonly takenAt: string;
  /** The log index the state is as of (applied on the leader, after a ReadIndex round), and its term there. */
  readonly index: number;
  readonly term: number;
  /** Tasks in the table, for the operator's eye. */
  readonly tasks: number;
  readonly dataBytes: number;
}

/** The leading bytes of a backup file, up to the data. `hash` has taken them in. */
export function backupPrefix(header: BackupHeader, hash: Hash): Buffer {
  const json = Buffer.from(JSON.stringify(header), "utf8");
  const out = Buffer.alloc(PREFIX_BYTES + json.length);
  BACKUP_MAGIC.copy(out, 0);
  out.writeUInt16BE(BACKUP_VERSION, BACKUP_MAGIC.length);
  out.writeUInt32BE(json.length, BACKUP_MAGIC.length + 2);
  json.copy(out, PREFIX_BYTES);
  hash.update(out);
  return out;
}

/** A whole backup file in memory (tests, and callers that have the data at hand). */
export function encodeBackup(header: Omit<BackupHeader, "dataBytes">, data: Uint8Array): Buffer {
  const hash = createHash("sha256");
  const prefix = backupPrefix({ ...header, dataBytes: data.byteLength }, hash);
  hash.update(data);
  return Buffer.concat([prefix, data, hash.digest()]);
}

export interface DecodedBackup {
  readonly header: BackupHeader;
  readonly data: Buffer;
  readonly sha256: string;
}

/** The code leads the message too: the CLI prints messages, and an operator's script can match the code. */
function refuse(code: string, message: string): RaftschedError {
  return new RaftschedError(code, `${code}: ${message}`);
}

/** Checks a whole backup file: magic, version, length, checksum. Throws RaftschedError with code
 *  BACKUP_BAD_FORMAT, BACKUP_UNSUPPORTED_VERSION, BACKUP_TRUNCATED or BACKUP_CHECKSUM_MISMATCH. */
export function decodeBackup(file: Buffer): DecodedBackup {
  if (file.length < BACKUP_MAGIC.length || !file.subarray(0, BACKUP_MAGIC.length).equals(BACKUP_MAGIC)) {
    // A file cut inside the magic is still recognisably ours if what is there matches.
    if (file.length < BACKUP_MAGIC.length && BACKUP_MAGIC.subarray(0, file.length).equals(file)) throw refuse("BACKUP_TRUNCATED", `the file ends after ${file.length} bytes, inside its magic`);
    throw refuse("BACKUP_BAD_FORMAT", "not a raftsched backup (its first bytes are not RAFTSCHED-BACKUP)");
  }
  if (file.length < PREFIX_BYTES) throw refuse("BACKUP_TRUNCATED", `the file ends after ${file.length} bytes, inside its prefix`);
  const version = file.readUInt16BE(BACKUP_MAGIC.length);
  if (version !== BACKUP_VERSION) throw refuse("BACKUP_UNSUPPORTED_VERSION", `backup format version ${version}; this raftsched reads version ${BACKUP_VERSION}`);
  const headerBytes = file.readUInt32BE(BACKUP_MAGIC.length + 2);
  if (headerBytes > MAX_HEADER_BYTES) throw refuse("BACKUP_BAD_FORMAT", `a header of ${headerBytes} bytes (at most ${MAX_HEADER_BYTES})`);
  if (file.length < PREFIX_BYTES + headerBytes) throw refuse("BACKUP_TRUNCATED", `the file ends after ${file.length} bytes, inside its header`);
  const header = parseHeader(file.subarray(PREFIX_BYTES, PREFIX_BYTES + headerBytes));
  const dataStart = PREFIX_BYTES + headerBytes;
  const expected = dataStart + header.dataBytes + CHECKSUM_BYTES;
  if (file.length < expected) throw refuse("BACKUP_TRUNCATED", `the file has ${file.length} bytes; its header promises ${expected}`);
  if (file.length > expected) throw refuse("BACKUP_BAD_FORMAT", `the file has ${file.length - expected} bytes past its checksum`);
  const digest = createHash("sha256").update(file.subarray(0, expected - CHECKSUM_BYTES)).digest();
  if (!digest.equals(file.subarray(expected - CHECKSUM_BYTES))) {
    throw refuse("BACKUP_CHECKSUM_MISMATCH", "the file's sha256 does not match its content: it was altered or damaged");
  }
  return { header, data: file.subarray(dataStart, dataStart + header.dataBytes), sha256: digest.toString("hex") };
}

function parseHeader(bytes: Buffer): BackupHeader {
  let h: Record<string, unknown>;
  try {
    h = JSON.parse(bytes.toString("utf8")) as Record<string, unknown>;
  } catch {
    throw refuse("BACKUP_BAD_FORMAT", "the header is not JSON");
  }
  const natural = (k: string) => Number.isSafeInteger(h[k]) && (h[k] as number) >= 0;
  const text = (k: string) => typeof h[k] === "string";
  if (typeof h !== "object" || h === null || !["index", "term", "tasks", "dataBytes"].every(natural) || !["cluster", "takenBy", "takenAt"].every(text)) {
    throw refuse("BACKUP_BAD_FORMAT", "the header lacks a field (cluster, takenBy, takenAt, index, term, tasks, dataBytes)");
  }
  if ((h.dataBytes as number) > MAX_BACKUP_BYTES) throw refuse("BACKUP_BAD_FORMAT", `a data length of ${String(h.dataBytes)} bytes`);
  return h as unknown as BackupHeader;
}
