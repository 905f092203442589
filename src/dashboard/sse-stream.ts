// One server-sent-events response (text/event-stream). Bounded: a client that does not read (a phone gone to
// sleep, a stalled proxy) is cut once MAX_SSE_BUFFER_BYTES wait unsent, rather than let the node buffer frames for
// it forever; the page reconnects and starts again from a full frame.
import type { ServerResponse } from "node:http";

export const MAX_SSE_BUFFER_BYTES = 1024 * 1024;
/** How long a browser waits before reconnecting by itself (the page's own failover is faster). */
export const SSE_RETRY_MS = 2_000;

export class SseStream {
  private readonly res: ServerResponse;
  private closed = false;

  constructor(res: ServerResponse, headers: Readonly<Record<string, string>> = {}) {
    this.res = res;
    res.writeHead(200, {
      ...headers,
      "content-type": "text/event-stream; charset=utf-8",
      "cache-control": "no-store",
      // A reverse proxy (nginx) would otherwise hold the frames back until its buffer fills.
      "x-accel-buffering": "no",
    });
    res.write(`retry: ${SSE_RETRY_MS}\n\n`);
    res.once("close", () => {
      this.closed = true;
    });
  }

  get isOpen(): boolean {
    return !this.closed && !this.res.destroyed;
  }

  /** Sends one event; false (and the stream is cut) when the client is gone or too far behind. */
  send(event: string, data: unknown): boolean {
    if (!this.isOpen) return false;
    if (this.res.writableLength > MAX_SSE_BUFFER_BYTES) {
      this.res.destroy();
      return false;
    }
    // JSON.stringify never writes a raw newline, so the whole value is one `data:` line.
    this.res.write(`event: ${event}\ndata: ${JSON.stringify(data)}\n\n`);
    return true;
  }

  onClose(cb: () => void): void {
    if (!this.isOpen) cb();
    else this.res.once("close", cb);
  }

  end(): void {
    if (this.isOpen) this.res.end();
  }
}
