// `fetch` for the project's own HTTP clients (CLI, chaos client, a follower forwarding to the leader, the
// not-a-peer watch, the process harness), able to speak https to a cluster whose certificates a private CA signed.
//
// Node 20's global fetch cannot be given a CA per call (its undici Agent is not exposed, and NODE_EXTRA_CA_CERTS
// is read once at process start), so an https url goes through node:https with an Agent that trusts the cluster's
// CA and presents its certificate when this machine has it; the answer comes back as a standard `Response`, and
// failures look like fetch's (a TypeError "fetch failed" with the socket error as `cause`; the signal's reason when
// aborted), so callers classify them as they always did. Plain http:// urls still go to the global fetch.
//
// Which CA: the process's cluster. Every process talks to one cluster, whose file it loaded (loadClusterFile and
// startNode call useClusterTls); `reloadClusterTls` re-reads the files (a node's SIGHUP), so new connections see
// new certificates while the ones open keep theirs.
import http from "node:http";
import https from "node:https";
import { Readable } from "node:stream";
import type { TlsFiles } from "../config/security-fields.js";
import { readClientMaterial } from "./tls-material.js";

interface ClientTls {
  readonly files: TlsFiles;
  agent: https.Agent | null;
}

let current: ClientTls | null = null;

/** The cluster this process's https clients trust (null: the system's roots only). */
export function useClusterTls(files: TlsFiles | null): void {
  if (current?.files === files) return;
  current?.agent?.destroy();
  current = files === null ? null : { files, agent: null };
}

/** Re-reads the files for connections made from now on (the open ones keep their certificates). */
export function reloadClusterTls(): void {
  if (current === null) return;
  current.agent?.destroy();
  current.agent = null;
}

/** The options a TLS client of the cluster dials with (ca, and cert/key when present); {} without a cluster CA. */
export function clusterClientTlsOptions(): { ca?: Buffer; cert?: Buffer; key?: Buffer } {
  return current === null ? {} : readClientMaterial(current.files);
}

function agent(): https.Agent | undefined {
  if (current === null) return undefined;
  // Read lazily: the first https call reports a missing CA file, not the loading of the cluster file.
  current.agent ??= new https.Agent({ keepAlive: true, maxSockets: 64, ...readClientMaterial(current.files) });
  return current.agent;
}

export type ClusterFetchInit = {
  readonly method?: string;
  readonly headers?: Record<string, string>;
  readonly body?: string | Uint8Array<ArrayBuffer>;
  readonly signal?: AbortSignal;
};

/** fetch(url, init), through the cluster's TLS settings for https urls. */
export async function clusterFetch(url: string, init: ClusterFetchInit = {}): Promise<Response> {
  if (!url.startsWith("https:") || current === null) return await fetch(url, init);
  return await httpsFetch(url, init, agent());
}

/** Statuses a Response may not carry a body with. */
const NULL_BODY_STATUS = new Set([101, 204, 205, 304]);

function httpsFetch(url: string, init: ClusterFetchInit, via: https.Agent | undefined): Promise<Response> {
  return new Promise<Response>((resolve, reject) => {
    const signal = init.signal;
    if (signal?.aborted) return reject(signal.reason);
    const req = https.request(url, { method: init.method ?? "GET", headers: init.headers ?? {}, ...(via ? { agent: via } : {}) });
    sendWithSignal(req, init, reject, (res, release) => {
      const headers = new Headers();
      for (const [name, value] of Object.entries(res.headers)) {
        if (Array.isArray(value)) for (const v of value) headers.append(name, v);
        else if (value !== undefined) headers.set(name, value);
      }
      // The body may still be cut off by the signal: the stream errors with its reason, and so does res.text().
      res.once("end", release);
      const status = res.statusCode ?? 500;
      const body = NULL_BODY_STATUS.has(status) ? null : (Readable.toWeb(res) as ReadableStream<Uint8Array>);
      if (body === null) res.resume();
      resolve(new Response(body, { status, statusText: res.statusMessage ?? "", headers }));
    });
  });
}

/** Sends `init.body` on `req` as fetch would: the signal ends the request and its answer with its reason (so a
 *  timeout reads as a timeout in the headers or in the body), a failure to send rejects with the signal's reason or
 *  a TypeError "fetch failed" whose cause is the socket error. `onResponse` gets the answer and `release`, which
 *  stops listening to the signal once the answer is read. */
function sendWithSignal(req: http.ClientRequest, init: ClusterFetchInit, reject: (err: unknown) => void, onResponse: (res: http.IncomingMessage, release: () => void) => void): void {
  const signal = init.signal;
  let answer: http.IncomingMessage | null = null;
  const onAbort = (): void => {
    answer?.destroy(signal?.reason as Error);
    req.destroy(signal?.reason as Error);
  };
  const release = (): void => signal?.removeEventListener("abort", onAbort);
  signal?.addEventListener("abort", onAbort, { once: true });
  req.once("error", (err) => {
    release();
    reject(signal?.aborted ? signal.reason : new TypeError("fetch failed", { cause: err }));
  });
  req.once("response", (res) => {
    answer = res;
    onResponse(res, release);
  });
  req.end(init.body);
}

/** A plain-http keep-alive pool for clusterRequest (Node 20's global fetch keeps its own, behind web streams). The
 *  timeout only ends idle pooled sockets (well before the server's 65 s keep-alive), never a request in flight. */
const httpAgent = new http.Agent({ keepAlive: true, scheduling: "lifo", timeout: 5000 });

/** What clusterRequest answers: the status and the body's text, read on demand (a failure while reading it means
 *  the request arrived: callers tell it from a failure to send). */
export interface ClusterAnswer {
  readonly status: number;
  text(): Promise<string>;
}

/**
 * clusterFetch for a node's own requests to another node (a follower forwarding to the leader: a member's every
 * completion, a submit sent to a follower), through node:http(s) directly. Node's fetch costs ~1 ms of CPU per
 * request in undici and web streams: the largest JavaScript cost of a member that runs tasks (README
 * "Performance"). Failures look like fetch's: the signal's reason when aborted, else a TypeError "fetch failed" with
 * the socket error as `cause`.
 */
export function clusterRequest(url: string, init: ClusterFetchInit = {}): Promise<ClusterAnswer> {
  const secure = url.startsWith("https:");
  const via = secure ? agent() : httpAgent;
  const signal = init.signal;
  return new Promise<ClusterAnswer>((resolve, reject) => {
    if (signal?.aborted) return reject(signal.reason);
    const options = { method: init.method ?? "GET", headers: init.headers ?? {}, ...(via ? { agent: via } : {}) };
    const req = secure ? https.request(url, options) : http.request(url, options);
    sendWithSignal(req, init, reject, (res, release) => {
      const chunks: Buffer[] = [];
      const body = new Promise<string>((done, fail) => {
        res.on("data", (c: Buffer) => chunks.push(c));
        res.once("end", () => done(Buffer.concat(chunks).toString("utf8")));
        res.once("error", (err) => fail(signal?.aborted ? signal.reason : err));
        res.once("close", () => res.complete || fail(signal?.aborted ? signal.reason : new Error("the answer was cut off")));
      }).finally(release);
      body.catch(() => {}); // read by text(); a caller that never reads it must not see an unhandled rejection
      resolve({ status: res.statusCode ?? 500, text: () => body });
    });
  });
}
