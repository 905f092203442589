// The peer transport: Raft messages between nodes over WebSocket at /raft, on the node's one HTTP port.
//
// Each node SENDS on one outbound client connection per peer (PeerLink) and RECEIVES on the inbound connections
// peers open to it (inbound-peers.ts: upgrade authentication and frame intake). Sending never blocks: each peer
// has a bounded queue that drops when full, because Raft retransmits whatever matters.
//
// Snapshots are the exception to "one Message, one frame": a `snapshot` Message travels as a chunked transfer
// (snapshot-transfers.ts) and is delivered on the other side as one ordinary `snapshot` Message.
//
// This class is the facade: it owns the peer set (links and counters), the liveness timer and the stats, and wires
// the parts together. The chaos link filter is applied by one gate (link-gate.ts) that every frame crosses once.
// Options and their defaults: transport-options.ts.
import type { Server } from "node:http";
import type { Logger } from "pino";
import type { Message, NodeId } from "../raft/types.js";
import { peerSocketUrl } from "./auth.js";
import { encodeFrame } from "./codec.js";
import { InboundPeers } from "./inbound-peers.js";
import { LinkGate, type LinkFilter } from "./link-gate.js";
import { DEFAULT_SOCKET_HIGH_WATER_BYTES } from "./limits.js";
import { newPeerCounters, PeerLink, type PeerCounters } from "./peer-link.js";
import { SnapshotTransfers, type SnapshotSentHandler } from "./snapshot-transfers.js";
import { resolveTransportLimits, type PeerStorageIdentity, type PeerTlsOptions, type ResolvedTransportLimits, type WsTransportOptions } from "./transport-options.js";
import { peerLinkStats, type PeerLinkStats, type TransportStats } from "./transport-stats.js";
import { validateMessage } from "./validate.js";
import { timedStage } from "../util/loop-block-trace.js";

export type { LinkFilter } from "./link-gate.js";
export type { SnapshotSentHandler } from "./snapshot-transfers.js";
export type { PeerStorageIdentity, PeerTlsOptions, WsTransportOptions } from "./transport-options.js";
export type { PeerLinkStats, TransportStats } from "./transport-stats.js";

export type MessageHandler = (message: Message) => void;

export class WsTransport {
  private readonly selfId: NodeId;
  private readonly token: string;
  private readonly identity: PeerStorageIdentity | undefined;
  private readonly tls: PeerTlsOptions | undefined;
  private readonly log: Logger;
  private readonly limits: ResolvedTransportLimits;
  private readonly links = new Map<NodeId, PeerLink>();
  private readonly counters = new Map<NodeId, PeerCounters>();
  private readonly handlers = new Set<MessageHandler>();
  private readonly gate = new LinkGate();
  private readonly snapshots: SnapshotTransfers;
  private readonly inbound: InboundPeers;
  private readonly livenessTimer: NodeJS.Timeout;
  private unroutable = 0;
  private closed = false;

  constructor(options: WsTransportOptions) {
    this.selfId = options.selfId;
    this.token = options.token;
    this.identity = options.identity;
    this.tls = options.tls;
    this.limits = resolveTransportLimits(options);
    this.log = options.logger.child({ component: "transport" });
    const countersOf = (peer: NodeId) => this.counters.get(peer);
    const deliver = (counters: PeerCounters, message: Message) => this.deliver(counters, message);
    this.snapshots = new SnapshotTransfers({
      selfId: this.selfId,
      log: this.log,
      limits: this.limits,
      gate: this.gate,
      linkTo: (peer) => this.links.get(peer),
      countersOf,
      deliver,
    });
    this.inbound = new InboundPeers({
      selfId: this.selfId,
      token: this.token,
      identity: this.identity,
      tls: this.tls,
      log: this.log,
      maxPayloadBytes: this.limits.maxPayloadBytes,
      gate: this.gate,
      snapshots: this.snapshots,
      isPeer: (peer) => this.links.has(peer),
      peerIsUp: (peer) => this.links.get(peer)?.peerIsUp(),
      countersOf,
      deliver,
    });
    this.livenessTimer = setInterval(() => this.checkLiveness(), this.limits.pingIntervalMs);
    this.livenessTimer.unref();
    this.setPeers(options.peers);
  }

  /** Serves /raft upgrades on an existing HTTP server (the node's one port). Other upgrade paths are left to
   *  other listeners; when there are none, they get a 404. */
  attach(server: Server): void {
    this.inbound.attach(server);
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
    return this.snapshots.onSent(handler);
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
      if (message.type === "snapshot") this.snapshots.report(message.to, false);
      return;
    }
    // A snapshot is gated here, before its transfer starts; its chunks are gated again as they go.
    if (!this.gate.passes(this.selfId, message.to, counters)) {
      if (message.type === "snapshot") this.snapshots.report(message.to, false);
      return;
    }
    if (message.type === "snapshot") {
      const checked = validateMessage(message);
      if (checked.ok) return this.snapshots.start(message, link, counters);
      this.unroutable++;
      this.log.error({ to: message.to, type: message.type, reason: checked.reason }, "refusing to send an invalid message");
      this.snapshots.report(message.to, false);
      return;
    }
    const encoded = timedStage("frame encode", () => encodeFrame(message));
    if (!encoded.ok) {
      this.unroutable++;
      this.log.error({ to: message.to, type: message.type, reason: encoded.reason }, "refusing to send an invalid message");
      return;
    }
    const maxPayloadBytes = this.limits.maxPayloadBytes;
    if (encoded.bytes.length > maxPayloadBytes) {
      counters.dropped++;
      this.log.warn({ to: message.to, type: message.type, bytes: encoded.bytes.length, maxPayloadBytes }, "dropping a message larger than maxPayloadBytes");
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
      this.snapshots.peerLinkGone(id, wanted.has(id) ? "the peer's address changed" : "the peer was removed");
      if (!wanted.has(id)) {
        this.counters.delete(id);
        this.inbound.disconnect(id);
        this.log.info({ peer: id }, "peer removed");
      }
    }
    for (const [id, url] of wanted) {
      if (!this.links.has(id)) this.addLink(id, url);
    }
  }

  /** Chaos hook, off by default and reachable only in-process: drops traffic for which the filter returns false
   *  (checked when sending and when receiving). Pass null to heal every link. */
  setLinkFilter(filter: LinkFilter | null): void {
    this.gate.set(filter);
  }

  stats(): TransportStats {
    const peers: Record<NodeId, PeerLinkStats> = {};
    for (const [id, link] of this.links) {
      peers[id] = peerLinkStats(link, this.counters.get(id) ?? newPeerCounters(), {
        inboundConnected: this.inbound.isConnected(id),
        outgoingSnapshot: this.snapshots.outgoingProgress(id),
        incomingSnapshot: this.snapshots.incomingProgress(id),
      });
    }
    return {
      peers,
      unroutable: this.unroutable,
      refusedUpgrades: this.inbound.refusedUpgrades,
      incomingSnapshotBytes: this.snapshots.incomingBytes,
    };
  }

  /** Stops dialling, closes every connection (waiting up to about a second for the close handshakes) and
   *  detaches from the HTTP server. The server itself is the caller's to close. */
  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    clearInterval(this.livenessTimer);
    const inboundClosed = this.inbound.close();
    this.snapshots.close();
    const pending: Promise<void>[] = [inboundClosed];
    for (const link of this.links.values()) pending.push(link.close());
    this.links.clear();
    this.handlers.clear();
    await Promise.all(pending);
  }

  private addLink(id: NodeId, url: string): void {
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
      ...(this.tls ? { tls: this.tls } : {}),
      logger: this.log,
      counters,
      maxPayloadBytes: this.limits.maxPayloadBytes,
      sendQueueLimitFrames: this.limits.sendQueueLimitFrames,
      sendQueueLimitBytes: this.limits.sendQueueLimitBytes,
      socketHighWaterBytes: DEFAULT_SOCKET_HIGH_WATER_BYTES,
      handshakeTimeoutMs: this.limits.handshakeTimeoutMs,
      backoff: this.limits.backoff,
      onConnectionLost: () => this.snapshots.abortOutgoing(id, "the connection to the peer was lost"),
    });
    this.links.set(id, link);
    link.start();
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

  private checkLiveness(): void {
    this.snapshots.checkStalls();
    for (const link of this.links.values()) link.checkLiveness();
    this.inbound.checkLiveness();
  }
}
