// ReadIndex (dissertation §6.4, etcd's read_only.go, "safe" mode): the leader notes its commit index for a read
// request, confirms it is still leader by a heartbeat round carrying the request's context, and releases the read
// once a quorum acknowledged. Requests are answered in arrival order: a quorum ack for a later context confirms
// every earlier one too.
import type { NodeId } from "./types.js";

export interface PendingRead {
  readonly index: number;
  /** Who asked: the leader itself, or the follower to answer with readIndexResp. */
  readonly from: NodeId;
  readonly context: string;
  readonly acks: Map<NodeId, boolean>;
}

/** Bounds the number of reads awaiting confirmation; beyond it new requests are dropped (callers time out). */
export const MAX_PENDING_READS = 4096;

export class ReadOnly {
  private readonly pending = new Map<string, PendingRead>();
  private readonly queue: string[] = [];

  get size(): number {
    return this.queue.length;
  }

  /** Returns false when the request is dropped (duplicate context or queue full). */
  addRequest(index: number, from: NodeId, context: string): boolean {
    if (this.pending.has(context) || this.queue.length >= MAX_PENDING_READS) return false;
    this.pending.set(context, { index, from, context, acks: new Map() });
    this.queue.push(context);
    return true;
  }

  /** Records an acknowledgement; returns the acks so far, or undefined for an unknown context. */
  recvAck(id: NodeId, context: string): ReadonlyMap<NodeId, boolean> | undefined {
    const p = this.pending.get(context);
    if (!p) return undefined;
    p.acks.set(id, true);
    return p.acks;
  }

  /** Releases every request up to and including `context`, in order. */
  advance(context: string): PendingRead[] {
    const at = this.queue.indexOf(context);
    if (at < 0) return [];
    const released: PendingRead[] = [];
    for (const ctx of this.queue.splice(0, at + 1)) {
      const p = this.pending.get(ctx);
      this.pending.delete(ctx);
      if (p) released.push(p);
    }
    return released;
  }

  lastPendingContext(): string | undefined {
    return this.queue[this.queue.length - 1];
  }

  reset(): void {
    this.pending.clear();
    this.queue.length = 0;
  }
}
