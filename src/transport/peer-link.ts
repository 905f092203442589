// One outbound link: this node's client connection to one peer, its bounded send queue, and its reconnect loop.
//
// Raft tolerates loss, so nothing here ever blocks or grows without bound: a full queue drops its OLDEST frame
// (the newest heartbeats/appends carry the freshest term and commit index, and the leader retransmits anything
// older anyway), and a socket that is slow to drain simply stops taking frames from the queue until it catches up.
import { refusalAdvice, type RefusalAdvice } from "./refusal-advice.js";
import type { IncomingMessage } from "node:http";
import type { Logger } from "pino";
import WebSocket from "ws";
import type { NodeId } from "../raft/types.js";
import { NODE_ID_HEADER, NOT_A_PEER_CODE, peerSocketUrl, STORAGE_ID_HEADER } from "./auth.js";
import { backoffDelayMs, type BackoffOptions } from "./backoff.js";
import { MAX_UPGRADE_REFUSAL_CHARS } from "./limits.js";
import type { PeerTlsOptions } from "./transport-options.js";
import { closeSocket } from "./close-socket.js";

export { newPeerCounters, type PeerCounters } from "./peer-counters.js";
import type { PeerCounters } from "./peer-counters.js";

export interface PeerLinkOptions {
  readonly selfId: NodeId;
  readonly peerId: NodeId;
  /** The peer's http(s):// base URL. */
  readonly baseUrl: string;
  readonly token: string;
  /** This node's storage id, sent at every dial so the peer can tell a node that lost its disk. */
  readonly storageId?: string;
  /** wss:// dials: the CA and our certificate, asked anew at each dial. */
  readonly tls?: Pick<PeerTlsOptions, "dialOptions">;
  readonly logger: Logger;
  readonly counters: PeerCounters;
  readonly maxPayloadBytes: number;
  readonly sendQueueLimitFrames: number;
  readonly sendQueueLimitBytes: number;
  readonly socketHighWaterBytes: number;
  readonly handshakeTimeoutMs: number;
  readonly backoff: BackoffOptions;
  /** Called when an open connection is lost (not on failed dials, not on close()). Snapshot transfers in flight
   *  on it are over: the receiver discards a transfer whose connection closed. */
  readonly onConnectionLost?: () => void;
}

/** Told once whether a frame reached the socket (true) or was dropped (false: overflow, close, write error). */
export type FrameOutcome = (written: boolean) => void;

type LinkState = "idle" | "connecting" | "open" | "waiting" | "closed";

export class PeerLink {
  readonly peerId: NodeId;
  readonly baseUrl: string;
  private readonly o: PeerLinkOptions;
  private readonly socketUrl: string;
  private readonly log: Logger;
  private state: LinkState = "idle";
  private ws: WebSocket | null = null;
  private reconnectTimer: NodeJS.Timeout | null = null;
  /** Consecutive failed dials (or lost connections) since the last successful open. */
  private failures = 0;
  private dialed = false;
  /** Answered a ping since the last liveness check. */
  private alive = false;
  private lastProblem = "";
  private readonly queue = new FrameQueue();
  private inFlightBytes = 0;
  private heldBytesPeakValue = 0;
  /** Since when every dial was refused with 403 NOT_A_PEER (the peer does not count us as a member); null once a
   *  dial is accepted or refused otherwise. */
  notAPeerSinceMs: number | null = null;

  constructor(options: PeerLinkOptions) {
    this.o = options;
    this.peerId = options.peerId;
    this.baseUrl = options.baseUrl;
    this.socketUrl = peerSocketUrl(options.baseUrl);
    this.log = options.logger.child({ peer: options.peerId });
  }

  get connected(): boolean {
    return this.state === "open";
  }

  get queuedFrames(): number {
    return this.queue.length;
  }

  get queuedBytes(): number {
    return this.queue.bytes;
  }

  /** The most bytes this link ever held at once: queued plus handed to the socket and not yet written. */
  get heldBytesPeak(): number {
    return this.heldBytesPeakValue;
  }

  start(): void {
    if (this.state === "idle") this.dial();
  }

  /** Queues one encoded frame; never blocks. `outcome`, if given, is told later whether the frame was written. */
  enqueue(frame: Buffer, outcome?: FrameOutcome): void {
    if (this.state === "closed") {
      this.o.counters.dropped++;
      if (outcome) queueMicrotask(() => outcome(false));
      return;
    }
    while (
      this.queue.length > 0 &&
      (this.queue.length >= this.o.sendQueueLimitFrames || this.queue.bytes + frame.length > this.o.sendQueueLimitBytes)
    ) {
      this.dropped(this.queue.shift());
    }
    this.queue.push({ bytes: frame, outcome });
    this.noteHeld();
    if (this.state === "open") this.drain();
  }

  /** Called periodically: a socket that did not answer the previous ping is dead (half-open TCP); drop it. */
  /** The peer just connected in to us, so it is up now: a link waiting out its backoff (grown while the peer was
   *  down or restarting) dials at once, and the backoff starts over. A restarted node used to wait up to the
   *  maximum backoff (~1-2 s) for the leader's link, which widened later election windows (issue #18 item 4). */
  peerIsUp(): void {
    this.failures = 0;
    if (this.state !== "waiting" || this.reconnectTimer === null) return;
    clearTimeout(this.reconnectTimer);
    this.reconnectTimer = null;
    this.dial();
  }

  checkLiveness(): void {
    const ws = this.ws;
    if (this.state !== "open" || ws === null) return;
    if (!this.alive) {
      this.log.warn({ url: this.socketUrl }, "peer link unresponsive (no pong); reconnecting");
      ws.terminate();
      return;
    }
    this.alive = false;
    ws.ping();
  }

  close(): Promise<void> {
    if (this.state === "closed") return Promise.resolve();
    this.state = "closed";
    if (this.reconnectTimer) clearTimeout(this.reconnectTimer);
    this.reconnectTimer = null;
    while (this.queue.length > 0) this.dropped(this.queue.shift());
    const ws = this.ws;
    this.ws = null;
    if (ws === null) return Promise.resolve();
    return closeSocket(ws, 1001, "node shutting down");
  }

  private dial(): void {
    if (this.dialed) this.o.counters.reconnects++;
    this.dialed = true;
    this.state = "connecting";
    const ws = new WebSocket(this.socketUrl, {
      headers: {
        authorization: `Bearer ${this.o.token}`,
        [NODE_ID_HEADER]: this.o.selfId,
        ...(this.o.storageId ? { [STORAGE_ID_HEADER]: this.o.storageId } : {}),
      },
      maxPayload: this.o.maxPayloadBytes,
      perMessageDeflate: false,
      // A zero mask (valid: the key is arbitrary) makes ws skip XOR-ing every byte we send. Masking guards HTTP
      // intermediaries against scripts in browsers; a peer link has neither, and masking a 1 MiB append cost ~13 ms of
      // CPU per follower in one turn on a loaded box (issue 14.3, profile of large-submit-under-load).
      generateMask: (mask: Buffer) => void mask.fill(0),
      handshakeTimeout: this.o.handshakeTimeoutMs,
      followRedirects: false,
      ...this.o.tls?.dialOptions(),
    });
    this.ws = ws;
    ws.on("open", () => {
      if (this.ws !== ws) return;
      this.state = "open";
      this.alive = true;
      this.failures = 0;
      this.lastProblem = "";
      this.notAPeerSinceMs = null;
      this.log.info({ url: this.socketUrl }, "peer link connected");
      this.drain();
    });
    ws.on("pong", () => {
      this.alive = true;
    });
    // This node sends on its outbound links and receives on inbound ones; the peer never talks back here.
    ws.on("message", () => {
      if (this.ws !== ws) return;
      this.log.warn({ url: this.socketUrl }, "peer sent a frame on our outbound link; closing it");
      ws.close(1008, "unexpected frame on outbound link");
    });
    let refused = false;
    ws.on("unexpected-response", (_req, res) => {
      refused = true;
      this.readRefusal(ws, res);
    });
    ws.on("error", (err) => {
      if (!refused) this.noteProblem(err.message);
    });
    ws.on("close", (code, reason) => this.onClose(ws, code, reason));
  }

  /** A refused upgrade: log the peer's reason (its answer body), not just the status ws reports. */
  private readRefusal(ws: WebSocket, res: IncomingMessage): void {
    let body = "";
    res.setEncoding("utf8");
    res.on("data", (chunk: string) => {
      if (body.length < MAX_UPGRADE_REFUSAL_CHARS) body += chunk;
    });
    const done = () => {
      const reason = body.trim().slice(0, MAX_UPGRADE_REFUSAL_CHARS);
      this.noteRefusal(res.statusCode, body);
      this.noteProblem(`refused with HTTP ${res.statusCode ?? "?"}: ${reason}`, refusalAdvice(res.statusCode, reason, this.o.selfId));
      ws.terminate();
    };
    res.on("end", done);
    res.on("error", done);
  }

  /** The socket closed (after opening or not): wait out the backoff, then dial again. */
  private onClose(ws: WebSocket, code: number, reason: Buffer): void {
    if (this.ws !== ws) return;
    this.ws = null;
    this.inFlightBytes = 0;
    if (this.state === "closed") return;
    const wasOpen = this.state === "open";
    if (this.state === "open") this.noteProblem(`connection closed (${code}${reason.length ? ` ${reason.toString()}` : ""})`);
    this.state = "waiting";
    this.failures++;
    const delayMs = backoffDelayMs(this.o.backoff, this.failures);
    this.reconnectTimer = setTimeout(() => {
      this.reconnectTimer = null;
      if (this.state === "waiting") this.dial();
    }, delayMs);
    if (wasOpen) {
      // Frames with an outcome belong to a snapshot transfer, which the receiver discarded with the connection:
      // sending them on the next one would only get them refused.
      for (const item of this.queue.removeWhere((f) => f.outcome !== undefined)) this.dropped(item);
      this.o.onConnectionLost?.();
    }
  }

  /** Moves frames from our queue into the socket while the socket's unwritten backlog stays under the mark. */
  private drain(): void {
    const ws = this.ws;
    while (this.state === "open" && ws !== null && this.queue.length > 0 && this.inFlightBytes < this.o.socketHighWaterBytes) {
      const item = this.queue.shift() as QueuedFrame;
      const size = item.bytes.length;
      this.inFlightBytes += size;
      this.noteHeld();
      ws.send(item.bytes, { binary: true }, (err) => {
        if (this.ws === ws) this.inFlightBytes -= size;
        if (err) {
          this.o.counters.dropped++;
          item.outcome?.(false);
          return;
        }
        this.o.counters.sent++;
        this.o.counters.bytesSent += size;
        item.outcome?.(true);
        if (this.ws === ws && this.queue.length > 0) this.drain();
      });
    }
  }

  private dropped(item: QueuedFrame | undefined): void {
    if (item === undefined) return;
    this.o.counters.dropped++;
    // Deferred: the owner of the outcome may be in the middle of enqueueing (or of closing) right now.
    if (item.outcome) {
      const outcome = item.outcome;
      queueMicrotask(() => outcome(false));
    }
  }

  private noteHeld(): void {
    const held = this.queue.bytes + this.inFlightBytes;
    if (held > this.heldBytesPeakValue) this.heldBytesPeakValue = held;
  }

  private noteRefusal(status: number | undefined, body: string): void {
    // A peer of an older version answers in plain text: its wording says the same.
    const notAPeer = status === 403 && (body.includes(`"code":"${NOT_A_PEER_CODE}"`) || body.includes("is not a peer"));
    if (!notAPeer) this.notAPeerSinceMs = null;
    else this.notAPeerSinceMs ??= Date.now();
  }

  /** Logs a failure once when it starts or changes, not on every retry of the same failure. */
  private noteProblem(problem: string, advice: RefusalAdvice | null = null): void {
    if (this.state === "closed") return;
    if (problem === this.lastProblem) {
      this.log.debug({ url: this.socketUrl, failures: this.failures }, `peer link still failing: ${problem}`);
      return;
    }
    this.lastProblem = problem;
    if (advice) this.log.error({ url: this.socketUrl, failures: this.failures, code: advice.code }, `peer link down: ${problem} — ${advice.hint}`);
    else this.log.warn({ url: this.socketUrl, failures: this.failures }, `peer link down: ${problem}`);
  }
}

interface QueuedFrame {
  readonly bytes: Buffer;
  readonly outcome: FrameOutcome | undefined;
}

/** A FIFO of frames with O(1) push/shift and a running byte count. */
class FrameQueue {
  private items: (QueuedFrame | undefined)[] = [];
  private head = 0;
  bytes = 0;

  get length(): number {
    return this.items.length - this.head;
  }

  push(frame: QueuedFrame): void {
    this.items.push(frame);
    this.bytes += frame.bytes.length;
  }

  shift(): QueuedFrame | undefined {
    if (this.head >= this.items.length) return undefined;
    const frame = this.items[this.head];
    this.items[this.head] = undefined;
    this.head++;
    if (frame) this.bytes -= frame.bytes.length;
    // Compact now and then so the array does not grow forever behind the head.
    if (this.head >= 1024 && this.head * 2 >= this.items.length) {
      this.items = this.items.slice(this.head);
      this.head = 0;
    }
    return frame;
  }

  /** Removes (and returns) the frames matching `predicate`, keeping the others in order. */
  removeWhere(predicate: (frame: QueuedFrame) => boolean): QueuedFrame[] {
    const removed: QueuedFrame[] = [];
    const kept: QueuedFrame[] = [];
    for (let i = this.head; i < this.items.length; i++) {
      const item = this.items[i];
      if (item === undefined) continue;
      if (predicate(item)) {
        removed.push(item);
        this.bytes -= item.bytes.length;
      } else {
        kept.push(item);
      }
    }
    if (removed.length > 0) {
      this.items = kept;
      this.head = 0;
    }
    return removed;
  }
}
