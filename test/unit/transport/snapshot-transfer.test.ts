// Chunked InstallSnapshot between real WsTransports (and raw clients playing a hostile or interrupted sender).
import { createHash, randomBytes } from "node:crypto";
import http from "node:http";
import { afterEach, describe, expect, it } from "vitest";
import WebSocket from "ws";
import type { Message, NodeId, SnapshotRequest } from "../../../src/raft/types.js";
import { encodeSnapshotFrame } from "../../../src/transport/codec.js";
import type { SnapshotChunkFrame } from "../../../src/transport/snapshot-frames.js";
import { OutgoingSnapshot } from "../../../src/transport/snapshot-sender.js";
import { freePort, listen, startCluster, startTransport, stopNode, TOKEN, waitFor, type TestNode } from "./harness.js";

const MiB = 1024 * 1024;

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

function snapshotMessage(from: NodeId, to: NodeId, data: Uint8Array, index = 100): SnapshotRequest {
  return { type: "snapshot", from, to, term: 3, snapshot: { meta: { index, term: 2, conf: { voters: [from, to], learners: [] } }, data } };
}

const sha = (data: Uint8Array): string => createHash("sha256").update(data).digest("hex");

function snapshotsIn(received: Message[]): SnapshotRequest[] {
  return received.filter((m): m is SnapshotRequest => m.type === "snapshot");
}

/** Records every onSnapshotSent outcome of a node. */
function outcomes(node: TestNode): [NodeId, boolean][] {
  const seen: [NodeId, boolean][] = [];
  node.transport.onSnapshotSent((to, ok) => seen.push([to, ok]));
  return seen;
}

/** The chunk frames a sender would produce (all at once: the raw client below does not wait for acks). */
function chunksOf(message: SnapshotRequest, chunkBytes: number, transferId: number): SnapshotChunkFrame[] {
  const out: SnapshotChunkFrame[] = [];
  new OutgoingSnapshot({
    message,
    transferId,
    chunkBytes,
    windowChunks: Number.MAX_SAFE_INTEGER,
    nowMs: 0,
    sink: (chunk) => {
      out.push(chunk);
      return { ok: true };
    },
    finish: () => {},
  }).pump();
  return out;
}

function encoded(chunk: SnapshotChunkFrame): Buffer {
  const r = encodeSnapshotFrame(chunk);
  if (!r.ok) throw new Error(r.reason);
  return r.bytes;
}

/** An authenticated raw client claiming to be `nodeId`, to send hand-made (e.g. corrupt) chunk frames. */
async function rawClient(node: TestNode, nodeId: string): Promise<WebSocket> {
  const ws = new WebSocket(`ws://127.0.0.1:${node.port}/raft`, { headers: { authorization: `Bearer ${TOKEN}`, "x-raftsched-node": nodeId } });
  ws.on("error", () => {});
  await new Promise<void>((resolve, reject) => {
    ws.once("open", () => resolve());
    ws.once("unexpected-response", (_req, res) => reject(new Error(`upgrade refused: ${res.statusCode}`)));
  });
  cleanups.push(async () => ws.terminate());
  return ws;
}

async function sendAll(ws: WebSocket, frames: Buffer[]): Promise<void> {
  for (const f of frames) await new Promise<void>((resolve, reject) => ws.send(f, { binary: true }, (err) => (err ? reject(err) : resolve())));
}

/** A cluster of one real node "b" that also knows a peer "x" at a dead address: raw clients play "x". */
async function receiverWithFakePeer(overrides: Parameters<typeof startCluster>[1] = {}): Promise<TestNode> {
  const deadPort = await freePort();
  const nodes = await cluster(["b"], overrides, new Map([["x", `http://127.0.0.1:${deadPort}`]]));
  return at(nodes, 0);
}

describe("chunked snapshot transfer", () => {
  it("a 40 MiB snapshot crosses intact, with the sender's link holding at most window × chunk bytes", async () => {
    const chunkBytes = MiB;
    const windowChunks = 4;
    const nodes = await cluster(["a", "b"], { snapshotChunkBytes: chunkBytes, snapshotWindowChunks: windowChunks });
    const [a, b] = [at(nodes, 0), at(nodes, 1)];
    const sent = outcomes(a);
    const data = randomBytes(40 * MiB);
    const message = snapshotMessage("a", "b", data);
    a.transport.send(message);
    await waitFor("b receives the snapshot", () => snapshotsIn(b.received).length === 1, 30_000);
    await waitFor("a hears it was delivered", () => sent.length === 1);
    const got = snapshotsIn(b.received)[0] as SnapshotRequest;
    expect(sha(got.snapshot.data)).toBe(sha(data));
    expect({ ...got, snapshot: { ...got.snapshot, data: null } }).toStrictEqual({ ...message, snapshot: { ...message.snapshot, data: null } });
    expect(got.snapshot.data.constructor).toBe(Uint8Array);
    expect(sent).toEqual([["b", true]]);
    const aStats = a.transport.stats().peers["b"];
    // The queue plus the socket's unwritten bytes never held more than the window (frame overhead: < 1 KiB each).
    expect(aStats?.heldBytesPeak).toBeGreaterThan(chunkBytes);
    expect(aStats?.heldBytesPeak).toBeLessThanOrEqual(windowChunks * (chunkBytes + 1024));
    expect(aStats).toMatchObject({ snapshotsSent: 1, snapshotsFailed: 0, outgoingSnapshot: null, dropped: 0 });
    expect(a.transport.stats().peers["b"]?.sent).toBe(40); // 40 chunk frames, nothing else
    expect(b.transport.stats().peers["a"]).toMatchObject({ snapshotsReceived: 1, snapshotsRefused: 0, incomingSnapshot: null, received: 1 });
    expect(b.transport.stats().incomingSnapshotBytes).toBe(0);
  }, 60_000);

  it("small and empty snapshots go as one chunk each and are reported delivered", async () => {
    const nodes = await cluster(["a", "b"]);
    const [a, b] = [at(nodes, 0), at(nodes, 1)];
    const sent = outcomes(a);
    const small = snapshotMessage("a", "b", new Uint8Array([4, 5, 6]));
    const empty = { ...snapshotMessage("a", "b", new Uint8Array(0)), snapshot: { meta: { index: 0, term: 0, conf: { voters: ["a", "b"], learners: [] } }, data: new Uint8Array(0) } };
    a.transport.send(small);
    await waitFor("small delivered", () => sent.length === 1);
    a.transport.send(empty);
    await waitFor("empty delivered", () => sent.length === 2);
    expect(b.received).toStrictEqual([small, empty]);
    expect(sent).toEqual([
      ["b", true],
      ["b", true],
    ]);
  });

  it("a newer snapshot to the same peer supersedes one in progress: only the newer is delivered and reported", async () => {
    const nodes = await cluster(["a", "b"], { snapshotChunkBytes: 64 * 1024, snapshotWindowChunks: 1 });
    const [a, b] = [at(nodes, 0), at(nodes, 1)];
    const sent = outcomes(a);
    const older = snapshotMessage("a", "b", randomBytes(8 * MiB), 100);
    const newer = snapshotMessage("a", "b", randomBytes(MiB), 200);
    a.transport.send(older);
    await waitFor("the older transfer under way", () => (b.transport.stats().peers["a"]?.incomingSnapshot?.received ?? 0) > 0);
    a.transport.send(newer);
    await waitFor("newer delivered", () => sent.length === 1, 20_000);
    expect(sent).toEqual([["b", true]]);
    const got = snapshotsIn(b.received);
    expect(got.map((m) => m.snapshot.meta.index)).toEqual([200]);
    expect(sha((got[0] as SnapshotRequest).snapshot.data)).toBe(sha(newer.snapshot.data));
    expect(b.transport.stats().peers["a"]?.snapshotsInterrupted).toBe(1);
  });

  it("refuses a chunk with a bad checksum: logs it, delivers nothing, and a later good transfer still gets through", async () => {
    const b = await receiverWithFakePeer();
    const ws = await rawClient(b, "x");
    const data = randomBytes(100_000);
    const chunks = chunksOf(snapshotMessage("x", "b", data), 16_384, 1);
    const corrupted = chunks.map((c, i) => (i === 2 ? { ...c, data: Uint8Array.from(c.data, (v, j) => (j === 100 ? v ^ 0x40 : v)) } : c));
    await sendAll(ws, corrupted.map(encoded));
    await waitFor("the refusal", () => (b.transport.stats().peers["x"]?.snapshotsRefused ?? 0) >= 1);
    await waitFor("the leftover chunks are refused too", () => b.lines.filter((l) => l.msg === "refusing snapshot transfer").length === chunks.length - 2);
    const refusals = b.lines.filter((l) => l.msg === "refusing snapshot transfer");
    expect(refusals[0]).toMatchObject({ code: "CHUNK_CORRUPT", offset: 2 * 16_384, transferId: 1, peer: "x" });
    expect(b.received).toEqual([]);
    expect(b.transport.stats().incomingSnapshotBytes).toBe(0);
    expect(ws.readyState).toBe(WebSocket.OPEN); // a refused transfer is not a protocol violation

    // Whole-snapshot checksum: every chunk's CRC fine, the SHA-256 on the last one wrong.
    const badWhole = chunksOf(snapshotMessage("x", "b", data), 16_384, 2);
    const last = badWhole[badWhole.length - 1] as SnapshotChunkFrame;
    badWhole[badWhole.length - 1] = { ...last, sha256: new Uint8Array(32).fill(7) };
    await sendAll(ws, badWhole.map(encoded));
    await waitFor("the whole-snapshot refusal", () => b.lines.some((l) => l.msg === "refusing snapshot transfer" && l["code"] === "SNAPSHOT_CORRUPT"));
    expect(b.received).toEqual([]);

    const good = snapshotMessage("x", "b", data, 300);
    await sendAll(ws, chunksOf(good, 16_384, 3).map(encoded));
    await waitFor("the good transfer", () => b.received.length === 1);
    expect(sha((snapshotsIn(b.received)[0] as SnapshotRequest).snapshot.data)).toBe(sha(data));
    expect(b.transport.stats().peers["x"]).toMatchObject({ snapshotsReceived: 1, badFrames: 0 });
  });

  it("a malformed chunk frame closes the connection like any invalid frame, delivering nothing", async () => {
    const b = await receiverWithFakePeer();
    const ws = await rawClient(b, "x");
    const closed = new Promise<number>((resolve) => ws.on("close", (code) => resolve(code)));
    const [first] = chunksOf(snapshotMessage("x", "b", randomBytes(1000)), 100, 1);
    const { Packr } = await import("msgpackr");
    ws.send(new Packr({ useRecords: false }).pack({ ...first, offset: 5000 }), { binary: true });
    expect(await closed).toBe(1003);
    expect(b.received).toEqual([]);
    expect(b.transport.stats().peers["x"]?.badFrames).toBe(1);
  });

  it("an interrupted transfer (connection closed half-way) is discarded; the next one starts from scratch and only it is delivered", async () => {
    const b = await receiverWithFakePeer();
    const first = await rawClient(b, "x");
    const stale = chunksOf(snapshotMessage("x", "b", randomBytes(200_000), 100), 16_384, 1);
    await sendAll(first, stale.slice(0, 5).map(encoded));
    await waitFor("half of it arrived", () => b.transport.stats().peers["x"]?.incomingSnapshot?.received === 5 * 16_384);
    first.terminate();
    await waitFor("the interrupted transfer is discarded", () => b.transport.stats().peers["x"]?.snapshotsInterrupted === 1);
    expect(b.transport.stats().incomingSnapshotBytes).toBe(0);

    const second = await rawClient(b, "x");
    // The rest of the old transfer (same id) on the new connection cannot resume it: refused, nothing delivered.
    await sendAll(second, stale.slice(5).map(encoded));
    const freshData = randomBytes(150_000);
    await sendAll(second, chunksOf(snapshotMessage("x", "b", freshData, 200), 16_384, 2).map(encoded));
    await waitFor("the fresh transfer", () => b.received.length === 1);
    const got = snapshotsIn(b.received);
    expect(got.map((m) => m.snapshot.meta.index)).toEqual([200]);
    expect(sha((got[0] as SnapshotRequest).snapshot.data)).toBe(sha(freshData));
  });

  it("between real transports: the receiver restarting mid-transfer fails it (ok=false); a fresh snapshot to the new receiver arrives once", async () => {
    const nodes = await cluster(["a", "b"], { snapshotChunkBytes: 64 * 1024, snapshotWindowChunks: 1 });
    const [a, b] = [at(nodes, 0), at(nodes, 1)];
    const sent = outcomes(a);
    a.transport.send(snapshotMessage("a", "b", randomBytes(16 * MiB), 100));
    await waitFor("the transfer under way", () => (b.transport.stats().peers["a"]?.incomingSnapshot?.received ?? 0) > MiB);
    await stopNode(b);
    expect(snapshotsIn(b.received)).toEqual([]);
    await waitFor("a reports the failure", () => sent.length === 1);
    expect(sent).toEqual([["b", false]]);
    expect(a.lines.some((l) => l.msg === "snapshot transfer failed" && /connection to the peer was lost/.test(String(l["reason"])))).toBe(true);

    const server = http.createServer();
    await listen(server, b.port);
    const b2 = startTransport("b", server, b.port, new Map([["a", a.url], ["b", b.url]]));
    cleanups.push(() => stopNode(b2));
    await waitFor("a reconnects", () => a.transport.stats().peers["b"]?.connected === true, 10_000);
    const freshData = randomBytes(2 * MiB);
    a.transport.send(snapshotMessage("a", "b", freshData, 200));
    await waitFor("the fresh snapshot is delivered", () => sent.length === 2, 20_000);
    expect(sent[1]).toEqual(["b", true]);
    const got = snapshotsIn(b2.received);
    expect(got.map((m) => m.snapshot.meta.index)).toEqual([200]);
    expect(sha((got[0] as SnapshotRequest).snapshot.data)).toBe(sha(freshData));
  }, 40_000);

  it("refuses a snapshot over the incoming cap and reports it failed to the sender", async () => {
    const nodes = await cluster(["a", "b"], { maxIncomingSnapshotBytes: MiB });
    const [a, b] = [at(nodes, 0), at(nodes, 1)];
    const sent = outcomes(a);
    a.transport.send(snapshotMessage("a", "b", randomBytes(2 * MiB)));
    await waitFor("the refusal reaches a", () => sent.length === 1);
    expect(sent).toEqual([["b", false]]);
    expect(b.lines.find((l) => l.msg === "refusing snapshot transfer")).toMatchObject({ code: "TOO_LARGE" });
    expect(a.lines.find((l) => l.msg === "snapshot transfer failed")?.["reason"]).toMatch(/TOO_LARGE/);
    expect(b.received).toEqual([]);
  });

  it("a sender whose acks never come back gives up after the stall timeout and reports failure", async () => {
    const nodes = await cluster(["a", "b"], { snapshotStallTimeoutMs: 300, pingIntervalMs: 100, snapshotChunkBytes: 64 * 1024 });
    const [a, b] = [at(nodes, 0), at(nodes, 1)];
    const sent = outcomes(a);
    b.transport.setLinkFilter((from, to) => !(from === "b" && to === "a")); // b's acks to a are lost
    a.transport.send(snapshotMessage("a", "b", randomBytes(MiB)));
    await waitFor("a gives up", () => sent.length === 1, 5_000);
    expect(sent).toEqual([["b", false]]);
    expect(a.lines.find((l) => l.msg === "snapshot transfer failed")?.["reason"]).toMatch(/no acknowledgement/);
    await waitFor("b discards its half", () => b.transport.stats().peers["a"]?.snapshotsInterrupted === 1, 5_000);
    expect(b.received).toEqual([]);
  });

  it("reports ok=false, later and never synchronously, for a snapshot to an unknown or filtered peer", async () => {
    const nodes = await cluster(["a", "b"]);
    const a = at(nodes, 0);
    const sent = outcomes(a);
    a.transport.send(snapshotMessage("a", "nobody", new Uint8Array([1])));
    a.transport.setLinkFilter(() => false);
    a.transport.send(snapshotMessage("a", "b", new Uint8Array([1])));
    expect(sent).toEqual([]);
    await waitFor("both reported", () => sent.length === 2);
    expect(sent).toEqual([
      ["nobody", false],
      ["b", false],
    ]);
  });
});
