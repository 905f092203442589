import http from "node:http";
import { afterEach, describe, expect, it } from "vitest";
import WebSocket, { WebSocketServer } from "ws";
import type { Message } from "../../../src/raft/types.js";
import { encodeFrame } from "../../../src/transport/codec.js";
import { WsTransport } from "../../../src/transport/ws-transport.js";
import {
  captureLogger,
  closeServer,
  freePort,
  heartbeat,
  listen,
  sleep,
  startCluster,
  startTransport,
  stopNode,
  TOKEN,
  waitFor,
  type TestNode,
} from "./harness.js";

const cleanups: (() => Promise<void>)[] = [];
afterEach(async () => {
  while (cleanups.length > 0) await cleanups.pop()?.();
});

async function cluster(...args: Parameters<typeof startCluster>): Promise<TestNode[]> {
  const nodes = await startCluster(...args);
  for (const n of nodes) cleanups.push(() => stopNode(n));
  return nodes;
}

function at(nodes: TestNode[], i: number): TestNode {
  const n = nodes[i];
  if (!n) throw new Error(`no node ${i}`);
  return n;
}

function raftUrl(node: TestNode): string {
  return `ws://127.0.0.1:${node.port}/raft`;
}

/** The HTTP status an upgrade attempt gets (101 when accepted). */
function upgradeStatus(url: string, headers: Record<string, string>): Promise<number> {
  return new Promise((resolve, reject) => {
    const ws = new WebSocket(url, { headers });
    ws.on("unexpected-response", (req, res) => {
      resolve(res.statusCode ?? 0);
      req.destroy();
    });
    ws.on("open", () => {
      resolve(101);
      ws.terminate();
    });
    ws.on("error", (err) => {
      if (!/aborted|socket hang up/i.test(err.message)) reject(err);
    });
  });
}

/** An authenticated raw client that claims to be `nodeId`. */
async function rawClient(node: TestNode, nodeId: string): Promise<{ ws: WebSocket; closed: Promise<{ code: number; reason: string }> }> {
  const ws = new WebSocket(raftUrl(node), { headers: { authorization: `Bearer ${TOKEN}`, "x-raftsched-node": nodeId } });
  const closed = new Promise<{ code: number; reason: string }>((resolve) =>
    ws.on("close", (code, reason) => resolve({ code, reason: reason.toString() })),
  );
  ws.on("error", () => {});
  await new Promise<void>((resolve, reject) => {
    ws.once("open", () => resolve());
    ws.once("unexpected-response", (_req, res) => reject(new Error(`upgrade refused: ${res.statusCode}`)));
  });
  cleanups.push(async () => ws.terminate());
  return { ws, closed };
}

function frame(m: Message): Buffer {
  const r = encodeFrame(m);
  if (!r.ok) throw new Error(r.reason);
  return r.bytes;
}

describe("WsTransport", () => {
  it("three nodes exchange messages in every direction, in order per link", async () => {
    const nodes = await cluster(["n1", "n2", "n3"]);
    for (const from of nodes) {
      for (const to of nodes) {
        if (from === to) continue;
        for (let i = 0; i < 50; i++) from.transport.send(heartbeat(from.id, to.id, i));
      }
    }
    for (const n of nodes) await waitFor(`${n.id} receives 100 messages`, () => n.received.length === 100);
    for (const n of nodes) {
      for (const from of nodes) {
        if (from === n) continue;
        const commits = n.received.filter((m) => m.from === from.id).map((m) => (m.type === "heartbeat" ? m.commit : -1));
        expect(commits).toEqual(Array.from({ length: 50 }, (_, i) => i));
      }
      expect(n.received.every((m) => m.to === n.id)).toBe(true);
    }
    const s = at(nodes, 0).transport.stats();
    expect(s.peers["n2"]).toMatchObject({ connected: true, inboundConnected: true, sent: 50, received: 50, dropped: 0, badFrames: 0 });
  });

  it("carries appends with binary entries and snapshots intact", async () => {
    const nodes = await cluster(["a", "b"]);
    const [a, b] = [at(nodes, 0), at(nodes, 1)];
    const big = new Uint8Array(3 * 1024 * 1024).map((_, i) => i % 251);
    const append: Message = {
      type: "append",
      from: "a",
      to: "b",
      term: 7,
      prevLogIndex: 10,
      prevLogTerm: 6,
      commit: 9,
      entries: [
        { term: 6, index: 11, kind: "normal", data: big },
        { term: 7, index: 12, kind: "config", data: new Uint8Array([1]) },
      ],
    };
    const snapshot: Message = {
      type: "snapshot",
      from: "a",
      to: "b",
      term: 7,
      snapshot: { meta: { index: 12, term: 7, conf: { voters: ["a", "b"], learners: [] } }, data: new Uint8Array([4, 5]) },
    };
    a.transport.send(append);
    a.transport.send(snapshot);
    await waitFor("b receives both", () => b.received.length === 2);
    // Compare the 3 MiB payload with Buffer.equals: a deep-equality walk over 3M elements takes tens of seconds.
    const got = b.received[0];
    expect(got?.type === "append" && Buffer.from(got.entries[0]?.data ?? []).equals(Buffer.from(big))).toBe(true);
    const small = (m: Message | undefined) => (m?.type === "append" ? { ...m, entries: m.entries.slice(1) } : m);
    expect(small(got)).toStrictEqual(small(append));
    expect(b.received[1]).toStrictEqual(snapshot);
  });

  it("refuses upgrades without the right token (401), from unknown nodes (403) and without a node id (400), logging once per address", async () => {
    const nodes = await cluster(["n1", "n2"]);
    const n1 = at(nodes, 0);
    const url = raftUrl(n1);
    expect(await upgradeStatus(url, { "x-raftsched-node": "n2" })).toBe(401);
    expect(await upgradeStatus(url, { authorization: "Bearer wrong", "x-raftsched-node": "n2" })).toBe(401);
    expect(await upgradeStatus(url, { authorization: `Bearer ${TOKEN}x`, "x-raftsched-node": "n2" })).toBe(401);
    expect(await upgradeStatus(url, { authorization: TOKEN, "x-raftsched-node": "n2" })).toBe(401);
    expect(await upgradeStatus(url, { authorization: `Bearer ${TOKEN}`, "x-raftsched-node": "n9" })).toBe(403);
    expect(await upgradeStatus(url, { authorization: `Bearer ${TOKEN}`, "x-raftsched-node": "n1" })).toBe(403);
    expect(await upgradeStatus(url, { authorization: `Bearer ${TOKEN}` })).toBe(400);
    expect(await upgradeStatus(url, { authorization: `bearer ${TOKEN}`, "x-raftsched-node": "n2" })).toBe(101);
    expect(await upgradeStatus(`ws://127.0.0.1:${n1.port}/other`, { authorization: `Bearer ${TOKEN}`, "x-raftsched-node": "n2" })).toBe(404);
    const refusals = n1.lines.filter((l) => l.msg.startsWith("refused peer connection"));
    expect(refusals.map((l) => l["status"])).toEqual([401, 403, 400]);
    expect(n1.transport.stats().refusedUpgrades).toBe(7);
    // The HTTP side of the same port still works.
    const body = await new Promise<string>((resolve) => http.get(`${n1.url}/`, (res) => res.on("data", (d: Buffer) => resolve(d.toString()))));
    expect(body).toBe("ok");
  });

  it("a node with the wrong token never gets a connection, and logs the refusal once", async () => {
    const nodes = await cluster(["n1"], {}, new Map([["n2", "http://127.0.0.1:1"]]));
    const n1 = at(nodes, 0);
    const { logger, lines } = captureLogger();
    const impostor = new WsTransport({ selfId: "n2", token: "not-the-token", peers: new Map([["n1", n1.url]]), logger, backoff: { initialMs: 10, maxMs: 20 } });
    cleanups.push(() => impostor.close());
    impostor.send(heartbeat("n2", "n1"));
    await waitFor("several refused attempts", () => n1.transport.stats().refusedUpgrades >= 5);
    expect(n1.received).toEqual([]);
    expect(impostor.stats().peers["n1"]?.connected).toBe(false);
    expect(n1.lines.filter((l) => l.msg.startsWith("refused peer connection"))).toHaveLength(1);
    // The dialing side logs the failure once too, not on every retry.
    expect(lines.filter((l) => l.level >= 40 && String(l.msg).includes("401"))).toHaveLength(1);
  });

  it("closes a connection that sends garbage, a text frame, or a spoofed/misrouted frame, delivering nothing, while another peer keeps delivering", async () => {
    const nodes = await cluster(["n1", "n2"], {}, new Map([["n3", "http://127.0.0.1:1"]]));
    const [n1, n2] = [at(nodes, 0), at(nodes, 1)];

    const cases: [string, (ws: WebSocket) => void, number][] = [
      ["garbage bytes", (ws) => ws.send(Buffer.from([0xc1, 0xff, 0x00]), { binary: true }), 1003],
      ["an invalid message", (ws) => ws.send(frame(heartbeat("n3", "n1")).subarray(0, 5), { binary: true }), 1003],
      ["a text frame", (ws) => ws.send(JSON.stringify(heartbeat("n3", "n1"))), 1003],
      ["a spoofed from", (ws) => ws.send(frame(heartbeat("n2", "n1")), { binary: true }), 1008],
      ["a misrouted to", (ws) => ws.send(frame(heartbeat("n3", "n2")), { binary: true }), 1008],
    ];
    let round = 0;
    for (const [what, sendBad, expectedCode] of cases) {
      round++;
      const { ws, closed } = await rawClient(n1, "n3");
      sendBad(ws);
      // Frames after the bad one on the same connection must not be delivered either.
      ws.send(frame(heartbeat("n3", "n1", 99)), { binary: true });
      n2.transport.send(heartbeat("n2", "n1", round));
      const { code } = await closed;
      expect(code, what).toBe(expectedCode);
      await waitFor(`n2's message ${round}`, () => n1.received.some((m) => m.from === "n2" && m.type === "heartbeat" && m.commit === round));
    }
    expect(n1.received.filter((m) => m.from === "n3")).toEqual([]);
    expect(n1.transport.stats().peers["n3"]?.badFrames).toBe(cases.length);
    expect(n1.transport.stats().peers["n2"]?.badFrames).toBe(0);
    const warnings = n1.lines.filter((l) => l.msg === "closing peer connection: bad frame");
    expect(warnings.map((l) => l["code"])).toEqual(["BAD_FRAME", "BAD_FRAME", "TEXT_FRAME", "SPOOFED_FROM", "MISROUTED"]);

    // A well-behaved connection from n3 is delivered.
    const { ws } = await rawClient(n1, "n3");
    ws.send(frame(heartbeat("n3", "n1", 7)), { binary: true });
    await waitFor("n3's valid frame", () => n1.received.some((m) => m.from === "n3"));
  });

  it("closes a connection that sends a frame over maxPayloadBytes, and drops outgoing messages over it", async () => {
    const nodes = await cluster(["n1", "n2"], { maxPayloadBytes: 1024 });
    const [n1, n2] = [at(nodes, 0), at(nodes, 1)];
    const { ws, closed } = await rawClient(n1, "n2");
    ws.send(Buffer.alloc(2048), { binary: true });
    expect((await closed).code).toBe(1009);
    const oversized: Message = {
      type: "append",
      from: "n2",
      to: "n1",
      term: 1,
      prevLogIndex: 0,
      prevLogTerm: 0,
      commit: 0,
      entries: [{ term: 1, index: 1, kind: "normal", data: new Uint8Array(4096) }],
    };
    n2.transport.send(oversized);
    n2.transport.send(heartbeat("n2", "n1"));
    await waitFor("the heartbeat", () => n1.received.length === 1);
    expect(n1.received[0]?.type).toBe("heartbeat");
    expect(n2.transport.stats().peers["n1"]?.dropped).toBe(1);
  });

  it("reconnects after the peer's server restarts on the same port", async () => {
    const nodes = await startCluster(["n1", "n2"]);
    const [n1, n2] = [at(nodes, 0), at(nodes, 1)];
    cleanups.push(() => stopNode(n1));
    n1.transport.send(heartbeat("n1", "n2", 1));
    await waitFor("first delivery", () => n2.received.length === 1);

    await stopNode(n2);
    await waitFor("n1 notices", () => n1.transport.stats().peers["n2"]?.connected === false);
    const reconnectsBefore = n1.transport.stats().peers["n2"]?.reconnects ?? 0;
    await sleep(150); // let a few dials fail against the closed port
    const server = http.createServer();
    await listen(server, n2.port);
    const restarted = startTransport("n2", server, n2.port, new Map([["n1", n1.url], ["n2", n2.url]]));
    cleanups.push(() => stopNode(restarted));

    n1.transport.send(heartbeat("n1", "n2", 2));
    await waitFor("delivery after restart", () => restarted.received.length >= 1);
    expect(restarted.received.at(-1)).toMatchObject({ type: "heartbeat", commit: 2 });
    expect(n1.transport.stats().peers["n2"]?.reconnects).toBeGreaterThan(reconnectsBefore);
    expect(n1.transport.stats().peers["n2"]?.connected).toBe(true);
  });

  it("a peer that connects in resets our backoff to it: the link redials at once, not after the backoff (issue #18)", async () => {
    // n1's backoff to n2 is 20 s once a dial failed: without the reset, n1 would not reach the restarted n2 for 16+ s.
    const nodes = await startCluster(["n1", "n2"], { backoff: { initialMs: 20_000, maxMs: 20_000 } });
    const [n1, n2] = [at(nodes, 0), at(nodes, 1)];
    cleanups.push(() => stopNode(n1));
    n1.transport.send(heartbeat("n1", "n2", 1));
    await waitFor("first delivery", () => n2.received.length === 1);
    await stopNode(n2);
    await waitFor("n1 notices", () => n1.transport.stats().peers["n2"]?.connected === false);
    await sleep(100);
    const server = http.createServer();
    await listen(server, n2.port);
    const restarted = startTransport("n2", server, n2.port, new Map([["n1", n1.url], ["n2", n2.url]]), { backoff: { initialMs: 20, maxMs: 200 } });
    cleanups.push(() => stopNode(restarted));
    restarted.transport.send(heartbeat("n2", "n1", 1)); // n2 dials n1: n1 sees n2 connect in
    n1.transport.send(heartbeat("n1", "n2", 2));
    await waitFor("delivery to the restarted peer well before n1's 20 s backoff", () => restarted.received.length >= 1, 8_000);
    expect(restarted.received.at(-1)).toMatchObject({ type: "heartbeat", commit: 2 });
  });

  it("bounds the send queue of an unreachable peer: drops the oldest and counts them, delivers the newest once it comes up", async () => {
    const port = await freePort();
    const peerUrl = `http://127.0.0.1:${port}`;
    const nodes = await cluster(["n1"], { sendQueueLimit: 5 }, new Map([["n2", peerUrl]]));
    const n1 = at(nodes, 0);
    for (let i = 0; i < 20; i++) n1.transport.send(heartbeat("n1", "n2", i));
    expect(n1.transport.stats().peers["n2"]).toMatchObject({ queued: 5, dropped: 15, connected: false });

    const server = http.createServer();
    await listen(server, port);
    const n2 = startTransport("n2", server, port, new Map([["n1", n1.url], ["n2", peerUrl]]));
    cleanups.push(() => stopNode(n2));
    await waitFor("the queued frames", () => n2.received.length === 5);
    expect(n2.received.map((m) => (m.type === "heartbeat" ? m.commit : -1))).toEqual([15, 16, 17, 18, 19]);
    expect(n1.transport.stats().peers["n2"]).toMatchObject({ queued: 0, sent: 5, dropped: 15 });
  });

  it("drops and counts messages for unknown peers, never throwing", async () => {
    const nodes = await cluster(["n1", "n2"]);
    const n1 = at(nodes, 0);
    n1.transport.send(heartbeat("n1", "nobody"));
    n1.transport.send(heartbeat("n1", "n1"));
    n1.transport.send({ type: "heartbeat", from: "n1", to: "n2", term: -1, commit: 0 });
    expect(n1.transport.stats().unroutable).toBe(3);
  });

  it("setPeers adds a member at runtime and removing one disconnects and refuses it", async () => {
    const nodes = await cluster(["n1", "n2"]);
    const [n1, n2] = [at(nodes, 0), at(nodes, 1)];
    const extra = await cluster(["n3"], {}, new Map([["n1", n1.url], ["n2", n2.url]]));
    const n3 = at(extra, 0);

    n3.transport.send(heartbeat("n3", "n1"));
    await waitFor("n1 refuses n3 (unknown)", () => n1.transport.stats().refusedUpgrades >= 1);
    expect(n1.received).toEqual([]);

    n1.transport.setPeers(new Map([["n1", n1.url], ["n2", n2.url], ["n3", n3.url]]));
    n3.transport.send(heartbeat("n3", "n1", 1));
    n1.transport.send(heartbeat("n1", "n3", 1));
    await waitFor("n1 hears n3", () => n1.received.some((m) => m.from === "n3"));
    await waitFor("n3 hears n1", () => n3.received.some((m) => m.from === "n1"));

    n1.transport.setPeers(new Map([["n1", n1.url], ["n2", n2.url]]));
    expect(Object.keys(n1.transport.stats().peers)).toEqual(["n2"]);
    await waitFor("n3's link to n1 drops", () => n3.transport.stats().peers["n1"]?.connected === false);
    const before = n1.received.length;
    n3.transport.send(heartbeat("n3", "n1", 2));
    n2.transport.send(heartbeat("n2", "n1", 2));
    await waitFor("n2 still delivers", () => n1.received.some((m) => m.from === "n2"));
    await sleep(100);
    expect(n1.received.slice(before).every((m) => m.from === "n2")).toBe(true);
  });

  it("the link filter drops traffic in-process, both ways, until cleared", async () => {
    const nodes = await cluster(["n1", "n2"]);
    const [n1, n2] = [at(nodes, 0), at(nodes, 1)];
    n1.transport.setLinkFilter((from, to) => !(from === "n1" && to === "n2"));
    n2.transport.setLinkFilter((from, to) => !(from === "n2" && to === "n1"));
    n1.transport.send(heartbeat("n1", "n2", 1));
    n2.transport.send(heartbeat("n2", "n1", 1));
    await sleep(100);
    expect(n1.received).toEqual([]);
    expect(n2.received).toEqual([]);
    expect(n1.transport.stats().peers["n2"]?.filtered).toBe(1);
    // Receive side: n1 drops what n2 sends once n2 stops filtering.
    n2.transport.setLinkFilter(null);
    n1.transport.setLinkFilter((from) => from !== "n2");
    n2.transport.send(heartbeat("n2", "n1", 2));
    await waitFor("n1 counts the filtered frame", () => n1.transport.stats().peers["n2"]?.filtered === 2);
    expect(n1.received).toEqual([]);
    n1.transport.setLinkFilter(null);
    n1.transport.send(heartbeat("n1", "n2", 3));
    n2.transport.send(heartbeat("n2", "n1", 3));
    await waitFor("both heal", () => n1.received.length === 1 && n2.received.length === 1);
  });

  it("terminates and redials an outbound connection whose peer stops answering pings", async () => {
    const fake = http.createServer();
    const port = await listen(fake);
    const wss = new WebSocketServer({ server: fake, path: "/raft", autoPong: false });
    let connections = 0;
    wss.on("connection", () => connections++);
    cleanups.push(async () => {
      for (const c of wss.clients) c.terminate();
      wss.close();
      await closeServer(fake);
    });
    const nodes = await cluster(["n1"], { pingIntervalMs: 50 }, new Map([["n2", `http://127.0.0.1:${port}`]]));
    const n1 = at(nodes, 0);
    await waitFor("a redial after a missed pong", () => connections >= 2, 3_000);
    expect(n1.lines.some((l) => l.msg.includes("unresponsive"))).toBe(true);
  });

  it("close() stops dialing, closes connections and detaches from the server", async () => {
    const nodes = await startCluster(["n1", "n2"]);
    const [n1, n2] = [at(nodes, 0), at(nodes, 1)];
    cleanups.push(() => stopNode(n2));
    n1.transport.send(heartbeat("n1", "n2"));
    await waitFor("delivery", () => n2.received.length === 1);
    await n1.transport.close();
    expect(n1.server.listenerCount("upgrade")).toBe(0);
    await waitFor("n2 sees n1 gone", () => n2.transport.stats().peers["n1"]?.inboundConnected === false);
    n1.transport.send(heartbeat("n1", "n2"));
    await sleep(50);
    expect(n2.received).toHaveLength(1);
    await closeServer(n1.server);
  });
});
