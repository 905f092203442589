// Reassembly of incoming snapshot transfers: at most one per peer, and a cap on the bytes being reassembled across
// all peers. Chunks must arrive in order (they share one TCP connection); each is checked against its CRC-32 as it
// is copied into a buffer allocated once at the first chunk, and the whole against the sender's SHA-256 at the end.
// Any failure ends the transfer, frees its buffer and hands nothing on; the next transfer starts from scratch.
import { createHash, type Hash } from "node:crypto";
import type { NodeId, SnapshotMeta, SnapshotRequest } from "../raft/types.js";
import { crc32 } from "./crc32.js";
import type { SnapshotChunkFrame, SnapshotRefusalCode } from "./snapshot-frames.js";
import { validateMessage } from "./validate.js";

interface IncomingTransfer {
  readonly from: NodeId;
  readonly transferId: number;
  readonly term: number;
  readonly totalBytes: number;
  readonly meta: SnapshotMeta;
  readonly buffer: Buffer;
  readonly hash: Hash;
  received: number;
  lastChunkAtMs: number;
}

export type ChunkVerdict =
  /** Stored; acknowledge `received` bytes. */
  | { readonly kind: "progress"; readonly received: number }
  /** The last chunk: the whole snapshot checked out. Deliver `message`, then acknowledge `done`. */
  | { readonly kind: "complete"; readonly received: number; readonly message: SnapshotRequest }
  /** The transfer is over and nothing is delivered; tell the sender why. */
  | { readonly kind: "refused"; readonly received: number; readonly code: SnapshotRefusalCode; readonly reason: string };

export interface SnapshotReassemblerOptions {
  /** Cap on the sum of the sizes of the snapshots being reassembled, across peers. */
  readonly maxIncomingBytes: number;
}

export class SnapshotReassembler {
  private readonly maxIncomingBytes: number;
  private readonly transfers = new Map<NodeId, IncomingTransfer>();
  private reservedBytes = 0;

  constructor(options: SnapshotReassemblerOptions) {
    this.maxIncomingBytes = options.maxIncomingBytes;
  }

  /** Bytes currently allocated for reassembly (tests and stats). */
  get bytesReserved(): number {
    return this.reservedBytes;
  }

  /** The transfer in progress from `from`, if any: its id and progress. */
  inProgress(from: NodeId): { readonly transferId: number; readonly received: number; readonly totalBytes: number } | undefined {
    const t = this.transfers.get(from);
    return t && { transferId: t.transferId, received: t.received, totalBytes: t.totalBytes };
  }

  /** Takes one validated chunk whose `from` is the authenticated peer and `to` this node. */
  accept(chunk: SnapshotChunkFrame, nowMs: number): ChunkVerdict {
    const current = this.transfers.get(chunk.from);
    if (chunk.offset === 0) {
      if (current !== undefined) this.discard(chunk.from); // a new transfer supersedes the one in progress
      return this.start(chunk, nowMs);
    }
    if (current === undefined || current.transferId !== chunk.transferId) {
      // A leftover of a transfer already discarded (or never started here): refuse it, leave any other alone.
      return refused(0, "OUT_OF_ORDER", `chunk at offset ${chunk.offset} of transfer ${chunk.transferId}, which is not in progress`);
    }
    if (chunk.offset !== current.received) {
      this.discard(chunk.from);
      return refused(current.received, "OUT_OF_ORDER", `chunk at offset ${chunk.offset}, expected ${current.received}`);
    }
    if (chunk.term !== current.term || chunk.totalBytes !== current.totalBytes) {
      this.discard(chunk.from);
      return refused(
        current.received,
        "INCONSISTENT",
        `chunk says term ${chunk.term}/totalBytes ${chunk.totalBytes}, transfer began with ${current.term}/${current.totalBytes}`,
      );
    }
    return this.store(current, chunk, nowMs);
  }

  /** Drops the transfer from `from` (its connection closed, or the peer left). Returns whether there was one. */
  discard(from: NodeId): boolean {
    const t = this.transfers.get(from);
    if (t === undefined) return false;
    this.transfers.delete(from);
    this.reservedBytes -= t.totalBytes;
    return true;
  }

  /** Drops transfers that received no chunk for `stallTimeoutMs`; returns them for logging. */
  expire(nowMs: number, stallTimeoutMs: number): { from: NodeId; transferId: number; received: number; totalBytes: number }[] {
    const expired: { from: NodeId; transferId: number; received: number; totalBytes: number }[] = [];
    for (const t of [...this.transfers.values()]) {
      if (nowMs - t.lastChunkAtMs <= stallTimeoutMs) continue;
      this.discard(t.from);
      expired.push({ from: t.from, transferId: t.transferId, received: t.received, totalBytes: t.totalBytes });
    }
    return expired;
  }

  clear(): void {
    this.transfers.clear();
    this.reservedBytes = 0;
  }

  private start(chunk: SnapshotChunkFrame, nowMs: number): ChunkVerdict {
    const meta = chunk.meta;
    if (meta === undefined) return refused(0, "OUT_OF_ORDER", "first chunk without meta"); // validation forbids it
    if (crc32(chunk.data) !== chunk.crc32) return refused(0, "CHUNK_CORRUPT", "CRC-32 mismatch in the chunk at offset 0");
    if (this.reservedBytes + chunk.totalBytes > this.maxIncomingBytes) {
      return refused(
        0,
        "TOO_LARGE",
        `${chunk.totalBytes} bytes would bring snapshots being received to ${this.reservedBytes + chunk.totalBytes}, cap ${this.maxIncomingBytes}`,
      );
    }
    let buffer: Buffer;
    try {
      // Not from the pool, not zeroed: every byte is overwritten by a checked chunk before anyone reads it.
      buffer = Buffer.allocUnsafeSlow(chunk.totalBytes);
    } catch (err) {
      return refused(0, "TOO_LARGE", `cannot allocate ${chunk.totalBytes} bytes: ${err instanceof Error ? err.message : String(err)}`);
    }
    const t: IncomingTransfer = {
      from: chunk.from,
      transferId: chunk.transferId,
      term: chunk.term,
      totalBytes: chunk.totalBytes,
      meta,
      buffer,
      hash: createHash("sha256"),
      received: 0,
      lastChunkAtMs: nowMs,
    };
    this.transfers.set(chunk.from, t);
    this.reservedBytes += chunk.totalBytes;
    return this.store(t, chunk, nowMs, true);
  }

  private store(t: IncomingTransfer, chunk: SnapshotChunkFrame, nowMs: number, crcChecked = false): ChunkVerdict {
    if (!crcChecked && crc32(chunk.data) !== chunk.crc32) {
      this.discard(t.from);
      return refused(t.received, "CHUNK_CORRUPT", `CRC-32 mismatch in the chunk at offset ${chunk.offset}`);
    }
    t.buffer.set(chunk.data, t.received);
    t.hash.update(chunk.data);
    t.received += chunk.data.length;
    t.lastChunkAtMs = nowMs;
    if (t.received < t.totalBytes) return { kind: "progress", received: t.received };

    this.discard(t.from); // complete or corrupt, the transfer is over; the buffer now belongs to the message
    const sha256 = chunk.sha256;
    if (sha256 === undefined || !Buffer.from(sha256.buffer, sha256.byteOffset, sha256.byteLength).equals(t.hash.digest())) {
      return refused(t.received, "SNAPSHOT_CORRUPT", "SHA-256 of the reassembled snapshot does not match the sender's");
    }
    const data = new Uint8Array(t.buffer.buffer, t.buffer.byteOffset, t.totalBytes);
    // Through the same validator as a single-frame snapshot, so the core sees exactly what it would see then.
    const checked = validateMessage({ type: "snapshot", from: t.from, to: chunk.to, term: t.term, snapshot: { meta: t.meta, data } });
    if (!checked.ok || checked.message.type !== "snapshot") {
      return refused(t.received, "INCONSISTENT", `reassembled snapshot is not a valid message: ${checked.ok ? "wrong type" : checked.reason}`);
    }
    return { kind: "complete", received: t.received, message: checked.message };
  }
}

function refused(received: number, code: SnapshotRefusalCode, reason: string): ChunkVerdict {
  return { kind: "refused", received, code, reason };
}
