// GET /v1/watch: a text/event-stream of the task events this node applied (src/node/watch-history.ts), in log
// order, from `since` (or the `Last-Event-ID` a reconnecting client sends) or from now. Each event is
// `id: <index>` + `data: {index,id,state,attempt,worker}`; resuming with the last id seen gives every event
// after it exactly once, on any node that still holds it.
//
// Bounds: at most `maxWatchers` streams per node (503 WATCHERS_FULL beyond); a stream catching up writes only
// while its socket drains; a live stream whose unsent bytes pass `maxBufferedBytes` (a consumer that stopped
// reading) gets a last `event: error` {code: "SLOW_CONSUMER"} and is closed, as is one that fell behind the
// history ring ("COMPACTED"). So a watcher never makes the node hold more than its buffer.
import type { IncomingMessage, ServerResponse } from "node:http";
import { RaftschedError } from "../util/errors.js";
import type { StoredEvent, WatchHistory, WatchSubscriber } from "../node/watch-history.js";
import { sendJson } from "./http-util.js";
import { isDeletion } from "../scheduler/task-events.js";

export type WatchView = Pick<WatchHistory, "floorIndex" | "lastIndex" | "since" | "chunkAfter" | "subscribe">;

export interface WatchLimits {
  readonly maxWatchers: number;
  readonly maxBufferedBytes: number;
  readonly keepAliveMs: number;
  /** How far past the newest index this node knows of a `since` may point (a client resuming on a node that is
   *  a little behind the one it watched before); farther is a client error. */
  readonly sinceSlack: number;
}

export const DEFAULT_WATCH_LIMITS: WatchLimits = { maxWatchers: 256, maxBufferedBytes: 1024 * 1024, keepAliveMs: 15_000, sinceSlack: 1000 };

/** Events per write while catching up (whole indexes only, see WatchHistory.chunkAfter). */
const CATCH_UP_CHUNK_EVENTS = 512;
/** A closed stream's socket is destroyed this long after its last event, if the client has not closed it. */
const CLOSE_GRACE_MS = 2000;

/** The limits, with overrides from the environment (operators, and tests that need a small buffer). */
export function watchLimitsFromEnv(env: NodeJS.ProcessEnv = process.env): WatchLimits {
  const num = (name: string, fallback: number): number => {
    const v = env[name];
    const n = v === undefined ? NaN : Number(v);
    return Number.isSafeInteger(n) && n > 0 ? n : fallback;
  };
  const d = DEFAULT_WATCH_LIMITS;
  return {
    maxWatchers: num("RAFTSCHED_WATCH_MAX_WATCHERS", d.maxWatchers),
    maxBufferedBytes: num("RAFTSCHED_WATCH_MAX_BUFFERED_BYTES", d.maxBufferedBytes),
    keepAliveMs: num("RAFTSCHED_WATCH_KEEPALIVE_MS", d.keepAliveMs),
    sinceSlack: d.sinceSlack,
  };
}

/** Where a stream starts: the index whose successors it sends. Last-Event-ID wins over `since` (a reconnecting
 *  EventSource repeats the original URL and sends the last id it saw). No position: from now. */
export function parseWatchStart(url: URL, lastEventId: string | undefined, newestKnown: number, limits: WatchLimits): number | null {
  const parse = (name: string, raw: string): number => {
    if (!/^\d{1,16}$/.test(raw.trim()) || !Number.isSafeInteger(Number(raw))) throw new RaftschedError("BAD_FIELD", `${name}: must be a log index (a non-negative integer), got "${raw.slice(0, 40)}"`);
    const n = Number(raw);
    if (n > newestKnown + limits.sinceSlack) {
      throw new RaftschedError("BAD_FIELD", `${name}: index ${n} is in the future (this node knows of index ${newestKnown}; at most ${limits.sinceSlack} beyond is accepted)`);
    }
    return n;
  };
  for (const key of url.searchParams.keys()) if (key !== "since") throw new RaftschedError("BAD_FIELD", `${key}: unknown query parameter (watch takes since)`);
  if (lastEventId !== undefined && lastEventId !== "") return parse("Last-Event-ID", lastEventId);
  const since = url.searchParams.get("since");
  return since === null ? null : parse("since", since);
}

export function formatEvent(e: StoredEvent): string {
  // A deletion is a named event: an EventSource's onmessage (task changes) never sees a shape it does not know.
  if (isDeletion(e.event)) return `event: deleted\nid: ${e.event.index}\ndata: ${e.json}\n\n`;
  return `id: ${e.event.index}\ndata: ${e.json}\n\n`;
}

/** One node's watch streams. */
export class WatchServer {
  private open = 0;

  constructor(
    private readonly history: () => WatchView,
    private readonly newestKnown: () => number,
    readonly limits: WatchLimits = watchLimitsFromEnv(),
  ) {}

  get watchers(): number {
    return this.open;
  }

  serve(req: IncomingMessage, res: ServerResponse, url: URL): void {
    const history = this.history();
    const header = req.headers["last-event-id"];
    const start = parseWatchStart(url, Array.isArray(header) ? header[0] : header, Math.max(history.lastIndex, this.newestKnown()), this.limits);
    if (start !== null && start < history.floorIndex) {
      const message = `events after index ${start} are no longer held on this node; the oldest since served is ${history.floorIndex}`;
      sendJson(res, 410, { error: { code: "COMPACTED", message, oldestIndex: history.floorIndex } });
      return;
    }
    if (this.open >= this.limits.maxWatchers) {
      throw new RaftschedError("WATCHERS_FULL", `this node already serves ${this.open} watch streams (the limit); retry later or watch another node`);
    }
    this.open++;
    const conn = new WatchConnection(history, res, this.limits, start ?? history.lastIndex, () => this.open--);
    conn.start();
  }
}

class WatchConnection implements WatchSubscriber {
  private live = false;
  private waitingDrain = false;
  private checkQueued = false;
  private ended = false;
  private unsubscribe: () => void = () => undefined;
  private keepAlive: NodeJS.Timeout | null = null;

  constructor(
    private readonly history: WatchView,
    private readonly res: ServerResponse,
    private readonly limits: WatchLimits,
    private cursor: number,
    private readonly onEnd: () => void,
  ) {}

  start(): void {
    this.res.writeHead(200, { "content-type": "text/event-stream; charset=utf-8", "cache-control": "no-cache", connection: "keep-alive", "x-accel-buffering": "no" });
    this.res.write(`retry: 1000\n: watching events after index ${this.cursor}\n\n`);
    this.res.on("close", () => this.finish());
    this.keepAlive = setInterval(() => this.write(": keep-alive\n\n"), this.limits.keepAliveMs);
    this.keepAlive.unref();
    this.unsubscribe = this.history.subscribe(this);
    this.pump();
  }

  onApplied(): void {
    this.pump();
  }

  onReset(floorIndex: number): void {
    if (this.cursor < floorIndex) this.fail("COMPACTED", `this node restored a snapshot at index ${floorIndex}; events after ${this.cursor} are not all held here`);
  }

  onClose(): void {
    this.fail("SHUTTING_DOWN", `the node is closing; resume on another node with Last-Event-ID ${this.cursor}`);
  }

  /** Writes what is owed: while catching up only as fast as the socket drains, then everything as it applies. */
  private pump(): void {
    while (!this.ended && !this.waitingDrain) {
      const chunk = this.history.chunkAfter(this.cursor, CATCH_UP_CHUNK_EVENTS);
      if (!chunk.ok) {
        this.fail("COMPACTED", `this stream fell behind: events after ${this.cursor} are no longer held (oldest since served: ${chunk.oldestIndex})`);
        return;
      }
      if (chunk.events.length === 0) {
        this.live = true;
        return;
      }
      this.write(chunk.events.map(formatEvent).join(""));
      this.cursor = chunk.events[chunk.events.length - 1]!.event.index;
      if (this.ended) return;
      if (!this.live && this.res.writableLength >= this.limits.maxBufferedBytes / 2) {
        this.waitingDrain = true;
        this.res.once("drain", () => {
          this.waitingDrain = false;
          this.pump();
        });
      }
    }
  }

  private write(text: string): void {
    if (this.ended) return;
    this.res.write(text);
    if (this.live && !this.checkQueued) {
      // Checked after the event loop had a turn to hand the bytes to the kernel: a burst of entries applied in one
      // turn must not cut a consumer that reads; only bytes the socket would not take count.
      this.checkQueued = true;
      setImmediate(() => {
        this.checkQueued = false;
        if (!this.ended && this.res.writableLength > this.limits.maxBufferedBytes) {
          this.fail("SLOW_CONSUMER", `the client read too slowly: more than ${this.limits.maxBufferedBytes} bytes waited to be sent; resume with Last-Event-ID`);
        }
      });
    }
  }

  /** Ends the stream with a last `event: error` naming why (the client resumes with its last id). */
  private fail(code: string, message: string): void {
    if (this.ended) return;
    this.res.write(`event: error\ndata: ${JSON.stringify({ code, message, lastIndex: this.cursor })}\n\n`);
    this.res.end();
    const socket = this.res.socket;
    this.finish();
    // A consumer that stopped reading never takes the end: its socket (and what it buffers) goes after a grace.
    if (socket) setTimeout(() => socket.destroy(), CLOSE_GRACE_MS).unref();
  }

  private finish(): void {
    if (this.ended) return;
    this.ended = true;
    this.unsubscribe();
    if (this.keepAlive) clearInterval(this.keepAlive);
    this.onEnd();
  }
}
