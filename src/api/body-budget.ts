// Limits on request bodies taken together, and on how long a request may take to arrive (issue 17 point 4, issue
// 11 point 6). Each body is at most 1 MiB, but 200 clients that each send ~1 MB and stop held 200 MB for up to
// Node's 300 s request timeout; a Content-Length larger than the body was held ~79 s and closed with no answer.
//
// - One budget per process for the bytes buffered across every request body being read: past it a request is
//   refused with 503 OVERLOADED (Retry-After) rather than growing the heap.
// - A body that sends nothing for BODY_IDLE_TIMEOUT_MS, and a head that is not complete within
//   HEADERS_TIMEOUT_MS, are answered 408 REQUEST_TIMEOUT (JSON) and the connection is closed.
import type { ServerOptions } from "node:http";

/** Bytes buffered across all request bodies at once, unless RAFTSCHED_BODY_BUDGET_BYTES says otherwise. */
export const DEFAULT_BODY_BUDGET_BYTES = 64 * 1024 * 1024;
/** A body that sends nothing for this long is abandoned (408). */
export const BODY_IDLE_TIMEOUT_MS = 5_000;
/** A request head must be complete within this long (408). */
export const HEADERS_TIMEOUT_MS = 5_000;
/** The whole request (head and body) must arrive within this long, however it trickles (408). */
export const REQUEST_TIMEOUT_MS = 30_000;
/** How often Node checks the two timeouts above (its default, 30 s, would let them run late by as much). */
const TIMEOUT_CHECK_INTERVAL_MS = 500;

export class BodyBudget {
  private usedBytes = 0;

  constructor(readonly limitBytes: number) {}

  /** Bytes currently held by bodies being read. */
  get bufferedBytes(): number {
    return this.usedBytes;
  }

  /** Takes `bytes` from the budget; false (and nothing taken) when that would pass the limit. */
  tryTake(bytes: number): boolean {
    if (this.usedBytes + bytes > this.limitBytes) return false;
    this.usedBytes += bytes;
    return true;
  }

  give(bytes: number): void {
    this.usedBytes = Math.max(0, this.usedBytes - bytes);
  }
}

function budgetFromEnv(): number {
  const text = process.env.RAFTSCHED_BODY_BUDGET_BYTES;
  const n = text === undefined ? NaN : Number(text);
  return Number.isSafeInteger(n) && n > 0 ? n : DEFAULT_BODY_BUDGET_BYTES;
}

/** The process's budget: every node server in this process reads its bodies against it. */
export const processBodyBudget = new BodyBudget(budgetFromEnv());

/** Options for the node's HTTP server: the head and whole-request timeouts above, checked often enough. */
export function httpServerOptions(): ServerOptions {
  return {
    keepAliveTimeout: 65_000,
    headersTimeout: HEADERS_TIMEOUT_MS,
    requestTimeout: REQUEST_TIMEOUT_MS,
    connectionsCheckingInterval: TIMEOUT_CHECK_INTERVAL_MS,
  };
}

/** The raw answer to a request Node's parser gave up on (bad bytes, an oversized head, a head or request that
 *  timed out), in the contract's JSON error shape; the connection closes after it. */
export function clientErrorAnswer(errCode: string | undefined, detail: string): string {
  const [status, code] =
    errCode === "HPE_HEADER_OVERFLOW"
      ? ["431 Request Header Fields Too Large", "HEADERS_TOO_LARGE"]
      : errCode === "ERR_HTTP_REQUEST_TIMEOUT"
        ? ["408 Request Timeout", "REQUEST_TIMEOUT"]
        : ["400 Bad Request", "BAD_REQUEST"];
  const message =
    code === "REQUEST_TIMEOUT"
      ? `the request did not arrive within ${HEADERS_TIMEOUT_MS} ms (head) or ${REQUEST_TIMEOUT_MS} ms (whole request)`
      : `malformed HTTP request (${detail})`;
  const body = JSON.stringify({ error: { code, message } });
  return `HTTP/1.1 ${status}\r\ncontent-type: application/json\r\ncontent-length: ${Buffer.byteLength(body)}\r\nconnection: close\r\n\r\n${body}`;
}
