// One outgoing snapshot transfer: splits a `snapshot` Message into chunk frames and paces them by the receiver's
// acks, so at most `windowChunks` chunks exist at once (encoded, queued, in the socket or on the wire) whatever
// the snapshot's size. The snapshot data itself is the core's; chunks are views over it until encoded.
//
// The whole-snapshot SHA-256 is computed incrementally as chunks go out and travels on the last chunk: hashing
// 71 MiB up front would stall the leader's event loop for longer than an election timeout.
import { createHash, type Hash } from "node:crypto";
import type { NodeId, SnapshotRequest } from "../raft/types.js";
import { crc32 } from "./crc32.js";
import type { SnapshotAckFrame, SnapshotChunkFrame } from "./snapshot-frames.js";

export type ChunkSink = (chunk: SnapshotChunkFrame, outcome: (written: boolean) => void) => SinkResult;
/** `ok`: the chunk is on its way (its outcome will be told). Anything else ends the transfer. */
export type SinkResult = { readonly ok: true } | { readonly ok: false; readonly why: string };

export interface OutgoingSnapshotOptions {
  readonly message: SnapshotRequest;
  readonly transferId: number;
  readonly chunkBytes: number;
  readonly windowChunks: number;
  readonly nowMs: number;
  /** Encodes and enqueues one chunk frame on the link to the receiver. */
  readonly sink: ChunkSink;
  /** Called exactly once, when the transfer ends: ok=true only after the receiver said `done`. */
  readonly finish: (ok: boolean, why: string) => void;
}

export class OutgoingSnapshot {
  readonly to: NodeId;
  readonly transferId: number;
  readonly totalBytes: number;
  private readonly o: OutgoingSnapshotOptions;
  private readonly data: Uint8Array;
  private readonly hash: Hash = createHash("sha256");
  /** Bytes handed to the sink so far. */
  private nextOffset = 0;
  private firstSent = false;
  /** End offsets of chunks handed to the sink and not yet acknowledged, oldest first (at most windowChunks). */
  private readonly unacked: number[] = [];
  private lastProgressMs: number;
  private finished = false;
  private acked = 0;
  /** The most chunks ever unacknowledged at once (tests check the window holds). */
  unackedPeak = 0;

  constructor(options: OutgoingSnapshotOptions) {
    this.o = options;
    this.to = options.message.to;
    this.transferId = options.transferId;
    this.data = options.message.snapshot.data;
    this.totalBytes = this.data.length;
    this.lastProgressMs = options.nowMs;
  }

  get done(): boolean {
    return this.finished;
  }

  /** Bytes the receiver has acknowledged. */
  get ackedBytes(): number {
    return this.acked;
  }

  /** Sends chunks while the window has room. */
  pump(): void {
    while (!this.finished && this.unacked.length < this.o.windowChunks && (!this.firstSent || this.nextOffset < this.totalBytes)) {
      const offset = this.nextOffset;
      const end = Math.min(this.totalBytes, offset + this.o.chunkBytes);
      const data = this.data.subarray(offset, end);
      this.hash.update(data);
      const last = end === this.totalBytes;
      const m = this.o.message;
      const chunk: SnapshotChunkFrame = {
        type: "snapshotChunk",
        from: m.from,
        to: m.to,
        term: m.term,
        transferId: this.transferId,
        offset,
        totalBytes: this.totalBytes,
        data,
        crc32: crc32(data),
        ...(offset === 0 ? { meta: m.snapshot.meta } : {}),
        ...(last ? { sha256: new Uint8Array(this.hash.digest()) } : {}),
      };
      this.firstSent = true;
      this.nextOffset = end;
      this.unacked.push(end);
      if (this.unacked.length > this.unackedPeak) this.unackedPeak = this.unacked.length;
      const result = this.o.sink(chunk, (written) => {
        if (!written) this.end(false, `chunk at offset ${offset} was dropped before reaching the socket`);
      });
      if (!result.ok) this.end(false, result.why);
    }
  }

  /** An ack from the receiver for this transfer. */
  onAck(ack: SnapshotAckFrame, nowMs: number): void {
    if (this.finished) return;
    if (ack.status === "refused") {
      this.end(false, `refused by the receiver: ${ack.code ?? "?"}${ack.reason ? ` (${ack.reason})` : ""}`);
      return;
    }
    if (ack.received > this.nextOffset || (ack.status === "done" && ack.received !== this.totalBytes)) {
      this.end(false, `receiver acknowledged ${ack.received} bytes (${ack.status}) of ${this.nextOffset} sent, ${this.totalBytes} in all`);
      return;
    }
    let progressed = false;
    while (this.unacked.length > 0 && (this.unacked[0] as number) <= ack.received) {
      // An empty snapshot's only chunk ends at 0: `received` 0 acknowledges it.
      this.unacked.shift();
      progressed = true;
    }
    if (progressed) this.lastProgressMs = nowMs;
    if (ack.received > this.acked) this.acked = ack.received;
    if (ack.status === "done") {
      this.end(true, "delivered");
      return;
    }
    this.pump();
  }

  /** Ends the transfer if the receiver has acknowledged nothing for `stallTimeoutMs`. */
  checkStall(nowMs: number, stallTimeoutMs: number): void {
    if (!this.finished && nowMs - this.lastProgressMs > stallTimeoutMs) {
      this.end(false, `no acknowledgement for ${nowMs - this.lastProgressMs} ms`);
    }
  }

  /** Ends the transfer from outside (connection lost, peer removed, superseded, shutdown). */
  abort(why: string, report = true): void {
    if (this.finished) return;
    if (report) this.end(false, why);
    else this.finished = true;
  }

  private end(ok: boolean, why: string): void {
    if (this.finished) return;
    this.finished = true;
    this.unacked.length = 0;
    this.o.finish(ok, why);
  }
}
