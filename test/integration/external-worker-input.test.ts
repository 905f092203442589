// Bad input on the external worker protocol (/v1/worker), against a real cluster: each case gets an error frame
// with a stable code, the connection is closed where that is the safe answer, and nothing else is disturbed (a
// task submitted afterwards still completes).
import WebSocket from "ws";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { Cluster, waitFor } from "./cluster-harness.js";

let cluster: Cluster;

interface Session {
  readonly ws: WebSocket;
  readonly frames: any[];
  readonly closed: Promise<number>;
  send(frame: unknown): void;
  next(type: string, timeoutMs?: number): Promise<any>;
}

async function open(nodeId: string, token: string | null = cluster.token): Promise<Session> {
  const url = `${cluster.url(nodeId).replace("http:", "ws:")}/v1/worker`;
  const ws = new WebSocket(url, token === null ? {} : { headers: { authorization: `Bearer ${token}` } });
  const frames: any[] = [];
  // A registered worker heartbeats (a silent one is declared dead after workerTimeoutMs and loses its task).
  let beat: NodeJS.Timeout | undefined;
  ws.on("message", (d) => {
    const f = JSON.parse(d.toString());
    frames.push(f);
    if (f.type === "registered") beat = setInterval(() => ws.readyState === WebSocket.OPEN && ws.send('{"type":"heartbeat"}'), 150);
  });
  const closed = new Promise<number>((resolve) => ws.on("close", (code) => resolve(code)));
  ws.on("close", () => clearInterval(beat));
  ws.on("error", () => {});
  await new Promise<void>((resolve, reject) => {
    ws.once("open", () => resolve());
    ws.once("error", reject);
  });
  // A timeout names what did arrive (a notLeader or a close explains a wait that an election cut short).
  const next = (type: string, timeoutMs = 30_000) =>
    waitFor(`a ${type} frame`, timeoutMs, () => frames.find((f) => f.type === type)).catch((err: Error) => {
      throw new Error(`${err.message}; frames seen: ${JSON.stringify(frames).slice(0, 500)}; socket state ${ws.readyState}`);
    });
  return { ws, frames, closed, send: (f) => ws.send(typeof f === "string" ? f : JSON.stringify(f)), next };
}

/** Registers on the leader; a node that lost leadership meanwhile answers notLeader, and a worker then tries the
 *  leader it names (as the SDK does) — the cases here are about error codes, not about riding out an election. */
async function registered(id: string, extra: Record<string, unknown> = {}): Promise<Session> {
  for (let tries = 1; ; tries++) {
    const s = await open(await cluster.waitForLeader());
    s.send({ type: "register", v: 1, id, capacity: 1, ...extra });
    const answer = await waitFor(`registered or notLeader for ${id}`, 30_000, () => s.frames.find((f) => f.type === "registered" || f.type === "notLeader"));
    if (answer.type === "registered") return s;
    s.ws.close();
    if (tries === 5) throw new Error(`${id}: notLeader 5 times in a row: ${JSON.stringify(answer)}`);
  }
}

async function errorCode(s: Session): Promise<string> {
  return (await s.next("error")).code;
}

beforeAll(async () => {
  // Elections are not what this file tests, and a raw session does not follow a new leader mid-case: timeouts
  // 4× the default keep a loaded 2-core box (load 20+) from electing in the middle of a case.
  cluster = await Cluster.start({ nodes: 3, memberWorkers: false, electionTimeoutMs: [600, 1200], heartbeatMs: 100 });
}, 60_000);

afterAll(async () => {
  await cluster?.stopAll();
});

describe("external worker protocol: bad input", () => {
  it("a wrong or missing token: UNAUTHORIZED, closed", async () => {
    for (const token of ["wrong-token-123", null]) {
      const s = await open(await cluster.waitForLeader(), token);
      expect(await errorCode(s)).toBe("UNAUTHORIZED");
      expect(await s.closed).toBe(1008);
    }
    // Two refusals from one address: one log line (a worker retrying with a wrong token cannot flood the log).
    const leader = await cluster.waitForLeader();
    await waitFor("the refusal logged", 10_000, () => /refused worker connection/.test(cluster.logText(leader)) || null);
    expect(cluster.logText(leader).match(/refused worker connection/g)?.length).toBe(1);
  });

  it("a frame that is not JSON: BAD_FRAME, closed; a frame before register: NOT_REGISTERED, closed", async () => {
    const a = await open(await cluster.waitForLeader());
    a.send("{not json");
    expect(await errorCode(a)).toBe("BAD_FRAME");
    expect(await a.closed).toBe(1008);
    const b = await open(await cluster.waitForLeader());
    b.send({ type: "heartbeat" });
    expect(await errorCode(b)).toBe("NOT_REGISTERED");
    expect(await b.closed).toBe(1008);
  });

  it("an unsupported version, a malformed id, a member's id: refused with their codes, closed", async () => {
    const cases: Array<[Record<string, unknown>, string]> = [
      [{ type: "register", v: 99, id: "x1" }, "UNSUPPORTED_VERSION"],
      [{ type: "register", v: 1, id: "bad id!" }, "BAD_WORKER_ID"],
      [{ type: "register", v: 1, id: "n2" }, "ID_IS_MEMBER"],
    ];
    for (const [frame, code] of cases) {
      const s = await open(await cluster.waitForLeader());
      s.send(frame);
      expect(await errorCode(s)).toBe(code);
      expect(await s.closed).toBe(1008);
    }
  });

  it("a second live connection with the same id: ID_IN_USE, the first one untouched", async () => {
    const first = await registered("dup-1");
    const second = await open(await cluster.waitForLeader());
    second.send({ type: "register", v: 1, id: "dup-1" });
    expect(await errorCode(second)).toBe("ID_IN_USE");
    expect(await second.closed).toBe(1008);
    expect(first.ws.readyState).toBe(WebSocket.OPEN);
    first.ws.close();
  });

  it("unknown type and unknown fields: an error frame, the connection stays open", async () => {
    const s = await registered("lenient-1");
    s.send({ type: "teleport" });
    expect(await errorCode(s)).toBe("UNKNOWN_TYPE");
    s.frames.length = 0;
    s.send({ type: "heartbeat", extra: 1 });
    expect(await errorCode(s)).toBe("BAD_FIELD");
    expect(s.ws.readyState).toBe(WebSocket.OPEN);
    s.ws.close();
  });

  it("a completion of a task not held: NOT_HELD; an oversized result: RESULT_TOO_LARGE; the task is unharmed", async () => {
    // The workers of the earlier cases closed their connections: once they are declared dead, nothing else can
    // take the task.
    await waitFor("earlier workers declared dead", 30_000, async () => {
      const rows = (await cluster.request(await cluster.waitForLeader(), "GET", "/v1/workers")).body as any[];
      return Array.isArray(rows) && rows.every((w) => !w.alive) ? true : undefined;
    }, 100);
    const s = await registered("holder-1", { capacity: 1 });
    const r = await cluster.submitWithRetry({ id: "held-1", payload: { n: 1 } });
    expect([200, 201]).toContain(r.status);
    // Attempt 1 may have gone to a worker of an earlier case that closed and is not yet declared dead.
    const assign = await s.next("assign");
    expect(assign).toMatchObject({ taskId: "held-1", payload: { n: 1 } });
    const attempt = assign.attempt as number;
    s.send({ type: "complete", taskId: "no-such-task", attempt: 1 });
    expect((await s.next("error")).code).toBe("NOT_HELD");
    s.frames.length = 0;
    s.send({ type: "complete", taskId: "held-1", attempt: attempt + 1 }); // an attempt never issued
    expect((await s.next("error")).code).toBe("NOT_HELD");
    s.frames.length = 0;
    s.send({ type: "complete", taskId: "held-1", attempt, result: "x".repeat(1_100_000) });
    expect(await s.next("error")).toMatchObject({ code: "RESULT_TOO_LARGE", taskId: "held-1" });
    expect((await cluster.get(await cluster.waitForLeader(), "held-1")).state).toBe("assigned");
    // Another worker cannot finish this worker's attempt.
    const thief = await registered("thief-1", { capacity: 0 });
    thief.send({ type: "complete", taskId: "held-1", attempt, result: "stolen" });
    expect((await thief.next("error")).code).toBe("NOT_HELD");
    s.send({ type: "complete", taskId: "held-1", attempt, result: "mine" });
    expect(await s.next("accepted")).toMatchObject({ taskId: "held-1", attempt, state: "completed" });
    expect((await cluster.get(await cluster.waitForLeader(), "held-1")).result).toBe("mine");
    s.ws.close();
    thief.ws.close();
  });

  it("a follower answers notLeader with the leader's url and closes", async () => {
    const leader = await cluster.waitForLeader();
    const follower = cluster.ids.find((id) => id !== leader)!;
    const s = await open(follower);
    s.send({ type: "register", v: 1, id: "follower-1" });
    expect(await s.next("notLeader")).toMatchObject({ leaderId: leader, leaderUrl: cluster.url(leader) });
    await s.closed;
  });

  it("after all of it the cluster still runs work", async () => {
    const s = await registered("after-1", { capacity: 2 });
    await cluster.submitWithRetry({ id: "after-task", payload: {} });
    const assign = await s.next("assign");
    s.send({ type: "complete", taskId: assign.taskId, attempt: assign.attempt, result: { ok: true } });
    await s.next("accepted");
    const statuses = await cluster.statusAll();
    expect(statuses.size).toBe(3);
    s.ws.close();
  });
});
