// Fuzz harness: one real node process (the compiled CLI, `raftsched start`) on loopback, plus a raw HTTP/1.1
// client on a plain TCP socket. The raw client is deliberate: node:http and fetch refuse or normalise exactly the
// inputs a fuzzer wants to send (unicode and `..` in paths, lying content-length, odd header values), so we write
// the request bytes ourselves and parse whatever comes back. Every request has a deadline: no answer in time is a
// hang, which the tests report as a failure.
import { connect } from "node:net";
import path from "node:path";
import { fileURLToPath } from "node:url";
import { ProcessCluster } from "../../src/process-cluster/process-cluster.js";

export const REPO_ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), "..", "..");

/** The statuses the HTTP API may answer (README, "HTTP API") (504 only for calls that wait on a commit or an election). */
export const CONTRACT_STATUSES: ReadonlySet<number> = new Set([200, 201, 400, 401, 404, 405, 409, 413, 431, 503, 504]);


export interface FuzzNodeOptions {
  /** Member ids in the cluster file; only `runId` is started. Default ["n1"]. */
  readonly memberIds?: readonly string[];
  readonly runId?: string;
  readonly token?: string;
}

/** One running node process of a cluster file written to a temp dir (through the shared src/process-cluster). */
export class FuzzNode {
  readonly token: string;
  readonly ports: ReadonlyMap<string, number>;
  readonly id: string;
  private readonly procs: ProcessCluster;

  private constructor(procs: ProcessCluster, token: string, id: string) {
    this.procs = procs;
    this.token = token;
    this.ports = new Map(procs.ids.map((m) => [m, procs.port(m)]));
    this.id = id;
  }

  static async start(opts: FuzzNodeOptions = {}): Promise<FuzzNode> {
    const memberIds = opts.memberIds ?? ["n1"];
    const runId = opts.runId ?? memberIds[0]!;
    const token = opts.token ?? "fuzz-token";
    const procs = await ProcessCluster.create({
      nodes: memberIds,
      dirPrefix: "raftsched-fuzz-",
      file: { cluster: "fuzz", token, electionTimeoutMs: [150, 300], heartbeatMs: 50, workerTimeoutMs: 1000 },
      env: { RAFTSCHED_TOKEN: token, RAFTSCHED_LOG_LEVEL: "warn" },
      cwd: REPO_ROOT,
    });
    const node = new FuzzNode(procs, token, runId);
    procs.start(runId, procs.writeClusterFile());
    const deadline = Date.now() + 20_000;
    for (;;) {
      if (node.exit) throw new Error(`node exited during start (${JSON.stringify(node.exit)}):\n${node.logText().slice(-2000)}`);
      const r = await rawRequest(node.port, { method: "GET", path: "/healthz", timeoutMs: 1_000 }).catch(() => null);
      if (r?.status === 200) return node;
      if (Date.now() > deadline) {
        await node.stop();
        throw new Error("node did not answer /healthz within 20 s");
      }
      await sleep(100);
    }
  }

  get port(): number {
    return this.ports.get(this.id)!;
  }

  get alive(): boolean {
    return this.procs.isRunning(this.id);
  }

  get exit(): { code: number | null; signal: NodeJS.Signals | null } | null {
    return this.procs.proc(this.id)?.exitInfo ?? null;
  }

  logText(): string {
    return this.procs.logText(this.id);
  }

  /** SIGTERM, then SIGKILL after 3 s; removes the temp dir. */
  async stop(): Promise<void> {
    await this.procs.stopAll();
  }

  async json(method: string, p: string, body?: unknown): Promise<RawAnswer> {
    return await rawRequest(this.port, {
      method,
      path: p,
      headers: { authorization: `Bearer ${this.token}`, "content-type": "application/json" },
      ...(body === undefined ? {} : { body: JSON.stringify(body) }),
    });
  }

  async status(): Promise<{ term: number; commitIndex: number; appliedIndex: number; role: string; leaderId: string | null }> {
    const r = await this.json("GET", "/v1/status");
    if (r.status !== 200) throw new Error(`GET /v1/status answered ${r.status}: ${r.text}`);
    return r.body as { term: number; commitIndex: number; appliedIndex: number; role: string; leaderId: string | null };
  }

  /** Every task id and updatedIndex, from local state (?stale=true), following the cursor. */
  async taskSnapshot(): Promise<string> {
    const rows: string[] = [];
    let after: string | null = null;
    for (let page = 0; page < 100; page++) {
      const q: string = after === null ? "" : `&after=${encodeURIComponent(after)}`;
      const r = await this.json("GET", `/v1/tasks?stale=true&limit=1000${q}`);
      if (r.status !== 200) throw new Error(`task list answered ${r.status}: ${r.text}`);
      const b = r.body as { tasks: Array<{ id: string; state: string; attempt: number; updatedIndex: number }>; next: string | null };
      for (const t of b.tasks) rows.push(`${t.id}:${t.state}:${t.attempt}:${t.updatedIndex}`);
      if (b.next === null) return rows.join("\n");
      after = b.next;
    }
    throw new Error("task list did not end within 100 pages");
  }
}

export interface RawRequest {
  readonly method: string;
  /** Sent verbatim in the request line (as UTF-8 bytes). */
  readonly path: string;
  /** Header name → value, sent verbatim; a value of null omits a default header. */
  readonly headers?: Readonly<Record<string, string | null>>;
  readonly body?: string | Buffer;
  /** Content-Length to declare; default: the body's real length (omitted when there is no body and no override). */
  readonly contentLength?: number | string | null;
  /** Send the body chunked (no content-length). */
  readonly chunked?: boolean;
  readonly timeoutMs?: number;
  /** Write only the head, never the body (for "answered before the body" checks). */
  readonly headOnly?: boolean;
}

export interface RawAnswer {
  readonly status: number;
  readonly headers: Readonly<Record<string, string>>;
  readonly text: string;
  /** Parsed JSON body, or undefined when the body is not JSON. */
  readonly body: unknown;
  readonly elapsedMs: number;
}

export class HangError extends Error {}

/** One request on a fresh connection (Connection: close). Resolves with the first response; rejects with
 *  HangError when no complete response arrives within the timeout, or with the socket error when the server
 *  dropped the connection without answering. */
export function rawRequest(port: number, req: RawRequest): Promise<RawAnswer> {
  const timeoutMs = req.timeoutMs ?? 5_000;
  const started = Date.now();
  return new Promise((resolve, reject) => {
    const sock = connect({ port, host: "127.0.0.1" });
    let buf = Buffer.alloc(0);
    let done = false;
    const finish = (err: Error | null, answer?: RawAnswer): void => {
      if (done) return;
      done = true;
      clearTimeout(timer);
      sock.destroy();
      if (err) reject(err);
      else resolve(answer!);
    };
    const timer = setTimeout(() => finish(new HangError(`no answer to ${req.method} ${req.path.slice(0, 120)} within ${timeoutMs} ms`)), timeoutMs);
    const tryParse = (ended: boolean): void => {
      const headEnd = buf.indexOf("\r\n\r\n");
      if (headEnd < 0) {
        if (ended) finish(new Error(`connection closed before a response head (${buf.length} bytes received)`));
        return;
      }
      const head = buf.subarray(0, headEnd).toString("latin1").split("\r\n");
      const m = /^HTTP\/1\.[01] (\d{3})/.exec(head[0] ?? "");
      if (!m) return finish(new Error(`bad status line: ${head[0]}`));
      if (m[1]!.startsWith("1")) {
        // An interim answer (100 Continue to an Expect header): the real one follows.
        buf = buf.subarray(headEnd + 4);
        return tryParse(ended);
      }
      const headers: Record<string, string> = {};
      for (const line of head.slice(1)) {
        const i = line.indexOf(":");
        if (i > 0) headers[line.slice(0, i).trim().toLowerCase()] = line.slice(i + 1).trim();
      }
      let bodyBytes: Buffer = buf.subarray(headEnd + 4);
      const cl = headers["content-length"];
      if (req.method === "HEAD") {
        bodyBytes = Buffer.alloc(0); // a HEAD answer declares a length but carries no body
      } else if (cl !== undefined) {
        if (bodyBytes.length < Number(cl)) {
          if (ended) finish(new Error(`connection closed mid-body (${bodyBytes.length}/${cl} bytes)`));
          return;
        }
        bodyBytes = bodyBytes.subarray(0, Number(cl));
      } else if (headers["transfer-encoding"]?.toLowerCase() === "chunked") {
        const decoded = dechunk(bodyBytes);
        if (decoded === null) {
          if (ended) finish(new Error("connection closed mid chunked body"));
          return;
        }
        bodyBytes = decoded;
      } else if (!ended) {
        return; // body runs until close
      }
      const text = bodyBytes.toString("utf8");
      let body: unknown;
      try {
        body = JSON.parse(text);
      } catch {
        body = undefined;
      }
      finish(null, { status: Number(m[1]), headers, text, body, elapsedMs: Date.now() - started });
    };
    sock.on("data", (d: Buffer) => {
      buf = Buffer.concat([buf, d]);
      tryParse(false);
    });
    sock.on("end", () => tryParse(true));
    sock.on("close", () => tryParse(true));
    sock.on("error", (err) => {
      // A reset after a complete answer is fine; before one, it is the outcome.
      tryParse(true);
      finish(err);
    });
    sock.on("connect", () => {
      const body = req.body === undefined ? undefined : Buffer.isBuffer(req.body) ? req.body : Buffer.from(req.body, "utf8");
      const lines = [`${req.method} ${req.path} HTTP/1.1`];
      const headers: Record<string, string | null> = { host: `127.0.0.1:${port}`, connection: "close", ...req.headers };
      if (req.chunked) headers["transfer-encoding"] = "chunked";
      else if (req.contentLength !== undefined) headers["content-length"] = req.contentLength === null ? null : String(req.contentLength);
      else if (body !== undefined) headers["content-length"] = String(body.length);
      for (const [k, v] of Object.entries(headers)) if (v !== null) lines.push(`${k}: ${v}`);
      sock.write(Buffer.from(`${lines.join("\r\n")}\r\n\r\n`, "utf8"));
      if (req.headOnly || body === undefined) {
        if (req.chunked && !req.headOnly) sock.write("0\r\n\r\n");
        return;
      }
      if (req.chunked) {
        // 64 KiB chunks, so a body over the limit crosses it in the middle of the stream.
        for (let off = 0; off < body.length; off += 65_536) {
          const part = body.subarray(off, off + 65_536);
          sock.write(`${part.length.toString(16)}\r\n`);
          sock.write(part);
          sock.write("\r\n");
        }
        sock.write("0\r\n\r\n");
      } else {
        sock.write(body);
      }
    });
  });
}

function dechunk(b: Buffer): Buffer | null {
  const parts: Buffer[] = [];
  let off = 0;
  for (;;) {
    const lineEnd = b.indexOf("\r\n", off);
    if (lineEnd < 0) return null;
    const size = parseInt(b.subarray(off, lineEnd).toString("latin1"), 16);
    if (!Number.isFinite(size)) return null;
    if (size === 0) return Buffer.concat(parts);
    if (b.length < lineEnd + 2 + size + 2) return null;
    parts.push(b.subarray(lineEnd + 2, lineEnd + 2 + size));
    off = lineEnd + 2 + size + 2;
  }
}

export function sleep(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms));
}

/** True when an error answer has the contract's shape { error: { code, message } } with string fields. */
export function hasErrorShape(body: unknown): boolean {
  if (typeof body !== "object" || body === null) return false;
  const e = (body as { error?: unknown }).error;
  if (typeof e !== "object" || e === null) return false;
  const { code, message } = e as { code?: unknown; message?: unknown };
  return typeof code === "string" && code.length > 0 && typeof message === "string";
}
