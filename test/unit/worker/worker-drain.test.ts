// Draining the worker SDK (src/worker/index.ts, close({ drain: true })) against a fake node: it asks for capacity
// 0, runs what was assigned before the node's `draining` answer, reports it, says bye only once every report was
// answered; a reconnect while draining registers with capacity 0. close() without drain aborts what runs.
import { afterEach, describe, expect, it } from "vitest";
import { Worker, type WorkerTask } from "../../../src/worker/index.js";
import { FakeNode, until } from "./fake-node.js";

const nodes: FakeNode[] = [];
const workers: Worker[] = [];
afterEach(async () => {
  await Promise.all(workers.splice(0).map((w) => w.close()));
  await Promise.all(nodes.splice(0).map((n) => n.stop()));
});

/** A worker whose handler holds each attempt until the test releases it. */
async function heldWorker(node: FakeNode): Promise<{ w: Worker; started: WorkerTask[]; release: (taskId: string) => void }> {
  const started: WorkerTask[] = [];
  const releases = new Map<string, () => void>();
  const w = new Worker({
    urls: [node.url],
    token: "t",
    id: "w1",
    capacity: 4,
    handler: (task) => {
      started.push(task);
      return new Promise((resolve) => releases.set(task.id, () => resolve({ done: task.id })));
    },
  });
  workers.push(w);
  await w.start();
  return { w, started, release: (id) => releases.get(id)!() };
}

describe("Worker drain", () => {
  it("takes nothing new, finishes what was assigned before `draining`, and says bye after the last answer", async () => {
    const node = await FakeNode.start();
    nodes.push(node);
    const { w, started, release } = await heldWorker(node);
    node.send({ type: "assign", taskId: "t1", attempt: 1, payload: {} });
    await until("t1 running", () => started.length === 1);
    let closed = false;
    const closing = w.close({ drain: true }).then(() => (closed = true));
    await until("the drain frame", () => node.framesOf("drain").length === 1);
    // Assigned before the node committed capacity 0: it must still run.
    node.send({ type: "assign", taskId: "t2", attempt: 1, payload: {} });
    node.send({ type: "draining", capacity: 0 });
    await until("t2 running", () => started.length === 2);
    release("t1");
    release("t2");
    await until("both reports", () => node.framesOf("complete").length === 2);
    await new Promise((r) => setTimeout(r, 50));
    expect(closed).toBe(false); // the reports are not answered yet
    expect(node.framesOf("bye")).toEqual([]);
    node.send({ type: "accepted", taskId: "t1", attempt: 1, state: "completed" });
    node.send({ type: "accepted", taskId: "t2", attempt: 1, state: "completed" });
    await closing;
    expect(node.frames.map((f) => f.type).filter((t) => t !== "heartbeat").slice(-3)).toEqual(["complete", "complete", "bye"]);
    expect(started.every((t) => !t.signal.aborted)).toBe(true);
  });

  it("a reconnect while draining registers with capacity 0 and asks to drain again", async () => {
    const node = await FakeNode.start();
    nodes.push(node);
    const { w, started, release } = await heldWorker(node);
    node.send({ type: "assign", taskId: "t1", attempt: 1, payload: {} });
    await until("t1 running", () => started.length === 1);
    const closing = w.close({ drain: true });
    await until("the drain frame", () => node.framesOf("drain").length === 1);
    node.last!.terminate();
    await until("a second registration", () => node.framesOf("register").length === 2);
    expect(node.framesOf("register")[1]).toMatchObject({ capacity: 0, running: [{ taskId: "t1", attempt: 1 }] });
    await until("the drain frame again", () => node.framesOf("drain").length === 2);
    node.send({ type: "draining", capacity: 0 });
    release("t1");
    await until("the report", () => node.framesOf("complete").length === 1);
    node.send({ type: "accepted", taskId: "t1", attempt: 1, state: "completed" });
    await closing;
    expect(node.framesOf("bye")).toHaveLength(1);
  });

  it("close() without drain aborts what runs and reports nothing", async () => {
    const node = await FakeNode.start();
    nodes.push(node);
    const { w, started } = await heldWorker(node);
    node.send({ type: "assign", taskId: "t1", attempt: 1, payload: {} });
    await until("t1 running", () => started.length === 1);
    await w.close();
    expect(started[0]!.signal.aborted).toBe(true);
    expect((started[0]!.signal.reason as { code?: string }).code).toBe("WORKER_CLOSED");
    expect(node.framesOf("complete")).toEqual([]);
    expect(node.framesOf("bye")).toEqual([]);
  });
});
