// Snapshot transfers, both ways, for WsTransport: a `snapshot` Message goes out as checksummed chunk frames paced
// by the receiver's acks (snapshot-sender.ts); chunks coming in are reassembled and verified (snapshot-receiver.ts)
// and delivered as one ordinary `snapshot` Message. How each outgoing transfer ended is reported to the
// onSnapshotSent handlers, for the node to pass on to core.reportSnapshot.
import type { Logger } from "pino";
import type { Message, NodeId, SnapshotRequest } from "../raft/types.js";
import { encodeSnapshotFrame } from "./codec.js";
import type { LinkGate } from "./link-gate.js";
import { MAX_REFUSAL_REASON_CHARS } from "./limits.js";
import type { FrameOutcome, PeerCounters, PeerLink } from "./peer-link.js";
import type { SnapshotAckFrame, SnapshotChunkFrame, SnapshotTransferFrame } from "./snapshot-frames.js";
import { SnapshotReassembler } from "./snapshot-receiver.js";
import { OutgoingSnapshot, type SinkResult } from "./snapshot-sender.js";
import type { ResolvedTransportLimits } from "./transport-options.js";

/** How a snapshot sent to `to` ended: ok=true once the peer reassembled, verified and handed it to its node;
 *  false when it was refused, the connection dropped, it stalled, or it could not be sent at all. */
export type SnapshotSentHandler = (to: NodeId, ok: boolean) => void;

export interface SnapshotTransfersOptions {
  readonly selfId: NodeId;
  readonly log: Logger;
  readonly limits: ResolvedTransportLimits;
  readonly gate: LinkGate;
  /** The current outbound link and counters of a peer (undefined once it was removed). */
  readonly linkTo: (peer: NodeId) => PeerLink | undefined;
  readonly countersOf: (peer: NodeId) => PeerCounters | undefined;
  /** Hands a reassembled snapshot to the message handlers. */
  readonly deliver: (counters: PeerCounters, message: Message) => void;
}

export class SnapshotTransfers {
  private readonly o: SnapshotTransfersOptions;
  /** At most one transfer per peer; a newer snapshot for the same peer supersedes the one in progress. */
  private readonly outgoing = new Map<NodeId, OutgoingSnapshot>();
  private readonly reassembler: SnapshotReassembler;
  private readonly handlers = new Set<SnapshotSentHandler>();
  private nextTransferId = 1;
  private closed = false;

  constructor(options: SnapshotTransfersOptions) {
    this.o = options;
    this.reassembler = new SnapshotReassembler({ maxIncomingBytes: options.limits.maxIncomingSnapshotBytes });
  }

  onSent(handler: SnapshotSentHandler): () => void {
    this.handlers.add(handler);
    return () => this.handlers.delete(handler);
  }

  /** Starts a transfer of a message already checked valid, superseding any transfer in progress to its peer. */
  start(message: SnapshotRequest, link: PeerLink, counters: PeerCounters): void {
    const to = message.to;
    const previous = this.outgoing.get(to);
    if (previous !== undefined) {
      // The core only sends a new snapshot once it has moved on from the previous one: nobody awaits that outcome.
      previous.abort("superseded by a newer snapshot", false);
      counters.snapshotsFailed++;
      this.o.log.info({ peer: to, transferId: previous.transferId }, "snapshot transfer superseded by a newer snapshot");
    }
    const startedMs = Date.now();
    const { snapshotChunkBytes: chunkBytes, snapshotWindowChunks: windowChunks } = this.o.limits;
    const transfer: OutgoingSnapshot = new OutgoingSnapshot({
      message,
      transferId: this.nextTransferId++,
      chunkBytes,
      windowChunks,
      nowMs: startedMs,
      sink: (chunk, outcome) => this.emit(link, counters, chunk, outcome),
      finish: (ok, why) => this.finished(transfer, message, counters, startedMs, ok, why),
    });
    this.outgoing.set(to, transfer);
    this.o.log.info(
      { peer: to, transferId: transfer.transferId, bytes: transfer.totalBytes, index: message.snapshot.meta.index, chunkBytes },
      "sending snapshot",
    );
    transfer.pump();
  }

  /** A snapshot frame from the peer of `counters`, its sender and addressee checked, past the link gate.
   *  `onCurrentConnection`: it came over the peer's newest inbound connection. */
  onFrame(counters: PeerCounters, frame: SnapshotTransferFrame, onCurrentConnection: boolean): void {
    if (frame.type === "snapshotAck") return this.onAck(frame);
    // Chunks of one transfer must come over one connection: a superseded connection's leftovers are ignored.
    if (!onCurrentConnection) return;
    this.onChunk(counters, frame);
  }

  /** A snapshot frame the link gate dropped. */
  onFrameDropped(frame: SnapshotTransferFrame): void {
    // A lost chunk leaves a gap: the transfer cannot complete, so drop it now rather than at the next chunk.
    if (frame.type === "snapshotChunk") this.interruptIncoming(frame.from, "a chunk was dropped by the link filter");
  }

  /** Discards the half-received snapshot from `peerId`, if any (its connection closed or was superseded). */
  interruptIncoming(peerId: NodeId, why: string): void {
    const progress = this.reassembler.inProgress(peerId);
    if (progress === undefined || !this.reassembler.discard(peerId)) return;
    const counters = this.o.countersOf(peerId);
    if (counters) counters.snapshotsInterrupted++;
    this.o.log.warn({ peer: peerId, ...progress, reason: why }, "discarding an incomplete incoming snapshot");
  }

  /** The peer's link was replaced or removed: both its transfers are over. */
  peerLinkGone(peerId: NodeId, why: string): void {
    this.abortOutgoing(peerId, why);
    if (this.reassembler.discard(peerId)) this.o.log.info({ peer: peerId }, "discarding the snapshot being received from a removed peer");
  }

  abortOutgoing(peerId: NodeId, why: string): void {
    this.outgoing.get(peerId)?.abort(why);
  }

  /** Tells the handlers how a snapshot to `to` ended. */
  report(to: NodeId, ok: boolean): void {
    // Later, not now: the caller may be inside send(), itself inside the node's handling of a Ready.
    setImmediate(() => {
      if (this.closed) return;
      for (const handler of this.handlers) {
        try {
          handler(to, ok);
        } catch (err) {
          this.o.log.error({ err, peer: to }, "snapshot outcome handler threw");
        }
      }
    });
  }

  /** Abandons transfers, either way, without progress for the stall timeout. */
  checkStalls(): void {
    const nowMs = Date.now();
    const stallTimeoutMs = this.o.limits.snapshotStallTimeoutMs;
    for (const transfer of [...this.outgoing.values()]) transfer.checkStall(nowMs, stallTimeoutMs);
    for (const expired of this.reassembler.expire(nowMs, stallTimeoutMs)) {
      const counters = this.o.countersOf(expired.from);
      if (counters) counters.snapshotsInterrupted++;
      this.o.log.warn({ peer: expired.from, ...expired, stallTimeoutMs }, "discarding a stalled incoming snapshot");
    }
  }

  outgoingProgress(peerId: NodeId): { readonly transferId: number; readonly ackedBytes: number; readonly totalBytes: number } | null {
    const transfer = this.outgoing.get(peerId);
    if (transfer === undefined) return null;
    return { transferId: transfer.transferId, ackedBytes: transfer.ackedBytes, totalBytes: transfer.totalBytes };
  }

  incomingProgress(peerId: NodeId): { readonly transferId: number; readonly received: number; readonly totalBytes: number } | null {
    return this.reassembler.inProgress(peerId) ?? null;
  }

  /** Bytes allocated for incoming snapshots being reassembled, all peers together. */
  get incomingBytes(): number {
    return this.reassembler.bytesReserved;
  }

  /** Drops every transfer without reporting it; no handler is called after this. */
  close(): void {
    this.closed = true;
    for (const transfer of this.outgoing.values()) transfer.abort("shutting down", false);
    this.outgoing.clear();
    this.reassembler.clear();
    this.handlers.clear();
  }

  private finished(transfer: OutgoingSnapshot, message: SnapshotRequest, counters: PeerCounters, startedMs: number, ok: boolean, why: string): void {
    const to = message.to;
    if (this.outgoing.get(to) === transfer) this.outgoing.delete(to);
    const elapsedMs = Date.now() - startedMs;
    const fields = { peer: to, transferId: transfer.transferId, bytes: transfer.totalBytes, ackedBytes: transfer.ackedBytes, elapsedMs };
    if (ok) {
      counters.snapshotsSent++;
      this.o.log.info({ ...fields, index: message.snapshot.meta.index }, "snapshot delivered");
    } else {
      counters.snapshotsFailed++;
      this.o.log.warn({ ...fields, reason: why }, "snapshot transfer failed");
    }
    this.report(to, ok);
  }

  private onChunk(counters: PeerCounters, chunk: SnapshotChunkFrame): void {
    if (chunk.offset === 0) this.interruptIncoming(chunk.from, `superseded by transfer ${chunk.transferId}`);
    const verdict = this.reassembler.accept(chunk, Date.now());
    const ack = { from: this.o.selfId, to: chunk.from, term: chunk.term, transferId: chunk.transferId, received: verdict.received };
    switch (verdict.kind) {
      case "progress":
        if (chunk.offset === 0) {
          this.o.log.info({ peer: chunk.from, transferId: chunk.transferId, bytes: chunk.totalBytes }, "receiving snapshot");
        }
        this.sendAck({ type: "snapshotAck", ...ack, status: "receiving" });
        return;
      case "refused":
        counters.snapshotsRefused++;
        this.o.log.warn(
          { peer: chunk.from, transferId: chunk.transferId, offset: chunk.offset, code: verdict.code, reason: verdict.reason },
          "refusing snapshot transfer",
        );
        this.sendAck({ type: "snapshotAck", ...ack, status: "refused", code: verdict.code, reason: verdict.reason.slice(0, MAX_REFUSAL_REASON_CHARS) });
        return;
      case "complete":
        counters.snapshotsReceived++;
        this.o.log.info(
          { peer: chunk.from, transferId: chunk.transferId, bytes: chunk.totalBytes, index: verdict.message.snapshot.meta.index },
          "snapshot received and verified",
        );
        this.o.deliver(counters, verdict.message);
        this.sendAck({ type: "snapshotAck", ...ack, status: "done" });
        return;
    }
  }

  private onAck(ack: SnapshotAckFrame): void {
    const transfer = this.outgoing.get(ack.from);
    if (transfer === undefined || transfer.transferId !== ack.transferId) {
      this.o.log.debug({ peer: ack.from, transferId: ack.transferId, status: ack.status }, "ack for a snapshot transfer no longer in progress");
      return;
    }
    transfer.onAck(ack, Date.now());
  }

  /** Acks travel on our own outbound link to the sender, like any message to it; losing one stalls the transfer
   *  until the sender's stall timeout, which reports it failed. */
  private sendAck(ack: SnapshotAckFrame): void {
    const link = this.o.linkTo(ack.to);
    const counters = this.o.countersOf(ack.to);
    if (link === undefined || counters === undefined) return;
    const sent = this.emit(link, counters, ack);
    if (!sent.ok && sent.invalid !== undefined) this.o.log.error({ to: ack.to, reason: sent.invalid }, "refusing to send an invalid snapshot ack");
  }

  /** The one way a snapshot frame (chunk or ack) leaves this node: through the link gate, encoded, queued. */
  private emit(link: PeerLink, counters: PeerCounters, frame: SnapshotTransferFrame, outcome?: FrameOutcome): SinkResult & { readonly invalid?: string } {
    if (!this.o.gate.passes(this.o.selfId, frame.to, counters)) return { ok: false, why: "dropped by the link filter" };
    const encoded = encodeSnapshotFrame(frame);
    if (!encoded.ok) return { ok: false, why: `chunk frame refused: ${encoded.reason}`, invalid: encoded.reason };
    // Acks are a few dozen bytes; only chunks can come near the limit.
    const maxPayloadBytes = this.o.limits.maxPayloadBytes;
    if (frame.type === "snapshotChunk" && encoded.bytes.length > maxPayloadBytes) {
      return { ok: false, why: `chunk frame of ${encoded.bytes.length} bytes exceeds maxPayloadBytes ${maxPayloadBytes}` };
    }
    link.enqueue(encoded.bytes, outcome);
    return { ok: true };
  }
}
