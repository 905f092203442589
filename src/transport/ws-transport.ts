// The peer transport: Raft messages between nodes over WebSocket at /raft, on the node's one HTTP port.
//
// Each node SENDS on one outbound client connection per peer (PeerLink) and RECEIVES on the inbound connections
// peers open to it. Inbound connections are authenticated at the upgrade (cluster token + a node id naming a
// known peer) and every frame is decoded and validated; a frame that is invalid, or whose `from` is not the
// authenticated node, closes that connection and is never delivered. Sending never blocks: each peer has a
// bounded queue that drops when full, because Raft retransmits whatever matters.
import type { IncomingMessage, Server } from "node:http";
import type { Duplex } from "node:stream";
import type { Logger } from "pino";
import WebSocket, { WebSocketServer } from "ws";
import type { Message, NodeId } from "../raft/types.js";
import { bearerTokenMatches, peerSocketUrl, presentedNodeId, refuseUpgrade, requestPath, RAFT_PATH } from "./auth.js";
import { checkBackoffOptions, type BackoffOptions } from "./backoff.js";
import { decodeFrame, encodeFrame } from "./codec.js";
import {
  DEFAULT_BACKOFF_INITIAL_MS,
  DEFAULT_BACKOFF_JITTER,
  DEFAULT_BACKOFF_MAX_MS,
  DEFAULT_HANDSHAKE_TIMEOUT_MS,
  DEFAULT_MAX_PAYLOAD_BYTES,
  DEFAULT_PING_INTERVAL_MS,
  DEFAULT_SEND_QUEUE_LIMIT_BYTES,
  DEFAULT_SEND_QUEUE_LIMIT_FRAMES,
  DEFAULT_SOCKET_HIGH_WATER_BYTES,
  MAX_REMEMBERED_REFUSALS,
} from "./limits.js";
import { newPeerCounters, PeerLink, type PeerCounters } from "./peer-link.js";

export interface WsTransportOptions {
  readonly selfId: NodeId;
  readonly token: string;
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
}

export interface TransportStats {
  readonly peers: Readonly<Record<NodeId, PeerLinkStats>>;
  /** Messages addressed to no known peer (or to this node), or that failed to encode. */
  readonly unroutable: number;
  /** Upgrade requests on /raft refused (bad token, unknown node, ...). */
  readonly refusedUpgrades: number;
}

export type MessageHandler = (message: Message) => void;
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

  /** Queues a message for `message.to`. Never blocks and never throws: what cannot be sent is dropped and counted. */
  send(message: Message): void {
    if (this.closed) return;
    const link = this.links.get(message.to);
    const counters = this.counters.get(message.to);
    if (link === undefined || counters === undefined) {
      this.unroutable++;
      this.log.debug({ to: message.to, type: message.type }, "dropping message for unknown peer");
      return;
    }
    if (this.linkFilter !== null && !this.applyFilter(this.selfId, message.to)) {
      counters.filtered++;
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
        logger: this.log,
        counters,
        maxPayloadBytes: this.maxPayloadBytes,
        sendQueueLimitFrames: this.sendQueueLimitFrames,
        sendQueueLimitBytes: this.sendQueueLimitBytes,
        socketHighWaterBytes: DEFAULT_SOCKET_HIGH_WATER_BYTES,
        handshakeTimeoutMs: this.handshakeTimeoutMs,
        backoff: this.backoff,
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
      };
    }
    return { peers, unroutable: this.unroutable, refusedUpgrades: this.refusedUpgrades };
  }

  /** Stops dialling, closes every connection (waiting up to about a second for the close handshakes) and
   *  detaches from the HTTP server. The server itself is the caller's to close. */
  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    clearInterval(this.livenessTimer);
    this.server?.off("upgrade", this.onUpgrade);
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
      return this.refuse(req, socket, 403, `node ${JSON.stringify(peerId)} is not a peer of this node`);
    }
    this.wss.handleUpgrade(req, socket, head, (ws) => this.acceptInbound(ws, peerId, remote));
  };

  private refuse(req: IncomingMessage, socket: Duplex, status: number, why: string): void {
    this.refusedUpgrades++;
    const address = req.socket.remoteAddress ?? "?";
    const key = `${address} ${status}`;
    if (!this.loggedRefusals.has(key)) {
      if (this.loggedRefusals.size >= MAX_REMEMBERED_REFUSALS) this.loggedRefusals.clear();
      this.loggedRefusals.add(key);
      this.log.warn({ remote: address, status }, `refused peer connection: ${why} (logged once per address)`);
    }
    refuseUpgrade(socket, status, why);
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
    }
    this.inbound.set(peerId, conn);
    this.log.info({ peer: peerId, remote }, "peer connected");
    ws.on("message", (data, isBinary) => this.onFrame(conn, data, isBinary));
    ws.on("pong", () => {
      conn.alive = true;
    });
    ws.on("error", (err) => this.log.debug({ peer: peerId, remote, err: err.message }, "inbound peer socket error"));
    ws.on("close", (code) => {
      if (this.inbound.get(peerId) === conn) this.inbound.delete(peerId);
      this.log.debug({ peer: peerId, remote, code }, "peer disconnected");
    });
  }

  private onFrame(conn: InboundConnection, data: WebSocket.RawData, isBinary: boolean): void {
    if (conn.refused) return;
    const counters = this.counters.get(conn.peerId);
    if (counters === undefined) return; // peer removed while frames were in flight; the socket is closing
    conn.alive = true;
    if (!isBinary) return this.refuseFrame(conn, counters, 1003, "TEXT_FRAME", "text frame on a binary protocol");
    const decoded = decodeFrame(toBuffer(data));
    if (!decoded.ok) return this.refuseFrame(conn, counters, 1003, decoded.code, decoded.reason);
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
    counters.received++;
    for (const handler of this.handlers) {
      try {
        handler(message);
      } catch (err) {
        // A handler bug is not the peer's fault: keep the connection, make the bug loud.
        this.log.error({ err, peer: conn.peerId, type: message.type }, "message handler threw");
      }
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
