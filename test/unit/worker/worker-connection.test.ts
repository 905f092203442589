// The worker SDK's connection (src/worker/index.ts) against fake nodes (fake-node.ts): it registers with the
// token, moves to another node when its node goes (listing the attempts it still runs), and follows notLeader.
import { afterEach, describe, expect, it } from "vitest";
import { nextReconnectDelayMs, Worker, type WorkerHandler } from "../../../src/worker/index.js";
import { FakeNode, until } from "./fake-node.js";

const nodes: FakeNode[] = [];
const workers: Worker[] = [];
afterEach(async () => {
  await Promise.all(workers.splice(0).map((w) => w.close()));
  await Promise.all(nodes.splice(0).map((n) => n.stop()));
});

async function fakeNodes(count: number): Promise<FakeNode[]> {
  const made = await Promise.all(Array.from({ length: count }, (_, i) => FakeNode.start(`n${i + 1}`)));
  nodes.push(...made);
  return made;
}

function worker(urls: string[], handler: WorkerHandler = () => ({ ok: true })): Worker {
  const w = new Worker({ urls, token: "sekrit", id: "w1", capacity: 2, tags: ["gpu"], handler });
  workers.push(w);
  return w;
}

describe("Worker connection", () => {
  it("registers with the token, its capacity and tags, and starts once registered", async () => {
    const [a] = await fakeNodes(1);
    await worker([a!.url]).start();
    expect(a!.authorizations).toEqual(["Bearer sekrit"]);
    expect(a!.framesOf("register")).toEqual([{ type: "register", v: 1, id: "w1", capacity: 2, tags: ["gpu"], running: [] }]);
  });

  it("reconnects to another node when its node goes, listing the attempt it still runs", async () => {
    const [a, b] = await fakeNodes(2);
    let release!: () => void;
    const w = worker([a!.url, b!.url], () => new Promise((resolve) => (release = () => resolve({ ok: true }))));
    await w.start();
    a!.send({ type: "assign", taskId: "t1", attempt: 3, payload: {} });
    await until("the attempt running", () => w.active === 1);
    await a!.stop();
    await until("a registration on the second node", () => b!.framesOf("register").length === 1);
    expect(b!.framesOf("register")[0]!.running).toEqual([{ taskId: "t1", attempt: 3 }]);
    // The attempt kept running across the move; its report goes to the new node.
    release();
    await until("the report on the second node", () => b!.framesOf("complete").length === 1);
    expect(b!.framesOf("complete")[0]).toEqual({ type: "complete", taskId: "t1", attempt: 3, result: { ok: true } });
  });

  it("a report with no answer is sent again after the next registration", async () => {
    const [a, b] = await fakeNodes(2);
    const w = worker([a!.url, b!.url]);
    await w.start();
    a!.send({ type: "assign", taskId: "t2", attempt: 1, payload: {} });
    await until("the report on the first node", () => a!.framesOf("complete").length === 1);
    await a!.stop(); // gone before answering it
    await until("the report again on the second node", () => b!.framesOf("complete").length === 1);
    b!.send({ type: "accepted", taskId: "t2", attempt: 1, state: "completed" });
  });

  it("follows notLeader to the leader's url", async () => {
    const [follower, leader, other] = await fakeNodes(3);
    follower!.answerRegister = () => ({ type: "notLeader", leaderId: "n2", leaderUrl: leader!.url });
    // The list puts another node second: the worker must go where it was told, not down its list.
    await worker([follower!.url, other!.url]).start();
    expect(leader!.framesOf("register")).toHaveLength(1);
    expect(other!.frames).toEqual([]);
  });

  it("reconnect backoff doubles to 2 s, and to a quarter of workerTimeoutMs once a node has said it", () => {
    const sequence = (workerTimeoutMs: number | null) => {
      const out = [50];
      while (out.length < 8) out.push(nextReconnectDelayMs(out.at(-1)!, workerTimeoutMs));
      return out;
    };
    expect(sequence(null)).toEqual([50, 100, 200, 400, 800, 1600, 2000, 2000]);
    expect(sequence(1000)).toEqual([50, 100, 200, 250, 250, 250, 250, 250]);
    expect(sequence(100)).toEqual([50, 50, 50, 50, 50, 50, 50, 50]); // never below the 50 ms floor
    expect(sequence(60_000)).toEqual(sequence(null));
  });

  it("through an election's 'no leader yet' answers it keeps retrying within the new leader's grace", async () => {
    const [a] = await fakeNodes(1);
    a!.answerRegister = (f) => ({ type: "registered", v: 1, id: f.id, leaderId: "n1", heartbeatMs: 100, workerTimeoutMs: 400 });
    const delays: number[] = [];
    const w = new Worker({
      urls: [a!.url], token: "sekrit", id: "w1", handler: () => ({ ok: true }),
      log: (_level, message, fields) => void (message === "reconnecting" && delays.push(fields!.delayMs as number)),
    });
    workers.push(w);
    await w.start();
    // The leader steps down: eight "no leader yet" answers, then it registers the worker again.
    let refusals = 0;
    a!.answerRegister = (f) =>
      ++refusals <= 8 ? { type: "notLeader", leaderId: null, leaderUrl: null } : { type: "registered", v: 1, id: f.id, leaderId: "n1", heartbeatMs: 100, workerTimeoutMs: 400 };
    a!.last!.close(1000, "stepped down");
    await until("registered again", () => a!.framesOf("register").length === 10, 30_000);
    expect(delays).toHaveLength(9);
    expect(Math.max(...delays)).toBeLessThanOrEqual(100); // a quarter of 400 ms, where before it reached 2 s
  });

  it("a notLeader without a url (no leader known yet): the next node of the list", async () => {
    const [a, b] = await fakeNodes(2);
    a!.answerRegister = () => ({ type: "notLeader", leaderId: null, leaderUrl: null });
    await worker([a!.url, b!.url]).start();
    expect(b!.framesOf("register")).toHaveLength(1);
  });

  it("a handler's progress goes out as a progress frame of its attempt", async () => {
    const [a] = await fakeNodes(1);
    await worker([a!.url], ({ progress }) => (progress({ half: true }), { ok: true })).start();
    a!.send({ type: "assign", taskId: "t5", attempt: 2, payload: {} });
    await until("the report", () => a!.framesOf("complete").length === 1);
    expect(a!.framesOf("progress")).toEqual([{ type: "progress", taskId: "t5", attempt: 2, progress: { half: true } }]);
  });

  it("refuses a node url it cannot use, at construction (not later in a timer)", () => {
    expect(() => new Worker({ urls: ["::nope::"], token: "t", id: "w1", handler: () => null })).toThrow(expect.objectContaining({ code: "BAD_ARGS" }));
    expect(() => new Worker({ urls: ["ftp://h:1"], token: "t", id: "w1", handler: () => null })).toThrow(expect.objectContaining({ code: "BAD_ARGS" }));
  });
});
