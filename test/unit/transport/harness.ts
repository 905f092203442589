// Real HTTP servers on 127.0.0.1 (port 0) with a WsTransport attached, a log sink to assert on, and polling.
import http from "node:http";
import type { AddressInfo } from "node:net";
import { Writable } from "node:stream";
import pino, { type Logger } from "pino";
import type { Message, NodeId } from "../../../src/raft/types.js";
import { WsTransport, type WsTransportOptions } from "../../../src/transport/ws-transport.js";

export const TOKEN = "test-token";

export interface LogLine {
  readonly level: number;
  readonly msg: string;
  readonly [key: string]: unknown;
}

export function captureLogger(): { logger: Logger; lines: LogLine[] } {
  const lines: LogLine[] = [];
  const sink = new Writable({
    write(chunk: Buffer, _enc, done) {
      for (const line of chunk.toString("utf8").split("\n")) if (line) lines.push(JSON.parse(line) as LogLine);
      done();
    },
  });
  return { logger: pino({ level: "debug" }, sink), lines };
}

export async function listen(server: http.Server, port = 0): Promise<number> {
  await new Promise<void>((resolve, reject) => {
    server.once("error", reject);
    server.listen(port, "127.0.0.1", () => {
      server.off("error", reject);
      resolve();
    });
  });
  return (server.address() as AddressInfo).port;
}

export async function closeServer(server: http.Server): Promise<void> {
  server.closeAllConnections();
  await new Promise<void>((resolve) => server.close(() => resolve()));
}

/** A port that was free a moment ago and is closed now (for peers that are down). */
export { freePort } from "../../../src/util/ports.js";

export interface TestNode {
  readonly id: NodeId;
  readonly server: http.Server;
  readonly port: number;
  readonly url: string;
  readonly transport: WsTransport;
  readonly received: Message[];
  readonly lines: LogLine[];
}

/** Starts one server per id, then one transport per server knowing every other node. */
export async function startCluster(
  ids: readonly NodeId[],
  overrides: Partial<Omit<WsTransportOptions, "selfId" | "peers" | "logger" | "token">> = {},
  extraPeers: ReadonlyMap<NodeId, string> = new Map(),
): Promise<TestNode[]> {
  const servers = await Promise.all(
    ids.map(async (id) => {
      const server = http.createServer((_req, res) => res.end("ok"));
      const port = await listen(server);
      return { id, server, port, url: `http://127.0.0.1:${port}` };
    }),
  );
  const peers = new Map<NodeId, string>([...servers.map((s) => [s.id, s.url] as const), ...extraPeers]);
  return servers.map((s) => startTransport(s.id, s.server, s.port, peers, overrides));
}

export function startTransport(
  id: NodeId,
  server: http.Server,
  port: number,
  peers: ReadonlyMap<NodeId, string>,
  overrides: Partial<Omit<WsTransportOptions, "selfId" | "peers" | "logger" | "token">> = {},
): TestNode {
  const { logger, lines } = captureLogger();
  const transport = new WsTransport({ selfId: id, token: TOKEN, peers, logger, backoff: { initialMs: 20, maxMs: 200 }, ...overrides });
  transport.attach(server);
  const received: Message[] = [];
  transport.onMessage((m) => received.push(m));
  return { id, server, port, url: `http://127.0.0.1:${port}`, transport, received, lines };
}

export async function stopNode(node: TestNode): Promise<void> {
  await node.transport.close();
  await closeServer(node.server);
}

export async function waitFor(what: string, predicate: () => boolean, timeoutMs = 5_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!predicate()) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 10));
  }
}

export const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));

export function heartbeat(from: NodeId, to: NodeId, commit = 0, term = 1): Message {
  return { type: "heartbeat", from, to, term, commit };
}
