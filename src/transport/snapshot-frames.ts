// The transport's own frame kinds for InstallSnapshot in chunks. They travel on the same sockets as Raft messages
// but never reach the core: the sender splits a `snapshot` Message into chunk frames, the receiver reassembles
// them, checks them, and hands the core one ordinary `snapshot` Message.
//
//   sender ──snapshotChunk──▶ receiver      (on the sender's outbound link, in order)
//   sender ◀──snapshotAck──── receiver      (on the receiver's own outbound link to the sender)
//
// Each chunk carries a CRC-32 of its data; the first carries the snapshot's metadata, the last a SHA-256 of the
// whole data, which the receiver computes as the chunks arrive (no second pass, no event-loop stall at the end).
// Validation is as strict as for Messages: exact fields, every number in range, the chunk inside the snapshot.
import type { NodeId, SnapshotMeta } from "../raft/types.js";
import { MAX_REFUSAL_REASON_CHARS, MAX_SNAPSHOT_CHUNK_BYTES } from "./limits.js";
import { bytes, describe, type Fields, Invalid, nat, nodeId, onlyKeys, optional, plainObject, snapshotMeta } from "./validate.js";

export const SHA256_BYTES = 32;
const MAX_CRC32 = 0xffff_ffff;

export interface SnapshotChunkFrame {
  readonly type: "snapshotChunk";
  readonly from: NodeId;
  readonly to: NodeId;
  /** The term of the `snapshot` Message being carried. */
  readonly term: number;
  /** Chosen by the sender, unique among its transfers since it started (>= 1). */
  readonly transferId: number;
  /** Where `data` starts in the snapshot's data. */
  readonly offset: number;
  /** Size of the whole snapshot's data. */
  readonly totalBytes: number;
  readonly data: Uint8Array;
  /** CRC-32 (IEEE) of `data`. */
  readonly crc32: number;
  /** Present on the first chunk (offset 0) and only there. */
  readonly meta?: SnapshotMeta;
  /** SHA-256 of the whole snapshot data: present on the last chunk (offset + data.length === totalBytes) only. */
  readonly sha256?: Uint8Array;
}

export type SnapshotAckStatus = "receiving" | "done" | "refused";

/** Why a receiver refused a transfer; stable strings, logged on both sides. */
export const SNAPSHOT_REFUSAL_CODES = [
  "CHUNK_CORRUPT", // a chunk's CRC-32 does not match its data
  "SNAPSHOT_CORRUPT", // the reassembled data's SHA-256 does not match the sender's
  "OUT_OF_ORDER", // a chunk that does not continue the transfer in progress (or continues none)
  "INCONSISTENT", // a chunk whose term or totalBytes differs from the transfer's first chunk
  "TOO_LARGE", // the snapshot would exceed the receiver's cap on bytes being reassembled
] as const;
export type SnapshotRefusalCode = (typeof SNAPSHOT_REFUSAL_CODES)[number];
const REFUSAL_CODE_SET: ReadonlySet<string> = new Set<string>(SNAPSHOT_REFUSAL_CODES);

export interface SnapshotAckFrame {
  readonly type: "snapshotAck";
  readonly from: NodeId;
  readonly to: NodeId;
  /** Echoes the transfer's term. */
  readonly term: number;
  readonly transferId: number;
  /** Bytes received and verified so far (all of them when `done`). */
  readonly received: number;
  /** `done`: reassembled, verified and handed to the node. `refused`: the transfer is over, nothing was handed. */
  readonly status: SnapshotAckStatus;
  /** Present exactly when `status` is `refused`. */
  readonly code?: SnapshotRefusalCode;
  readonly reason?: string;
}

export type SnapshotTransferFrame = SnapshotChunkFrame | SnapshotAckFrame;

export const SNAPSHOT_FRAME_TYPES: ReadonlySet<string> = new Set(["snapshotChunk", "snapshotAck"]);

const CHUNK_KEYS: ReadonlySet<string> = new Set([
  "type",
  "from",
  "to",
  "term",
  "transferId",
  "offset",
  "totalBytes",
  "data",
  "crc32",
  "meta",
  "sha256",
]);
const ACK_KEYS: ReadonlySet<string> = new Set(["type", "from", "to", "term", "transferId", "received", "status", "code", "reason"]);

export type SnapshotFrameValidation =
  | { readonly ok: true; readonly frame: SnapshotTransferFrame }
  | { readonly ok: false; readonly reason: string };

/** Validates a decoded value as a chunk or ack frame. Never throws. */
export function validateSnapshotFrame(value: unknown): SnapshotFrameValidation {
  try {
    const o = plainObject(value, "frame");
    if (o["type"] === "snapshotChunk") return { ok: true, frame: readChunk(o) };
    if (o["type"] === "snapshotAck") return { ok: true, frame: readAck(o) };
    return { ok: false, reason: `type: expected snapshotChunk|snapshotAck, got ${describe(o["type"])}` };
  } catch (err) {
    if (err instanceof Invalid) return { ok: false, reason: err.message };
    return { ok: false, reason: `validator failed: ${err instanceof Error ? err.message : String(err)}` };
  }
}

function readBase(o: Fields): { from: NodeId; to: NodeId; term: number; transferId: number } {
  const from = nodeId(o["from"], "from");
  const to = nodeId(o["to"], "to");
  if (from === to) throw new Invalid(`from and to are both ${JSON.stringify(from)}`);
  const term = nat(o["term"], "term");
  const transferId = nat(o["transferId"], "transferId");
  if (transferId === 0) throw new Invalid("transferId: must be at least 1");
  return { from, to, term, transferId };
}

function readChunk(o: Fields): SnapshotChunkFrame {
  onlyKeys(o, CHUNK_KEYS, "frame");
  const base = readBase(o);
  const offset = nat(o["offset"], "offset");
  const totalBytes = nat(o["totalBytes"], "totalBytes");
  const data = bytes(o["data"], "data");
  if (data.length > MAX_SNAPSHOT_CHUNK_BYTES) {
    throw new Invalid(`data: ${data.length} bytes, at most ${MAX_SNAPSHOT_CHUNK_BYTES} per chunk`);
  }
  if (data.length === 0 && totalBytes !== 0) throw new Invalid("data: empty chunk of a non-empty snapshot");
  if (offset + data.length > totalBytes) {
    throw new Invalid(`data: bytes ${offset}..${offset + data.length} run past totalBytes ${totalBytes}`);
  }
  const crc = nat(o["crc32"], "crc32");
  if (crc > MAX_CRC32) throw new Invalid(`crc32: ${crc} is not a 32-bit value`);
  const meta = optional(o, "meta", (v, path) => snapshotMeta(v, base.term, path));
  if ((offset === 0) !== (meta !== undefined)) {
    throw new Invalid(offset === 0 ? "meta: required on the first chunk" : "meta: only the first chunk carries it");
  }
  const last = offset + data.length === totalBytes;
  const sha256 = optional(o, "sha256", bytes);
  if (last !== (sha256 !== undefined)) {
    throw new Invalid(last ? "sha256: required on the last chunk" : "sha256: only the last chunk carries it");
  }
  if (sha256 !== undefined && sha256.length !== SHA256_BYTES) {
    throw new Invalid(`sha256: expected ${SHA256_BYTES} bytes, got ${sha256.length}`);
  }
  return {
    type: "snapshotChunk",
    ...base,
    offset,
    totalBytes,
    data,
    crc32: crc,
    ...(meta === undefined ? {} : { meta }),
    ...(sha256 === undefined ? {} : { sha256 }),
  };
}

function readAck(o: Fields): SnapshotAckFrame {
  onlyKeys(o, ACK_KEYS, "frame");
  const base = readBase(o);
  const received = nat(o["received"], "received");
  const status = o["status"];
  if (status !== "receiving" && status !== "done" && status !== "refused") {
    throw new Invalid(`status: expected receiving|done|refused, got ${describe(status)}`);
  }
  const code = optional(o, "code", refusalCode);
  if ((status === "refused") !== (code !== undefined)) {
    throw new Invalid(status === "refused" ? "code: required when refused" : "code: only a refusal carries it");
  }
  const reason = optional(o, "reason", reasonString);
  return {
    type: "snapshotAck",
    ...base,
    received,
    status,
    ...(code === undefined ? {} : { code }),
    ...(reason === undefined ? {} : { reason }),
  };
}

function refusalCode(value: unknown, path: string): SnapshotRefusalCode {
  if (typeof value !== "string" || !REFUSAL_CODE_SET.has(value)) {
    throw new Invalid(`${path}: expected one of ${SNAPSHOT_REFUSAL_CODES.join("|")}, got ${describe(value)}`);
  }
  return value as SnapshotRefusalCode;
}

function reasonString(value: unknown, path: string): string {
  if (typeof value !== "string" || value.length > MAX_REFUSAL_REASON_CHARS) {
    throw new Invalid(`${path}: expected a string of at most ${MAX_REFUSAL_REASON_CHARS} characters, got ${describe(value)}`);
  }
  return value;
}
