// Counters for one peer (its outbound link, its inbound connection, snapshot transfers both ways), read by
// WsTransport.stats() and the node's metrics.

/** Counters for one peer, shared by its outbound link and its inbound connection. */
export interface PeerCounters {
  /** Frames written to the outbound socket. */
  sent: number;
  /** Bytes of the frames written to the outbound socket (snapshot chunks included). */
  bytesSent: number;
  /** Bytes of every binary frame the peer's inbound connection carried to us, refused ones included. */
  bytesReceived: number;
  /** Frames dropped on the way out: queue overflow, oversize, link filter, or lost in a closing socket. */
  dropped: number;
  /** Dial attempts after the first one (each follows a failure or a lost connection). */
  reconnects: number;
  /** Frames delivered to the message handler from this peer. */
  received: number;
  /** Inbound frames refused (undecodable, invalid, spoofed `from`, misrouted `to`, text frames). */
  badFrames: number;
  /** Frames dropped by the in-process link filter (chaos tests), either direction. */
  filtered: number;
  /** Snapshot transfers to the peer that it acknowledged as delivered. */
  snapshotsSent: number;
  /** Snapshot transfers to the peer that ended otherwise (refused, connection lost, stalled, dropped). */
  snapshotsFailed: number;
  /** Snapshots from the peer reassembled, verified and handed to the message handlers. */
  snapshotsReceived: number;
  /** Snapshot transfers from the peer refused (bad checksum, out of order, too large). */
  snapshotsRefused: number;
  /** Snapshot transfers from the peer abandoned half-way (connection closed, superseded, stalled). */
  snapshotsInterrupted: number;
}

export function newPeerCounters(): PeerCounters {
  return {
    sent: 0,
    bytesSent: 0,
    bytesReceived: 0,
    dropped: 0,
    reconnects: 0,
    received: 0,
    badFrames: 0,
    filtered: 0,
    snapshotsSent: 0,
    snapshotsFailed: 0,
    snapshotsReceived: 0,
    snapshotsRefused: 0,
    snapshotsInterrupted: 0,
  };
}
