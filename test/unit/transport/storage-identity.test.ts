// Peers that lost their disk are refused at the upgrade: a node remembers each peer's storage id (the first it
// presented) and answers a different one with 409 STORAGE_REPLACED, so nothing the wiped node sends (votes,
// acknowledgements) is delivered. Real transports on real sockets, real StorageIdentity files.
import http from "node:http";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import path from "node:path";
import { afterEach, describe, expect, it } from "vitest";
import WebSocket from "ws";
import { StorageIdentity } from "../../../src/node/storage-identity.js";
import { type TestNode, TOKEN, heartbeat, listen, sleep, startTransport, stopNode, waitFor } from "./harness.js";

const cleanup: Array<() => Promise<void> | void> = [];
afterEach(async () => {
  for (const f of cleanup.splice(0).reverse()) await f();
});

function identity(): StorageIdentity {
  const dir = mkdtempSync(path.join(tmpdir(), "raftsched-transport-identity-"));
  cleanup.push(() => rmSync(dir, { recursive: true, force: true }));
  return StorageIdentity.open(dir);
}

async function node(id: string, peers: Map<string, string>, server: http.Server, port: number, ident?: StorageIdentity): Promise<TestNode> {
  const n = startTransport(id, server, port, peers, ident ? { identity: ident } : {});
  cleanup.push(() => stopNode(n));
  return n;
}

async function servers(count: number): Promise<Array<{ server: http.Server; port: number; url: string }>> {
  return Promise.all(
    Array.from({ length: count }, async () => {
      const server = http.createServer((_req, res) => res.end("ok"));
      const port = await listen(server);
      return { server, port, url: `http://127.0.0.1:${port}` };
    }),
  );
}

describe("storage identity at the peer upgrade", () => {
  it("refuses a peer that comes back on a new disk (409 STORAGE_REPLACED); nothing it sends is delivered", async () => {
    const [s1, s2, s2b] = await servers(3);
    const peers = new Map([
      ["n1", s1!.url],
      ["n2", s2!.url],
    ]);
    const n1Identity = identity();
    const n1 = await node("n1", peers, s1!.server, s1!.port, n1Identity);
    const n2Identity = identity();
    const n2 = startTransport("n2", s2!.server, s2!.port, peers, { identity: n2Identity });
    n2.transport.send(heartbeat("n2", "n1"));
    await waitFor("n1 to receive n2's first heartbeat", () => n1.received.length === 1);
    expect(n1Identity.knownId("n2")).toBe(n2Identity.selfStorageId);
    await stopNode(n2);

    // n2 again, on a wiped data dir: a new storage id.
    const n2b = await node("n2", peers, s2b!.server, s2b!.port, identity());
    n2b.transport.send(heartbeat("n2", "n1", 0, 2));
    await waitFor("n2 to log the refusal with its reason", () =>
      n2b.lines.some((l) => /refused with HTTP 409: STORAGE_REPLACED: node n2 runs on a new data dir/.test(l.msg)),
    );
    await waitFor("n1 to log the refusal", () => n1.lines.some((l) => /refused peer connection: STORAGE_REPLACED/.test(l.msg)));
    await sleep(200);
    expect(n1.received).toHaveLength(1);
  });

  it("accepts a peer that sends no storage id (an older version): nothing to compare", async () => {
    const [s1, s2] = await servers(2);
    const peers = new Map([
      ["n1", s1!.url],
      ["n2", s2!.url],
    ]);
    const n1 = await node("n1", peers, s1!.server, s1!.port, identity());
    const n2 = await node("n2", peers, s2!.server, s2!.port);
    n2.transport.send(heartbeat("n2", "n1"));
    await waitFor("n1 to receive the heartbeat", () => n1.received.length === 1);
  });

  it("refuses a malformed storage id header with 400", async () => {
    const [s1] = await servers(1);
    await node("n1", new Map([["n1", s1!.url], ["n2", "http://127.0.0.1:1"]]), s1!.server, s1!.port, identity());
    const status = await new Promise<number>((resolve, reject) => {
      const ws = new WebSocket(`ws://127.0.0.1:${s1!.port}/raft`, {
        headers: { authorization: `Bearer ${TOKEN}`, "x-raftsched-node": "n2", "x-raftsched-storage": "zz" },
      });
      ws.on("unexpected-response", (_req, res) => {
        resolve(res.statusCode ?? 0);
        ws.terminate();
      });
      ws.on("open", () => reject(new Error("upgrade accepted")));
      ws.on("error", () => {});
    });
    expect(status).toBe(400);
  });
});
