// The peer transport: Raft messages between nodes over WebSocket at /raft, on the node's one HTTP port.
//
// Each node SENDS on one outbound client connection per peer (PeerLink) and RECEIVES on the inbound connections
// peers open to it. Inbound connections are authenticated at the upgrade (cluster token + a node id naming a
// known peer) and every frame is decoded and validated; a frame that is invalid, or whose `from` is not the
// authenticated node, closes that connection and is never delivered. Sending never blocks: each peer has a
// bounded queue that drops when full, because Raft retransmits whatever matters.
//
// Snapshots are the exception to "one Message, one frame": a `snapshot` Message is split into checksummed chunk
// frames paced by the receiver's acks (snapshot-sender.ts), reassembled and verified on the other side
// (snapshot-receiver.ts), and delivered there as one ordinary `snapshot` Message. How each transfer ended is
// reported to onSnapshotSent handlers, for the node to pass on to core.reportSnapshot.
import type { IncomingMessage, Server } from "node:http";
import type { Duplex } from "node:stream";
import type { Logger } from "pino";
import WebSocket, { WebSocketServer } from "ws";
import type { Message, NodeId, SnapshotRequest } from "../raft/types.js";
import { bearerTokenMatches } from "../util/bearer.js";
import { NOT_A_PEER_CODE, peerSocketUrl, presentedNodeId, presentedStorageId, refuseUpgrade, requestPath, RAFT_PATH } from "./auth.js";
import { checkBackoffOptions, type BackoffOptions } from "./backoff.js";
import { decodePeerFrame, encodeFrame, encodeSnapshotFrame } from "./codec.js";
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
  DEFAULT_SOCKET_HIGH_WATER_BYTES,
  MAX_REFUSAL_REASON_CHARS,
  MAX_REMEMBERED_REFUSALS,
  MAX_SNAPSHOT_CHUNK_BYTES,
} from "./limits.js";
import { newPeerCounters, PeerLink, type PeerCounters } from "./peer-link.js";
import type { SnapshotAckFrame, SnapshotChunkFrame, SnapshotTransferFrame } from "./snapshot-frames.js";
import { SnapshotReassembler } from "./snapshot-receiver.js";
import { OutgoingSnapshot } from "./snapshot-sender.js";
import { validateMessage } from "./validate.js";

/** Which disk each peer runs on (src/node/storage-identity.ts). Without it no storage ids are sent or checked. */
export interface PeerStorageIdentity {
  readonly selfStorageId: string;
  check(peer: NodeId, storageId: string): { readonly verdict: "known" | "first" } | { readonly verdict: "replaced"; readonly known: string };
}

export interface WsTransportOptions {
  readonly selfId: NodeId;
  readonly token: string;
  /** Refuse peers whose storage id changed (they lost their disk); send our own. */
  readonly identity?: PeerStorageIdentity;
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

export interface PeerLinkStats {
  readonly url: string;
  /** Our outbound connection to the peer is open. */
  readonly connected: boolean;
  /** The peer has an open connection to us. */
  readonly inboundConnected: boolean;
  readonly queued: number;
  readonly queuedBytes: number;
  readonly sent: number;
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

export type MessageHandler = (message: Message) => void;
/** How a snapshot sent to `to` ended: ok=true once the peer reassembled, verified and handed it to its node;
 *  false when it was refused, the connection dropped, it stalled, or it could not be sent at all. */
export type SnapshotSentHandler = (to: NodeId, ok: boolean) => void;
/** Returns false to drop a message travelling from `from` to `to`. In-process only (chaos tests). */
export type LinkFilter = (from: NodeId, to: NodeId) => boolean;

interface InboundConnection {
  readonly ws: WebSocket;
  readonly peerId: NodeId;
  readonly remote: string;
  alive: boolean;
  /** Set once the connection is being closed for a bad frame: nothing more from it is delivered. */
  refused: boolean;
}

export class WsTransport {
  private readonly selfId: NodeId;
  private readonly token: string;
  private readonly identity: PeerStorageIdentity | undefined;
  private readonly log: Logger;
  private readonly maxPayloadBytes: number;
  private readonly sendQueueLimitFrames: number;
  private readonly sendQueueLimitBytes: number;
  private readonly backoff: BackoffOptions;
  private readonly handshakeTimeoutMs: number;
  private readonly links = new Map<NodeId, PeerLink>();
  private readonly counters = new Map<NodeId, PeerCounters>();
  private readonly inbound = new Map<NodeId, InboundConnection>();
  private readonly handlers = new Set<MessageHandler>();
  private readonly snapshotSentHandlers = new Set<SnapshotSentHandler>();
  private readonly snapshotChunkBytes: number;
  private readonly snapshotWindowChunks: number;
  private readonly snapshotStallTimeoutMs: number;
  /** At most one transfer per peer; a newer snapshot for the same peer supersedes the one in progress. */
  private readonly outgoing = new Map<NodeId, OutgoingSnapshot>();
  private readonly reassembler: SnapshotReassembler;
  private nextTransferId = 1;
  private readonly wss: WebSocketServer;
  private readonly livenessTimer: NodeJS.Timeout;
  /** Remote address + status pairs already logged, so a misconfigured peer retrying every 2 s logs once. */
  private readonly loggedRefusals = new Set<string>();
  private server: Server | null = null;
  private linkFilter: LinkFilter | null = null;
  private unroutable = 0;
  private refusedUpgrades = 0;
  private closed = false;

  constructor(options: WsTransportOptions) {
    this.selfId = options.selfId;
    this.token = options.token;
    this.identity = options.identity;
    if (this.token.length === 0) throw new RangeError("WsTransport: token must not be empty");
    this.log = options.logger.child({ component: "transport" });
    this.maxPayloadBytes = positiveInt(options.maxPayloadBytes ?? DEFAULT_MAX_PAYLOAD_BYTES, "maxPayloadBytes");
    this.sendQueueLimitFrames = positiveInt(options.sendQueueLimit ?? DEFAULT_SEND_QUEUE_LIMIT_FRAMES, "sendQueueLimit");
    this.sendQueueLimitBytes = Math.max(
      positiveInt(options.sendQueueLimitBytes ?? DEFAULT_SEND_QUEUE_LIMIT_BYTES, "sendQueueLimitBytes"),
      this.maxPayloadBytes,
    );
    this.backoff = {
      initialMs: options.backoff?.initialMs ?? DEFAULT_BACKOFF_INITIAL_MS,
      maxMs: options.backoff?.maxMs ?? DEFAULT_BACKOFF_MAX_MS,
      jitter: options.backoff?.jitter ?? DEFAULT_BACKOFF_JITTER,
    };
    checkBackoffOptions(this.backoff);
    this.handshakeTimeoutMs = positiveInt(options.handshakeTimeoutMs ?? DEFAULT_HANDSHAKE_TIMEOUT_MS, "handshakeTimeoutMs");
    const pingIntervalMs = positiveInt(options.pingIntervalMs ?? DEFAULT_PING_INTERVAL_MS, "pingIntervalMs");
    this.snapshotChunkBytes = positiveInt(
      options.snapshotChunkBytes ?? Math.max(1, Math.min(DEFAULT_SNAPSHOT_CHUNK_BYTES, Math.floor(this.maxPayloadBytes / 2))),
      "snapshotChunkBytes",
    );
    if (this.snapshotChunkBytes > MAX_SNAPSHOT_CHUNK_BYTES || this.snapshotChunkBytes >= this.maxPayloadBytes) {
      throw new RangeError(
        `WsTransport: snapshotChunkBytes ${this.snapshotChunkBytes} must be at most ${MAX_SNAPSHOT_CHUNK_BYTES} and below maxPayloadBytes ${this.maxPayloadBytes}`,
      );
    }
    this.snapshotWindowChunks = positiveInt(options.snapshotWindowChunks ?? DEFAULT_SNAPSHOT_WINDOW_CHUNKS, "snapshotWindowChunks");
    this.snapshotStallTimeoutMs = positiveInt(options.snapshotStallTimeoutMs ?? DEFAULT_SNAPSHOT_STALL_TIMEOUT_MS, "snapshotStallTimeoutMs");
    this.reassembler = new SnapshotReassembler({
      maxIncomingBytes: positiveInt(options.maxIncomingSnapshotBytes ?? DEFAULT_MAX_INCOMING_SNAPSHOT_BYTES, "maxIncomingSnapshotBytes"),
    });
    this.wss = new WebSocketServer({
      noServer: true,
      maxPayload: this.maxPayloadBytes,
      perMessageDeflate: false,
      clientTracking: false,
    });
    this.livenessTimer = setInterval(() => this.checkLiveness(), pingIntervalMs);
    this.livenessTimer.unref();
    this.setPeers(options.peers);
  }

  /** Serves /raft upgrades on an existing HTTP server (the node's one port). Other upgrade paths are left to
   *  other listeners; when there are none, they get a 404. */
  attach(server: Server): void {
    if (this.server !== null) throw new Error("WsTransport: already attached to a server");
    this.server = server;
    server.on("upgrade", this.onUpgrade);
  }

  /** Registers a handler for every valid message from a peer; returns a function that unregisters it. */
  onMessage(handler: MessageHandler): () => void {
    this.handlers.add(handler);
    return () => this.handlers.delete(handler);
  }

  /** Registers a handler told how every snapshot sent through `send` ended (exactly once per snapshot, except
   *  one superseded by a newer snapshot to the same peer, or cut short by close()). Never called synchronously
   *  from `send`: always from a later macrotask. Returns a function that unregisters it. */
  onSnapshotSent(handler: SnapshotSentHandler): () => void {
    this.snapshotSentHandlers.add(handler);
    return () => this.snapshotSentHandlers.delete(handler);
  }

  /** Queues a message for `message.to`. Never blocks and never throws: what cannot be sent is dropped and counted.
   *  A `snapshot` message starts a chunked transfer whose outcome goes to the onSnapshotSent handlers. */
  send(message: Message): void {
    if (this.closed) return;
    const link = this.links.get(message.to);
    const counters = this.counters.get(message.to);
    if (link === undefined || counters === undefined) {
      this.unroutable++;
      this.log.debug({ to: message.to, type: message.type }, "dropping message for unknown peer");
      if (message.type === "snapshot") this.reportSnapshot(message.to, false);
      return;
    }
    if (this.linkFilter !== null && !this.applyFilter(this.selfId, message.to)) {
      counters.filtered++;
      if (message.type === "snapshot") this.reportSnapshot(message.to, false);
      return;
    }
    if (message.type === "snapshot") {
      this.sendSnapshot(message, link, counters);
      return;
    }
    const encoded = encodeFrame(message);
    if (!encoded.ok) {
      this.unroutable++;
      this.log.error({ to: message.to, type: message.type, reason: encoded.reason }, "refusing to send an invalid message");
      return;
    }
    if (encoded.bytes.length > this.maxPayloadBytes) {
      counters.dropped++;
      this.log.warn(
        { to: message.to, type: message.type, bytes: encoded.bytes.length, maxPayloadBytes: this.maxPayloadBytes },
        "dropping a message larger than maxPayloadBytes",
      );
      return;
    }
    link.enqueue(encoded.bytes);
  }

  /** Replaces the set of peers (membership changes). New peers are dialled, removed ones disconnected in both
   *  directions; a peer whose URL changed is redialled at the new address. */
  setPeers(peers: ReadonlyMap<NodeId, string>): void {
    if (this.closed) return;
    const wanted = new Map<NodeId, string>();
    for (const [id, url] of peers) {
      if (id === this.selfId) continue;
      peerSocketUrl(url); // throws now, on a bad URL, rather than later in a reconnect loop
      wanted.set(id, url);
    }
    for (const [id, link] of this.links) {
      if (wanted.get(id) === link.baseUrl) continue;
      void link.close();
      this.links.delete(id);
      this.outgoing.get(id)?.abort(wanted.has(id) ? "the peer's address changed" : "the peer was removed");
      if (this.reassembler.discard(id)) this.log.info({ peer: id }, "discarding the snapshot being received from a removed peer");
      if (!wanted.has(id)) {
        this.counters.delete(id);
        const conn = this.inbound.get(id);
        if (conn) {
          this.inbound.delete(id);
          conn.ws.close(4001, "no longer a member");
        }
        this.log.info({ peer: id }, "peer removed");
      }
    }
    for (const [id, url] of wanted) {
      if (this.links.has(id)) continue;
      let counters = this.counters.get(id);
      if (counters === undefined) {
        counters = newPeerCounters();
        this.counters.set(id, counters);
      }
      const link = new PeerLink({
        selfId: this.selfId,
        peerId: id,
        baseUrl: url,
        token: this.token,
        ...(this.identity ? { storageId: this.identity.selfStorageId } : {}),
        logger: this.log,
        counters,
        maxPayloadBytes: this.maxPayloadBytes,
        sendQueueLimitFrames: this.sendQueueLimitFrames,
        sendQueueLimitBytes: this.sendQueueLimitBytes,
        socketHighWaterBytes: DEFAULT_SOCKET_HIGH_WATER_BYTES,
        handshakeTimeoutMs: this.handshakeTimeoutMs,
        backoff: this.backoff,
        onConnectionLost: () => this.outgoing.get(id)?.abort("the connection to the peer was lost"),
      });
      this.links.set(id, link);
      link.start();
    }
  }

  /** Chaos hook, off by default and reachable only in-process: drops traffic for which the filter returns false
   *  (checked when sending and when receiving). Pass null to heal every link. */
  setLinkFilter(filter: LinkFilter | null): void {
    this.linkFilter = filter;
  }

  stats(): TransportStats {
    const peers: Record<NodeId, PeerLinkStats> = {};
    for (const [id, link] of this.links) {
      const c = this.counters.get(id) ?? newPeerCounters();
      peers[id] = {
        url: link.baseUrl,
        connected: link.connected,
        inboundConnected: this.inbound.has(id),
        queued: link.queuedFrames,
        queuedBytes: link.queuedBytes,
        sent: c.sent,
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
        outgoingSnapshot: outgoingProgress(this.outgoing.get(id)),
        incomingSnapshot: this.reassembler.inProgress(id) ?? null,
      };
    }
    return {
      peers,
      unroutable: this.unroutable,
      refusedUpgrades: this.refusedUpgrades,
      incomingSnapshotBytes: this.reassembler.bytesReserved,
    };
  }

  /** Stops dialling, closes every connection (waiting up to about a second for the close handshakes) and
   *  detaches from the HTTP server. The server itself is the caller's to close. */
  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    clearInterval(this.livenessTimer);
    this.server?.off("upgrade", this.onUpgrade);
    for (const transfer of this.outgoing.values()) transfer.abort("shutting down", false);
    this.outgoing.clear();
    this.reassembler.clear();
    this.snapshotSentHandlers.clear();
    const pending: Promise<void>[] = [];
    for (const link of this.links.values()) pending.push(link.close());
    this.links.clear();
    for (const conn of this.inbound.values()) pending.push(closeSocket(conn.ws, 1001, "node shutting down"));
    this.inbound.clear();
    this.handlers.clear();
    await Promise.all(pending);
    this.wss.close();
  }

  // ---- inbound ------------------------------------------------------------------------------------------------

  private readonly onUpgrade = (req: IncomingMessage, socket: Duplex, head: Buffer): void => {
    if (requestPath(req) !== RAFT_PATH) {
      // Someone else (a dashboard socket, say) may own this path; answer only if nobody else listens.
      if (this.server !== null && this.server.listenerCount("upgrade") === 1) refuseUpgrade(socket, 404, "not found");
      return;
    }
    socket.on("error", () => {}); // a reset during the handshake is the client's problem, not an uncaught error
    const remote = `${req.socket.remoteAddress ?? "?"}:${req.socket.remotePort ?? "?"}`;
    if (this.closed) return this.refuse(req, socket, 503, "node shutting down");
    if (!bearerTokenMatches(req.headers.authorization, this.token)) {
      return this.refuse(req, socket, 401, "missing or wrong cluster token");
    }
    const peerId = presentedNodeId(req);
    if (peerId === null) return this.refuse(req, socket, 400, "missing or malformed x-raftsched-node header");
    if (peerId === this.selfId || !this.links.has(peerId)) {
      return this.refuse(req, socket, 403, `node ${JSON.stringify(peerId)} is not a peer of this node`, { code: NOT_A_PEER_CODE });
    }
    const identity = this.identity;
    const storageId = presentedStorageId(req);
    if (storageId === null) return this.refuse(req, socket, 400, "malformed x-raftsched-storage header");
    // A peer that sends no storage id (an older version) is not checked: there is nothing to compare.
    if (identity && storageId !== undefined) {
      let seen: ReturnType<PeerStorageIdentity["check"]>;
      try {
        seen = identity.check(peerId, storageId);
      } catch (err) {
        return this.refuse(req, socket, 503, `cannot record the storage id of ${peerId}: ${(err as Error).message}`);
      }
      if (seen.verdict === "replaced") {
        return this.refuse(
          req,
          socket,
          409,
          `STORAGE_REPLACED: node ${peerId} runs on a new data dir (storage ${storageId}, known as ${seen.known}); a voter that lost its disk ` +
            `must not vote or acknowledge. Remove it (raftsched member remove ${peerId}), start it with --join, add it back`,
        );
      }
      if (seen.verdict === "first") this.log.info({ peer: peerId, storageId }, "remembered the peer's storage id");
    }
    this.wss.handleUpgrade(req, socket, head, (ws) => this.acceptInbound(ws, peerId, remote));
  };

  private refuse(req: IncomingMessage, socket: Duplex, status: number, why: string, json?: { readonly code: string }): void {
    this.refusedUpgrades++;
    const address = req.socket.remoteAddress ?? "?";
    const key = `${address} ${status}`;
    if (!this.loggedRefusals.has(key)) {
      if (this.loggedRefusals.size >= MAX_REMEMBERED_REFUSALS) this.loggedRefusals.clear();
      this.loggedRefusals.add(key);
      this.log.warn({ remote: address, status }, `refused peer connection: ${why} (logged once per address)`);
    }
    refuseUpgrade(socket, status, why, json);
  }

  private acceptInbound(ws: WebSocket, peerId: NodeId, remote: string): void {
    if (this.closed || !this.links.has(peerId)) {
      ws.close(1001, "not accepting connections");
      return;
    }
    const conn: InboundConnection = { ws, peerId, remote, alive: true, refused: false };
    const previous = this.inbound.get(peerId);
    if (previous) {
      // The newest connection wins: the old one is most likely half-open after a restart of the peer.
      previous.ws.close(4000, "superseded by a newer connection");
      this.interruptIncoming(peerId, "superseded by a newer connection");
    }
    this.inbound.set(peerId, conn);
    this.log.info({ peer: peerId, remote }, "peer connected");
    this.links.get(peerId)?.peerIsUp();
    ws.on("message", (data, isBinary) => this.onFrame(conn, data, isBinary));
    ws.on("pong", () => {
      conn.alive = true;
    });
    ws.on("error", (err) => this.log.debug({ peer: peerId, remote, err: err.message }, "inbound peer socket error"));
    ws.on("close", (code) => {
      if (this.inbound.get(peerId) === conn) {
        this.inbound.delete(peerId);
        this.interruptIncoming(peerId, `connection closed (${code})`);
      }
      this.log.debug({ peer: peerId, remote, code }, "peer disconnected");
    });
  }

  private onFrame(conn: InboundConnection, data: WebSocket.RawData, isBinary: boolean): void {
    if (conn.refused) return;
    const counters = this.counters.get(conn.peerId);
    if (counters === undefined) return; // peer removed while frames were in flight; the socket is closing
    conn.alive = true;
    if (!isBinary) return this.refuseFrame(conn, counters, 1003, "TEXT_FRAME", "text frame on a binary protocol");
    const decoded = decodePeerFrame(toBuffer(data));
    if (!decoded.ok) return this.refuseFrame(conn, counters, 1003, decoded.code, decoded.reason);
    if (decoded.kind === "snapshot") return this.onSnapshotFrame(conn, counters, decoded.frame);
    const message = decoded.message;
    if (message.from !== conn.peerId) {
      return this.refuseFrame(conn, counters, 1008, "SPOOFED_FROM", `frame claims from=${JSON.stringify(message.from)}`);
    }
    if (message.to !== this.selfId) {
      return this.refuseFrame(conn, counters, 1008, "MISROUTED", `frame addressed to ${JSON.stringify(message.to)}`);
    }
    if (this.linkFilter !== null && !this.applyFilter(message.from, this.selfId)) {
      counters.filtered++;
      return;
    }
    this.deliver(counters, message);
  }

  private deliver(counters: PeerCounters, message: Message): void {
    counters.received++;
    for (const handler of this.handlers) {
      try {
        handler(message);
      } catch (err) {
        // A handler bug is not the peer's fault: keep the connection, make the bug loud.
        this.log.error({ err, peer: message.from, type: message.type }, "message handler threw");
      }
    }
  }

  // ---- snapshot transfers ---------------------------------------------------------------------------------------

  private sendSnapshot(message: SnapshotRequest, link: PeerLink, counters: PeerCounters): void {
    const to = message.to;
    const checked = validateMessage(message);
    if (!checked.ok) {
      this.unroutable++;
      this.log.error({ to, type: message.type, reason: checked.reason }, "refusing to send an invalid message");
      this.reportSnapshot(to, false);
      return;
    }
    const previous = this.outgoing.get(to);
    if (previous !== undefined) {
      // The core only sends a new snapshot once it has moved on from the previous one: nobody awaits that outcome.
      previous.abort("superseded by a newer snapshot", false);
      counters.snapshotsFailed++;
      this.log.info({ peer: to, transferId: previous.transferId }, "snapshot transfer superseded by a newer snapshot");
    }
    const startedMs = Date.now();
    const transfer: OutgoingSnapshot = new OutgoingSnapshot({
      message,
      transferId: this.nextTransferId++,
      chunkBytes: this.snapshotChunkBytes,
      windowChunks: this.snapshotWindowChunks,
      nowMs: startedMs,
      sink: (chunk, outcome) => {
        if (this.linkFilter !== null && !this.applyFilter(this.selfId, to)) {
          counters.filtered++;
          return { ok: false, why: "dropped by the link filter" };
        }
        const encoded = encodeSnapshotFrame(chunk);
        if (!encoded.ok) return { ok: false, why: `chunk frame refused: ${encoded.reason}` };
        if (encoded.bytes.length > this.maxPayloadBytes) {
          return { ok: false, why: `chunk frame of ${encoded.bytes.length} bytes exceeds maxPayloadBytes ${this.maxPayloadBytes}` };
        }
        link.enqueue(encoded.bytes, outcome);
        return { ok: true };
      },
      finish: (ok, why) => {
        if (this.outgoing.get(to) === transfer) this.outgoing.delete(to);
        const elapsedMs = Date.now() - startedMs;
        const fields = { peer: to, transferId: transfer.transferId, bytes: transfer.totalBytes, ackedBytes: transfer.ackedBytes, elapsedMs };
        if (ok) {
          counters.snapshotsSent++;
          this.log.info({ ...fields, index: message.snapshot.meta.index }, "snapshot delivered");
        } else {
          counters.snapshotsFailed++;
          this.log.warn({ ...fields, reason: why }, "snapshot transfer failed");
        }
        this.reportSnapshot(to, ok);
      },
    });
    this.outgoing.set(to, transfer);
    this.log.info(
      { peer: to, transferId: transfer.transferId, bytes: transfer.totalBytes, index: message.snapshot.meta.index, chunkBytes: this.snapshotChunkBytes },
      "sending snapshot",
    );
    transfer.pump();
  }

  private onSnapshotFrame(conn: InboundConnection, counters: PeerCounters, frame: SnapshotTransferFrame): void {
    if (frame.from !== conn.peerId) {
      return this.refuseFrame(conn, counters, 1008, "SPOOFED_FROM", `frame claims from=${JSON.stringify(frame.from)}`);
    }
    if (frame.to !== this.selfId) {
      return this.refuseFrame(conn, counters, 1008, "MISROUTED", `frame addressed to ${JSON.stringify(frame.to)}`);
    }
    if (this.linkFilter !== null && !this.applyFilter(frame.from, this.selfId)) {
      counters.filtered++;
      // A lost chunk leaves a gap: the transfer cannot complete, so drop it now rather than at the next chunk.
      if (frame.type === "snapshotChunk") this.interruptIncoming(frame.from, "a chunk was dropped by the link filter");
      return;
    }
    if (frame.type === "snapshotAck") return this.onSnapshotAck(frame);
    // Chunks of one transfer must come over one connection: a superseded connection's leftovers are ignored.
    if (this.inbound.get(conn.peerId) !== conn) return;
    this.onSnapshotChunk(counters, frame);
  }

  private onSnapshotChunk(counters: PeerCounters, chunk: SnapshotChunkFrame): void {
    if (chunk.offset === 0) this.interruptIncoming(chunk.from, `superseded by transfer ${chunk.transferId}`);
    const verdict = this.reassembler.accept(chunk, Date.now());
    const ack = { from: this.selfId, to: chunk.from, term: chunk.term, transferId: chunk.transferId, received: verdict.received };
    switch (verdict.kind) {
      case "progress":
        if (chunk.offset === 0) {
          this.log.info({ peer: chunk.from, transferId: chunk.transferId, bytes: chunk.totalBytes }, "receiving snapshot");
        }
        this.sendAck({ type: "snapshotAck", ...ack, status: "receiving" });
        return;
      case "refused":
        counters.snapshotsRefused++;
        this.log.warn(
          { peer: chunk.from, transferId: chunk.transferId, offset: chunk.offset, code: verdict.code, reason: verdict.reason },
          "refusing snapshot transfer",
        );
        this.sendAck({ type: "snapshotAck", ...ack, status: "refused", code: verdict.code, reason: verdict.reason.slice(0, MAX_REFUSAL_REASON_CHARS) });
        return;
      case "complete":
        counters.snapshotsReceived++;
        this.log.info(
          { peer: chunk.from, transferId: chunk.transferId, bytes: chunk.totalBytes, index: verdict.message.snapshot.meta.index },
          "snapshot received and verified",
        );
        this.deliver(counters, verdict.message);
        this.sendAck({ type: "snapshotAck", ...ack, status: "done" });
        return;
    }
  }

  private onSnapshotAck(ack: SnapshotAckFrame): void {
    const transfer = this.outgoing.get(ack.from);
    if (transfer === undefined || transfer.transferId !== ack.transferId) {
      this.log.debug({ peer: ack.from, transferId: ack.transferId, status: ack.status }, "ack for a snapshot transfer no longer in progress");
      return;
    }
    transfer.onAck(ack, Date.now());
  }

  /** Acks travel on our own outbound link to the sender, like any message to it; losing one stalls the transfer
   *  until the sender's stall timeout, which reports it failed. */
  private sendAck(ack: SnapshotAckFrame): void {
    const link = this.links.get(ack.to);
    const counters = this.counters.get(ack.to);
    if (link === undefined || counters === undefined) return;
    if (this.linkFilter !== null && !this.applyFilter(this.selfId, ack.to)) {
      counters.filtered++;
      return;
    }
    const encoded = encodeSnapshotFrame(ack);
    if (!encoded.ok) {
      this.log.error({ to: ack.to, reason: encoded.reason }, "refusing to send an invalid snapshot ack");
      return;
    }
    link.enqueue(encoded.bytes);
  }

  private interruptIncoming(peerId: NodeId, why: string): void {
    const progress = this.reassembler.inProgress(peerId);
    if (progress === undefined || !this.reassembler.discard(peerId)) return;
    const counters = this.counters.get(peerId);
    if (counters) counters.snapshotsInterrupted++;
    this.log.warn({ peer: peerId, ...progress, reason: why }, "discarding an incomplete incoming snapshot");
  }

  private reportSnapshot(to: NodeId, ok: boolean): void {
    // Later, not now: the caller may be inside send(), itself inside the node's handling of a Ready.
    setImmediate(() => {
      if (this.closed) return;
      for (const handler of this.snapshotSentHandlers) {
        try {
          handler(to, ok);
        } catch (err) {
          this.log.error({ err, peer: to }, "snapshot outcome handler threw");
        }
      }
    });
  }

  private checkSnapshotStalls(): void {
    const nowMs = Date.now();
    for (const transfer of [...this.outgoing.values()]) transfer.checkStall(nowMs, this.snapshotStallTimeoutMs);
    for (const expired of this.reassembler.expire(nowMs, this.snapshotStallTimeoutMs)) {
      const counters = this.counters.get(expired.from);
      if (counters) counters.snapshotsInterrupted++;
      this.log.warn({ peer: expired.from, ...expired, stallTimeoutMs: this.snapshotStallTimeoutMs }, "discarding a stalled incoming snapshot");
    }
  }

  private refuseFrame(conn: InboundConnection, counters: PeerCounters, closeCode: 1003 | 1008, code: string, reason: string): void {
    conn.refused = true;
    counters.badFrames++;
    this.log.warn({ peer: conn.peerId, remote: conn.remote, code, closeCode, reason }, "closing peer connection: bad frame");
    conn.ws.close(closeCode, code);
  }

  private applyFilter(from: NodeId, to: NodeId): boolean {
    try {
      return this.linkFilter === null || this.linkFilter(from, to);
    } catch {
      return false;
    }
  }

  private checkLiveness(): void {
    this.checkSnapshotStalls();
    for (const link of this.links.values()) link.checkLiveness();
    for (const conn of this.inbound.values()) {
      if (conn.ws.readyState !== WebSocket.OPEN) continue;
      if (!conn.alive) {
        this.log.warn({ peer: conn.peerId, remote: conn.remote }, "inbound peer connection unresponsive; terminating");
        conn.ws.terminate();
        continue;
      }
      conn.alive = false;
      conn.ws.ping();
    }
  }
}

function outgoingProgress(transfer: OutgoingSnapshot | undefined): PeerLinkStats["outgoingSnapshot"] {
  if (transfer === undefined) return null;
  return { transferId: transfer.transferId, ackedBytes: transfer.ackedBytes, totalBytes: transfer.totalBytes };
}

function toBuffer(data: WebSocket.RawData): Buffer {
  if (Buffer.isBuffer(data)) return data;
  if (Array.isArray(data)) return Buffer.concat(data);
  return Buffer.from(data);
}

function closeSocket(ws: WebSocket, code: number, reason: string): Promise<void> {
  if (ws.readyState === WebSocket.CLOSED) return Promise.resolve();
  return new Promise((resolve) => {
    const done = setTimeout(() => {
      ws.terminate();
      resolve();
    }, 1_000);
    ws.once("close", () => {
      clearTimeout(done);
      resolve();
    });
    ws.close(code, reason);
  });
}

function positiveInt(value: number, name: string): number {
  if (!Number.isSafeInteger(value) || value <= 0) throw new RangeError(`WsTransport: ${name} must be a positive integer, got ${value}`);
  return value;
}
