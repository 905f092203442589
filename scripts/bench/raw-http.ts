// A minimal HTTP/1.1 keep-alive client for one request at a time on one persistent socket. A closed-loop
// benchmark client never has two requests in flight, so this skips everything node:http does for the general
// case (agents, header objects, streams): the driver burns less CPU per request on a machine where the driver and
// the three servers share two cores. It understands exactly what raftsched sends: a status line, headers and a
// Content-Length body (no chunked encoding — that is reported as an error, not guessed at).
import net from "node:net";

const MAX_HEADER_BYTES = 16 * 1024;
const MAX_BODY_BYTES = 1024 * 1024;
const HEADER_END = Buffer.from("\r\n\r\n");

export class HttpClientError extends Error {
  constructor(
    readonly code: string,
    message: string,
  ) {
    super(message);
  }
}

export interface RawResponse {
  readonly status: number;
  readonly body: Buffer;
}

interface Pending {
  resolve(r: RawResponse): void;
  reject(e: Error): void;
}

export class RawHttpClient {
  private socket: net.Socket | null = null;
  private pending: Pending | null = null;
  private chunks: Buffer[] = [];
  private buffered = 0;
  private closed = false;

  constructor(
    private readonly host: string,
    private readonly port: number,
    private readonly reqTimeoutMs: number,
    private readonly extraHeaders = "",
  ) {}

  /** Sends one request; rejects if another is in flight on this client. */
  request(method: string, path: string, body?: string): Promise<RawResponse> {
    if (this.closed) return Promise.reject(new HttpClientError("CLIENT_CLOSED", "client closed"));
    if (this.pending) return Promise.reject(new HttpClientError("BUSY", "one request at a time per client"));
    const head =
      `${method} ${path} HTTP/1.1\r\nHost: ${this.host}:${this.port}\r\n${this.extraHeaders}` +
      (body !== undefined ? `Content-Type: application/json\r\nContent-Length: ${Buffer.byteLength(body)}\r\n\r\n${body}` : "\r\n");
    return new Promise<RawResponse>((resolve, reject) => {
      this.pending = { resolve, reject };
      const s = this.socket ?? this.connect();
      s.write(head);
    });
  }

  close(): void {
    this.closed = true;
    this.fail(new HttpClientError("CLIENT_CLOSED", "client closed"));
  }

  private connect(): net.Socket {
    const s = net.connect({ host: this.host, port: this.port, noDelay: true });
    this.socket = s;
    this.chunks = [];
    this.buffered = 0;
    s.setTimeout(this.reqTimeoutMs);
    // Events from a socket this client already dropped must not touch the request on its successor.
    s.on("data", (d: Buffer) => {
      if (this.socket === s) this.onData(d);
    });
    s.on("timeout", () => {
      // An idle keep-alive socket times out too; that only matters while a request waits on it.
      if (this.socket === s && this.pending) this.fail(new HttpClientError("TIMEOUT", `no answer within ${this.reqTimeoutMs} ms`));
    });
    s.on("error", (e: NodeJS.ErrnoException) => {
      if (this.socket === s) this.fail(new HttpClientError(e.code ?? "SOCKET_ERROR", e.message));
    });
    s.on("close", () => {
      if (this.socket === s) this.fail(new HttpClientError("CONNECTION_CLOSED", "connection closed before the answer"));
    });
    return s;
  }

  private fail(err: Error): void {
    const p = this.pending;
    this.pending = null;
    const s = this.socket;
    this.socket = null;
    this.chunks = [];
    this.buffered = 0;
    if (s) s.destroy();
    if (p) p.reject(err);
  }

  private onData(d: Buffer): void {
    if (!this.pending) {
      // Bytes without a request would confuse the next answer's parse: drop the connection instead.
      this.fail(new HttpClientError("UNEXPECTED_BYTES", "data without a request in flight"));
      return;
    }
    this.chunks.push(d);
    this.buffered += d.length;
    const buf = this.chunks.length === 1 ? this.chunks[0]! : Buffer.concat(this.chunks, this.buffered);
    this.chunks = [buf];
    const headerEnd = buf.indexOf(HEADER_END);
    if (headerEnd < 0) {
      if (buf.length > MAX_HEADER_BYTES) this.fail(new HttpClientError("HEADER_TOO_LARGE", `response header over ${MAX_HEADER_BYTES} bytes`));
      return;
    }
    const head = buf.toString("latin1", 0, headerEnd);
    const status = Number(head.slice(9, 12));
    const lenMatch = /\r\ncontent-length:\s*(\d+)/i.exec(head);
    if (!lenMatch) {
      this.fail(new HttpClientError("NO_CONTENT_LENGTH", `answer without Content-Length (status ${status})`));
      return;
    }
    const len = Number(lenMatch[1]);
    if (len > MAX_BODY_BYTES) {
      this.fail(new HttpClientError("BODY_TOO_LARGE", `response body of ${len} bytes`));
      return;
    }
    const bodyStart = headerEnd + 4;
    if (buf.length < bodyStart + len) return;
    const body = buf.subarray(bodyStart, bodyStart + len);
    const p = this.pending;
    this.pending = null;
    this.chunks = [];
    this.buffered = 0;
    if (/\r\nconnection:\s*close/i.test(head) && this.socket) {
      this.socket.destroy();
      this.socket = null;
    }
    p.resolve({ status, body });
  }
}
