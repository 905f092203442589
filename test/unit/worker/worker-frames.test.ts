// What the worker SDK (src/worker/index.ts) does with what a node sends: heartbeats at the node's heartbeatMs (a
// sane default when the value is bad), and bad frames ignored without a crash, a bogus task, or a lost connection.
import { afterEach, describe, expect, it, vi } from "vitest";
import { Worker, type WorkerTask } from "../../../src/worker/index.js";
import { FakeNode, until } from "./fake-node.js";

const nodes: FakeNode[] = [];
const workers: Worker[] = [];
afterEach(async () => {
  vi.useRealTimers();
  await Promise.all(workers.splice(0).map((w) => w.close()));
  await Promise.all(nodes.splice(0).map((n) => n.stop()));
});

async function started(registered: (f: Record<string, unknown>) => Record<string, unknown>): Promise<{ node: FakeNode; w: Worker; tasks: WorkerTask[] }> {
  const node = await FakeNode.start();
  nodes.push(node);
  node.answerRegister = (f) => ({ type: "registered", v: 1, id: f.id, leaderId: "n1", ...registered(f) }) as never;
  const tasks: WorkerTask[] = [];
  const w = new Worker({ urls: [node.url], token: "t", id: "w1", handler: (task) => (tasks.push(task), { ok: true }) });
  workers.push(w);
  await w.start();
  return { node, w, tasks };
}

describe("Worker heartbeats", () => {
  // Fake intervals only: the sockets stay real, the heartbeat clock is the test's (no timed assertion).
  it("one frame every heartbeatMs the node gave, and none once the connection is gone", async () => {
    vi.useFakeTimers({ toFake: ["setInterval", "clearInterval"] });
    const { node } = await started(() => ({ heartbeatMs: 100, workerTimeoutMs: 400 }));
    vi.advanceTimersByTime(99);
    await new Promise((r) => setTimeout(r, 20));
    expect(node.framesOf("heartbeat")).toHaveLength(0);
    vi.advanceTimersByTime(1 + 4 * 100);
    await until("5 heartbeats", () => node.framesOf("heartbeat").length === 5);
    await node.stop();
    vi.advanceTimersByTime(1000);
    await new Promise((r) => setTimeout(r, 20));
    expect(node.framesOf("heartbeat")).toHaveLength(5);
  });

  it("a missing or bad heartbeatMs: every 250 ms", async () => {
    for (const heartbeatMs of [undefined, 0, -5, "fast"]) {
      vi.useFakeTimers({ toFake: ["setInterval", "clearInterval"] });
      const { node, w } = await started(() => (heartbeatMs === undefined ? {} : { heartbeatMs }));
      vi.advanceTimersByTime(249);
      await new Promise((r) => setTimeout(r, 20));
      expect(node.framesOf("heartbeat"), String(heartbeatMs)).toHaveLength(0);
      vi.advanceTimersByTime(1);
      await until(`a heartbeat (${String(heartbeatMs)})`, () => node.framesOf("heartbeat").length === 1);
      await w.close();
      vi.useRealTimers();
    }
  });
});

describe("Worker and bad frames from the node", () => {
  it("ignores what is not a frame it knows, keeps its connection, and still runs a good assignment", async () => {
    const { node, tasks } = await started(() => ({ heartbeatMs: 60_000 }));
    for (const bad of [
      "not json",
      "null",
      "[1,2]",
      "42",
      '{"type":5}',
      '{"type":"whatever"}',
      '{"type":"assign"}',
      '{"type":"assign","taskId":"t1","attempt":"x","payload":{}}',
      '{"type":"assign","taskId":7,"attempt":1,"payload":{}}',
      '{"type":"assign","taskId":"t1","attempt":0,"payload":{}}',
      '{"type":"abort"}',
      '{"type":"accepted"}',
      '{"type":"error"}',
    ]) {
      node.send(bad);
    }
    node.last!.send(Buffer.from([0xff, 0x00]));
    node.send({ type: "assign", taskId: "good", attempt: 1, payload: { n: 1 } });
    await until("the good assignment's report", () => node.framesOf("complete").length === 1);
    expect(tasks.map((t) => [t.id, t.attempt])).toEqual([["good", 1]]);
    expect(node.connections).toHaveLength(1);
  });

  it("a notLeader with a url that is not one: back to its own list, no crash", async () => {
    const { node } = await started(() => ({ heartbeatMs: 60_000 }));
    node.send({ type: "notLeader", leaderId: "n9", leaderUrl: "::not a url::" });
    node.last!.close(1000, "not the leader");
    await until("a registration again on the listed node", () => node.framesOf("register").length === 2);
  });
});
