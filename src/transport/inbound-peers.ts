// The receiving half of WsTransport: peers' connections in to us at /raft.
//
// A connection is authenticated at the upgrade (cluster token, a node id naming a known peer and, with a storage
// identity, the peer's data dir). Every frame on it is decoded and validated, its `from` must be the
// authenticated node and its `to` this node; a frame that fails closes the connection and is never delivered.
// Whatever passes goes through the link gate once, then to the message handlers or to the snapshot transfers.
import type { IncomingMessage, Server } from "node:http";
import type { Duplex } from "node:stream";
import type { Logger } from "pino";
import WebSocket, { WebSocketServer } from "ws";
import type { Message, NodeId } from "../raft/types.js";
import { bearerTokenMatches } from "../util/bearer.js";
import { OncePerKey } from "../util/once-per-key.js";
import { closeSocket } from "./close-socket.js";
import { NOT_A_PEER_CODE, presentedNodeId, presentedStorageId, refuseUpgrade, requestPath, RAFT_PATH } from "./auth.js";
import { decodePeerFrame } from "./codec.js";
import type { LinkGate } from "./link-gate.js";
import { MAX_REMEMBERED_REFUSALS } from "./limits.js";
import type { PeerCounters } from "./peer-link.js";
import type { SnapshotTransfers } from "./snapshot-transfers.js";
import type { PeerStorageIdentity, PeerTlsOptions } from "./transport-options.js";
import { timedStage } from "../util/loop-block-trace.js";

export interface InboundPeersOptions {
  readonly selfId: NodeId;
  readonly token: string;
  readonly identity: PeerStorageIdentity | undefined;
  readonly tls: PeerTlsOptions | undefined;
  readonly log: Logger;
  readonly maxPayloadBytes: number;
  readonly gate: LinkGate;
  readonly snapshots: SnapshotTransfers;
  /** Whether `peer` is a current member we keep a link to. */
  readonly isPeer: (peer: NodeId) => boolean;
  /** The peer just connected in to us: our own link to it may stop waiting out its backoff. */
  readonly peerIsUp: (peer: NodeId) => void;
  readonly countersOf: (peer: NodeId) => PeerCounters | undefined;
  /** Hands a valid message to the message handlers. */
  readonly deliver: (counters: PeerCounters, message: Message) => void;
}

interface InboundConnection {
  readonly ws: WebSocket;
  readonly peerId: NodeId;
  readonly remote: string;
  alive: boolean;
  /** Set once the connection is being closed for a bad frame: nothing more from it is delivered. */
  refused: boolean;
}

export class InboundPeers {
  private readonly o: InboundPeersOptions;
  private readonly wss: WebSocketServer;
  /** The newest connection from each peer. */
  private readonly connections = new Map<NodeId, InboundConnection>();
  /** Remote address + status pairs already logged, so a misconfigured peer retrying every 2 s logs once. */
  private readonly loggedRefusals = new OncePerKey(MAX_REMEMBERED_REFUSALS);
  private server: Server | null = null;
  private closed = false;
  private refusedUpgradesCount = 0;

  constructor(options: InboundPeersOptions) {
    this.o = options;
    this.wss = new WebSocketServer({ noServer: true, maxPayload: options.maxPayloadBytes, perMessageDeflate: false, clientTracking: false });
  }

  /** Upgrade requests on /raft refused (bad token, unknown node, ...). */
  get refusedUpgrades(): number {
    return this.refusedUpgradesCount;
  }

  attach(server: Server): void {
    if (this.server !== null) throw new Error("WsTransport: already attached to a server");
    this.server = server;
    server.on("upgrade", this.onUpgrade);
  }

  isConnected(peerId: NodeId): boolean {
    return this.connections.has(peerId);
  }

  /** Closes the peer's connection in to us (it is no longer a member). */
  disconnect(peerId: NodeId): void {
    const conn = this.connections.get(peerId);
    if (conn === undefined) return;
    this.connections.delete(peerId);
    conn.ws.close(4001, "no longer a member");
  }

  /** Terminates connections that answered no ping since the last check, and pings the others. */
  checkLiveness(): void {
    for (const conn of this.connections.values()) {
      if (conn.ws.readyState !== WebSocket.OPEN) continue;
      if (!conn.alive) {
        this.o.log.warn({ peer: conn.peerId, remote: conn.remote }, "inbound peer connection unresponsive; terminating");
        conn.ws.terminate();
        continue;
      }
      conn.alive = false;
      conn.ws.ping();
    }
  }

  /** Refuses further upgrades, detaches from the server and closes every connection (waiting up to about a
   *  second for each close handshake). */
  async close(): Promise<void> {
    this.closed = true;
    this.server?.off("upgrade", this.onUpgrade);
    const pending = [...this.connections.values()].map((conn) => closeSocket(conn.ws, 1001, "node shutting down"));
    this.connections.clear();
    await Promise.all(pending);
    this.wss.close();
  }

  private readonly onUpgrade = (req: IncomingMessage, socket: Duplex, head: Buffer): void => {
    if (requestPath(req) !== RAFT_PATH) {
      // Someone else (a dashboard socket, say) may own this path; answer only if nobody else listens.
      if (this.server !== null && this.server.listenerCount("upgrade") === 1) refuseUpgrade(socket, 404, "not found");
      return;
    }
    socket.on("error", () => {}); // a reset during the handshake is the client's problem, not an uncaught error
    const remote = `${req.socket.remoteAddress ?? "?"}:${req.socket.remotePort ?? "?"}`;
    if (this.closed) return this.refuse(req, socket, 503, "node shutting down");
    // Mutual TLS: a peer proves itself with a certificate the cluster's CA signed, then with the token.
    const certProblem = this.o.tls?.peerCertificateProblem(req) ?? null;
    if (certProblem !== null) return this.refuse(req, socket, 403, `peer refused: ${certProblem}`, { code: "PEER_CERT_REFUSED" });
    if (!bearerTokenMatches(req.headers.authorization, this.o.token)) {
      return this.refuse(req, socket, 401, "missing or wrong cluster token");
    }
    const peerId = presentedNodeId(req);
    if (peerId === null) return this.refuse(req, socket, 400, "missing or malformed x-raftsched-node header");
    if (peerId === this.o.selfId || !this.o.isPeer(peerId)) {
      return this.refuse(req, socket, 403, `node ${JSON.stringify(peerId)} is not a peer of this node`, { code: NOT_A_PEER_CODE });
    }
    const storageId = presentedStorageId(req);
    if (storageId === null) return this.refuse(req, socket, 400, "malformed x-raftsched-storage header");
    if (!this.storageIdAccepted(req, socket, peerId, storageId)) return;
    this.wss.handleUpgrade(req, socket, head, (ws) => this.accept(ws, peerId, remote));
  };

  /** False (and the upgrade refused) when the peer comes back on a new data dir. */
  private storageIdAccepted(req: IncomingMessage, socket: Duplex, peerId: NodeId, storageId: string | undefined): boolean {
    const identity = this.o.identity;
    // A peer that sends no storage id (an older version) is not checked: there is nothing to compare.
    if (!identity || storageId === undefined) return true;
    let seen: ReturnType<PeerStorageIdentity["check"]>;
    try {
      seen = identity.check(peerId, storageId);
    } catch (err) {
      this.refuse(req, socket, 503, `cannot record the storage id of ${peerId}: ${(err as Error).message}`);
      return false;
    }
    if (seen.verdict === "replaced") {
      this.refuse(
        req,
        socket,
        409,
        `STORAGE_REPLACED: node ${peerId} runs on a new data dir (storage ${storageId}, known as ${seen.known}); a voter that lost its disk ` +
          `must not vote or acknowledge. Remove it (raftsched member remove ${peerId}), start it with --join, add it back`,
      );
      return false;
    }
    if (seen.verdict === "first") this.o.log.info({ peer: peerId, storageId }, "remembered the peer's storage id");
    return true;
  }

  private refuse(req: IncomingMessage, socket: Duplex, status: number, why: string, json?: { readonly code: string }): void {
    this.refusedUpgradesCount++;
    const address = req.socket.remoteAddress ?? "?";
    const key = `${address} ${status}`;
    if (this.loggedRefusals.first(key)) {
      this.o.log.warn({ remote: address, status }, `refused peer connection: ${why} (logged once per address)`);
    }
    refuseUpgrade(socket, status, why, json);
  }

  private accept(ws: WebSocket, peerId: NodeId, remote: string): void {
    if (this.closed || !this.o.isPeer(peerId)) {
      ws.close(1001, "not accepting connections");
      return;
    }
    const conn: InboundConnection = { ws, peerId, remote, alive: true, refused: false };
    const previous = this.connections.get(peerId);
    if (previous) {
      // The newest connection wins: the old one is most likely half-open after a restart of the peer.
      previous.ws.close(4000, "superseded by a newer connection");
      this.o.snapshots.interruptIncoming(peerId, "superseded by a newer connection");
    }
    this.connections.set(peerId, conn);
    this.o.log.info({ peer: peerId, remote }, "peer connected");
    this.o.peerIsUp(peerId);
    ws.on("message", (data, isBinary) => this.onFrame(conn, data, isBinary));
    ws.on("pong", () => {
      conn.alive = true;
    });
    ws.on("error", (err) => this.o.log.debug({ peer: peerId, remote, err: err.message }, "inbound peer socket error"));
    ws.on("close", (code) => {
      if (this.connections.get(peerId) === conn) {
        this.connections.delete(peerId);
        this.o.snapshots.interruptIncoming(peerId, `connection closed (${code})`);
      }
      this.o.log.debug({ peer: peerId, remote, code }, "peer disconnected");
    });
  }

  /** Frame intake: decode, check sender and addressee, pass the link gate, hand on. */
  private onFrame(conn: InboundConnection, data: WebSocket.RawData, isBinary: boolean): void {
    if (conn.refused) return;
    const counters = this.o.countersOf(conn.peerId);
    if (counters === undefined) return; // peer removed while frames were in flight; the socket is closing
    conn.alive = true;
    if (!isBinary) return this.refuseFrame(conn, counters, 1003, "TEXT_FRAME", "text frame on a binary protocol");
    const bytes = toBuffer(data);
    counters.bytesReceived += bytes.length;
    const decoded = timedStage("frame decode", () => decodePeerFrame(bytes), bytes.length);
    if (!decoded.ok) return this.refuseFrame(conn, counters, 1003, decoded.code, decoded.reason);
    const { from, to } = decoded.kind === "snapshot" ? decoded.frame : decoded.message;
    if (from !== conn.peerId) return this.refuseFrame(conn, counters, 1008, "SPOOFED_FROM", `frame claims from=${JSON.stringify(from)}`);
    if (to !== this.o.selfId) return this.refuseFrame(conn, counters, 1008, "MISROUTED", `frame addressed to ${JSON.stringify(to)}`);
    const passes = this.o.gate.passes(from, this.o.selfId, counters);
    if (decoded.kind === "message") {
      if (passes) this.o.deliver(counters, decoded.message);
    } else if (!passes) {
      this.o.snapshots.onFrameDropped(decoded.frame);
    } else {
      this.o.snapshots.onFrame(counters, decoded.frame, this.connections.get(conn.peerId) === conn);
    }
  }

  private refuseFrame(conn: InboundConnection, counters: PeerCounters, closeCode: 1003 | 1008, code: string, reason: string): void {
    conn.refused = true;
    counters.badFrames++;
    this.o.log.warn({ peer: conn.peerId, remote: conn.remote, code, closeCode, reason }, "closing peer connection: bad frame");
    conn.ws.close(closeCode, code);
  }
}

function toBuffer(data: WebSocket.RawData): Buffer {
  if (Buffer.isBuffer(data)) return data;
  if (Array.isArray(data)) return Buffer.concat(data);
  return Buffer.from(data);
}
