// WsTransport's options: what a caller may set, and their resolution into checked values with the defaults of
// limits.ts applied. Resolved once, at construction, so a bad setting throws there rather than mid-traffic.
import type { IncomingMessage } from "node:http";
import type { Logger } from "pino";
import type { NodeId } from "../raft/types.js";
import { checkBackoffOptions, type BackoffOptions } from "./backoff.js";
import {
  DEFAULT_BACKOFF_INITIAL_MS,
  DEFAULT_BACKOFF_JITTER,
  DEFAULT_BACKOFF_MAX_MS,
  DEFAULT_HANDSHAKE_TIMEOUT_MS,
  DEFAULT_MAX_INCOMING_SNAPSHOT_BYTES,
  DEFAULT_MAX_PAYLOAD_BYTES,
  DEFAULT_PING_INTERVAL_MS,
  DEFAULT_SEND_QUEUE_LIMIT_BYTES,
  DEFAULT_SEND_QUEUE_LIMIT_FRAMES,
  DEFAULT_SNAPSHOT_CHUNK_BYTES,
  DEFAULT_SNAPSHOT_STALL_TIMEOUT_MS,
  DEFAULT_SNAPSHOT_WINDOW_CHUNKS,
  MAX_SNAPSHOT_CHUNK_BYTES,
} from "./limits.js";

/** Which disk each peer runs on (src/node/storage-identity.ts). Without it no storage ids are sent or checked. */
export interface PeerStorageIdentity {
  readonly selfStorageId: string;
  check(peer: NodeId, storageId: string): { readonly verdict: "known" | "first" } | { readonly verdict: "replaced"; readonly known: string };
}

/** TLS between peers (src/tls/node-tls.ts): wss:// dials and, with a CA, client certificates at the upgrade. */
export interface PeerTlsOptions {
  /** What each new outbound dial uses (ca to verify the peer, cert/key to present); asked at every dial, so new
   *  certificates reach new connections after a reload. */
  dialOptions(): { ca?: Buffer; cert?: Buffer; key?: Buffer };
  /** Why an inbound upgrade's client certificate is refused, or null when it is acceptable. */
  peerCertificateProblem(req: IncomingMessage): string | null;
}

export interface WsTransportOptions {
  readonly selfId: NodeId;
  readonly token: string;
  /** Refuse peers whose storage id changed (they lost their disk); send our own. */
  readonly identity?: PeerStorageIdentity;
  /** Peer urls are https:// (wss:// links); absent: plain ws://. */
  readonly tls?: PeerTlsOptions;
  /** Every member's http(s):// base URL; this node's own entry, if present, is ignored. */
  readonly peers: ReadonlyMap<NodeId, string>;
  readonly logger: Logger;
  /** Largest frame accepted or sent (default 16 MiB); bigger outgoing messages are dropped and counted. */
  readonly maxPayloadBytes?: number;
  /** Frames queued per peer before the oldest is dropped (default 1024). */
  readonly sendQueueLimit?: number;
  /** Bytes queued per peer before the oldest frames are dropped (default 64 MiB). */
  readonly sendQueueLimitBytes?: number;
  /** Reconnect backoff (defaults: 50 ms doubling to 2000 ms, 20% jitter). */
  readonly backoff?: Partial<BackoffOptions>;
  /** Ping period; a connection silent for two periods is terminated (default 1000 ms). */
  readonly pingIntervalMs?: number;
  /** Outbound upgrade must complete within this (default 2000 ms). */
  readonly handshakeTimeoutMs?: number;
  /** Snapshot data per chunk frame (default 1 MiB, or maxPayloadBytes / 2 if smaller; at most 8 MiB and below
   *  maxPayloadBytes). */
  readonly snapshotChunkBytes?: number;
  /** Chunks a sender keeps unacknowledged (default 4): bounds its memory and queue to about window × chunk. */
  readonly snapshotWindowChunks?: number;
  /** Cap on the sum of the sizes of incoming snapshots being reassembled, all peers together (default 1 GiB). */
  readonly maxIncomingSnapshotBytes?: number;
  /** A transfer without progress this long is abandoned, on either side (default 10 s; checked every ping
   *  interval). */
  readonly snapshotStallTimeoutMs?: number;
}

/** The numeric settings, checked, with every default filled in. */
export interface ResolvedTransportLimits {
  readonly maxPayloadBytes: number;
  readonly sendQueueLimitFrames: number;
  /** Never below maxPayloadBytes, so one frame of the largest size always fits the queue. */
  readonly sendQueueLimitBytes: number;
  readonly backoff: BackoffOptions;
  readonly handshakeTimeoutMs: number;
  readonly pingIntervalMs: number;
  readonly snapshotChunkBytes: number;
  readonly snapshotWindowChunks: number;
  readonly maxIncomingSnapshotBytes: number;
  readonly snapshotStallTimeoutMs: number;
}

/** Throws a RangeError naming the first bad setting. */
export function resolveTransportLimits(options: WsTransportOptions): ResolvedTransportLimits {
  if (options.token.length === 0) throw new RangeError("WsTransport: token must not be empty");
  const maxPayloadBytes = positiveInt(options.maxPayloadBytes ?? DEFAULT_MAX_PAYLOAD_BYTES, "maxPayloadBytes");
  const sendQueueLimitFrames = positiveInt(options.sendQueueLimit ?? DEFAULT_SEND_QUEUE_LIMIT_FRAMES, "sendQueueLimit");
  const sendQueueLimitBytes = Math.max(
    positiveInt(options.sendQueueLimitBytes ?? DEFAULT_SEND_QUEUE_LIMIT_BYTES, "sendQueueLimitBytes"),
    maxPayloadBytes,
  );
  const backoff: BackoffOptions = {
    initialMs: options.backoff?.initialMs ?? DEFAULT_BACKOFF_INITIAL_MS,
    maxMs: options.backoff?.maxMs ?? DEFAULT_BACKOFF_MAX_MS,
    jitter: options.backoff?.jitter ?? DEFAULT_BACKOFF_JITTER,
  };
  checkBackoffOptions(backoff);
  const handshakeTimeoutMs = positiveInt(options.handshakeTimeoutMs ?? DEFAULT_HANDSHAKE_TIMEOUT_MS, "handshakeTimeoutMs");
  const pingIntervalMs = positiveInt(options.pingIntervalMs ?? DEFAULT_PING_INTERVAL_MS, "pingIntervalMs");
  const snapshotChunkBytes = positiveInt(
    options.snapshotChunkBytes ?? Math.max(1, Math.min(DEFAULT_SNAPSHOT_CHUNK_BYTES, Math.floor(maxPayloadBytes / 2))),
    "snapshotChunkBytes",
  );
  if (snapshotChunkBytes > MAX_SNAPSHOT_CHUNK_BYTES || snapshotChunkBytes >= maxPayloadBytes) {
    throw new RangeError(
      `WsTransport: snapshotChunkBytes ${snapshotChunkBytes} must be at most ${MAX_SNAPSHOT_CHUNK_BYTES} and below maxPayloadBytes ${maxPayloadBytes}`,
    );
  }
  return {
    maxPayloadBytes,
    sendQueueLimitFrames,
    sendQueueLimitBytes,
    backoff,
    handshakeTimeoutMs,
    pingIntervalMs,
    snapshotChunkBytes,
    snapshotWindowChunks: positiveInt(options.snapshotWindowChunks ?? DEFAULT_SNAPSHOT_WINDOW_CHUNKS, "snapshotWindowChunks"),
    snapshotStallTimeoutMs: positiveInt(options.snapshotStallTimeoutMs ?? DEFAULT_SNAPSHOT_STALL_TIMEOUT_MS, "snapshotStallTimeoutMs"),
    maxIncomingSnapshotBytes: positiveInt(options.maxIncomingSnapshotBytes ?? DEFAULT_MAX_INCOMING_SNAPSHOT_BYTES, "maxIncomingSnapshotBytes"),
  };
}

function positiveInt(value: number, name: string): number {
  if (!Number.isSafeInteger(value) || value <= 0) throw new RangeError(`WsTransport: ${name} must be a positive integer, got ${value}`);
  return value;
}
