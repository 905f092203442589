// Upgrade-time authentication of peers: the node id header here; the cluster token by src/util/bearer.ts, the
// same check as the HTTP API's.
// Refusals are plain HTTP answers written on the raw socket, since no WebSocket exists yet.
import type { IncomingMessage } from "node:http";
import type { Duplex } from "node:stream";
import { MAX_NODE_ID_CHARS } from "./limits.js";

export const RAFT_PATH = "/raft";
export const NODE_ID_HEADER = "x-raftsched-node";
/** The random id of the data dir the connecting node runs on (src/node/storage-identity.ts). */
export const STORAGE_ID_HEADER = "x-raftsched-storage";
/** A storage id: 128 random bits in hex, as src/node/storage-identity.ts writes them. */
export const STORAGE_ID_PATTERN = /^[0-9a-f]{32}$/;

/** The storage id header: undefined when absent (a peer that does not send one), null when malformed. */
export function presentedStorageId(req: IncomingMessage): string | null | undefined {
  const value = req.headers[STORAGE_ID_HEADER];
  if (value === undefined) return undefined;
  return typeof value === "string" && STORAGE_ID_PATTERN.test(value.trim()) ? value.trim() : null;
}

/** The single node id header value, or null when missing, repeated or malformed. */
export function presentedNodeId(req: IncomingMessage): string | null {
  const value = req.headers[NODE_ID_HEADER];
  if (typeof value !== "string") return null;
  const id = value.trim();
  return id.length > 0 && id.length <= MAX_NODE_ID_CHARS ? id : null;
}

/** The request path without query string; null when the URL cannot be parsed. */
export function requestPath(req: IncomingMessage): string | null {
  try {
    return new URL(req.url ?? "", "http://upgrade.invalid").pathname;
  } catch {
    return null;
  }
}

const STATUS_TEXT: Readonly<Record<number, string>> = {
  400: "Bad Request",
  401: "Unauthorized",
  403: "Forbidden",
  404: "Not Found",
  409: "Conflict",
  503: "Service Unavailable",
};

/** The 403 a node answers a peer it does not count as a member: JSON with a stable code, so the refused node can
 *  tell "you are not (or no longer) a member" from any other refusal (src/node/not-a-peer-watch.ts). */
export const NOT_A_PEER_CODE = "NOT_A_PEER";

/** Answers an upgrade request with a plain HTTP error (or, with `json`, the API's error shape) and closes the socket. */
export function refuseUpgrade(socket: Duplex, status: number, body: string, json?: { readonly code: string }): void {
  if (socket.destroyed) return;
  const text = json ? JSON.stringify({ error: { code: json.code, message: body } }) : `${body}\n`;
  const head = [
    `HTTP/1.1 ${status} ${STATUS_TEXT[status] ?? "Error"}`,
    "Connection: close",
    json ? "Content-Type: application/json; charset=utf-8" : "Content-Type: text/plain; charset=utf-8",
    `Content-Length: ${Buffer.byteLength(text)}`,
  ];
  if (status === 401) head.push('WWW-Authenticate: Bearer realm="raftsched"');
  socket.end(`${head.join("\r\n")}\r\n\r\n${text}`);
  // end() flushes the answer; destroy soon after in case the client never closes its side.
  setTimeout(() => socket.destroy(), 1_000).unref();
}

/** The ws:// (or wss://) URL of a peer's Raft endpoint from its http(s):// base URL. */
export function peerSocketUrl(baseUrl: string): string {
  const url = new URL(baseUrl);
  if (url.protocol === "http:") url.protocol = "ws:";
  else if (url.protocol === "https:") url.protocol = "wss:";
  else throw new RangeError(`peer url must be http:// or https://, got ${baseUrl}`);
  url.pathname = `${url.pathname.replace(/\/+$/, "")}${RAFT_PATH}`;
  url.search = "";
  url.hash = "";
  return url.toString();
}
