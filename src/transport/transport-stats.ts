// What WsTransport.stats() reports, per peer and in total, and how one peer's entry is put together.
import type { NodeId } from "../raft/types.js";
import type { PeerCounters, PeerLink } from "./peer-link.js";

export interface PeerLinkStats {
  readonly url: string;
  /** Our outbound connection to the peer is open. */
  readonly connected: boolean;
  /** The peer has an open connection to us. */
  readonly inboundConnected: boolean;
  readonly queued: number;
  readonly queuedBytes: number;
  readonly sent: number;
  readonly bytesSent: number;
  readonly bytesReceived: number;
  readonly dropped: number;
  readonly reconnects: number;
  readonly received: number;
  readonly badFrames: number;
  readonly filtered: number;
  /** The most bytes our outbound link to the peer ever held at once (queued + in the socket, unwritten). */
  readonly heldBytesPeak: number;
  /** Since when (epoch ms) the peer has refused every dial with 403 NOT_A_PEER; null once it accepts one. */
  readonly notAPeerSinceMs: number | null;
  readonly snapshotsSent: number;
  readonly snapshotsFailed: number;
  readonly snapshotsReceived: number;
  readonly snapshotsRefused: number;
  readonly snapshotsInterrupted: number;
  /** The snapshot transfer to the peer in progress, if any. */
  readonly outgoingSnapshot: { readonly transferId: number; readonly ackedBytes: number; readonly totalBytes: number } | null;
  /** The snapshot transfer from the peer in progress, if any. */
  readonly incomingSnapshot: { readonly transferId: number; readonly received: number; readonly totalBytes: number } | null;
}

export interface TransportStats {
  readonly peers: Readonly<Record<NodeId, PeerLinkStats>>;
  /** Messages addressed to no known peer (or to this node), or that failed to encode. */
  readonly unroutable: number;
  /** Upgrade requests on /raft refused (bad token, unknown node, ...). */
  readonly refusedUpgrades: number;
  /** Bytes allocated for incoming snapshots being reassembled, all peers together. */
  readonly incomingSnapshotBytes: number;
}

/** One peer's entry: its outbound link, its counters, and what the inbound side and the transfers know of it. */
export function peerLinkStats(
  link: PeerLink,
  c: PeerCounters,
  elsewhere: Pick<PeerLinkStats, "inboundConnected" | "outgoingSnapshot" | "incomingSnapshot">,
): PeerLinkStats {
  return {
    url: link.baseUrl,
    connected: link.connected,
    inboundConnected: elsewhere.inboundConnected,
    queued: link.queuedFrames,
    queuedBytes: link.queuedBytes,
    sent: c.sent,
    bytesSent: c.bytesSent,
    bytesReceived: c.bytesReceived,
    dropped: c.dropped,
    reconnects: c.reconnects,
    received: c.received,
    badFrames: c.badFrames,
    filtered: c.filtered,
    heldBytesPeak: link.heldBytesPeak,
    notAPeerSinceMs: link.notAPeerSinceMs,
    snapshotsSent: c.snapshotsSent,
    snapshotsFailed: c.snapshotsFailed,
    snapshotsReceived: c.snapshotsReceived,
    snapshotsRefused: c.snapshotsRefused,
    snapshotsInterrupted: c.snapshotsInterrupted,
    outgoingSnapshot: elsewhere.outgoingSnapshot,
    incomingSnapshot: elsewhere.incomingSnapshot,
  };
}
