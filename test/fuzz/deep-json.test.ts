// Deep and large JSON against a real three-node cluster, sent to every node (followers and leader alike): a
// payload, result or error nested past the scheduler's limit must get 400 BAD_FIELD naming the field and the limit
// from whichever node it reaches, never a 5xx with Retry-After (a follower used to re-serialize a 5,000-level body
// for the leader and answer 503 NO_LEADER "Maximum call stack size exceeded"), and must change nothing. A body
// under the size limit must be taken through a follower as through the leader (a follower used to forward a
// re-serialization up to 4× larger, which the leader refused with 413).
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { Cluster, waitFor, type HttpAnswer } from "../integration/cluster-harness.js";
import { MAX_BODY_BYTES } from "../../src/api/http-util.js";
import { MAX_JSON_DEPTH } from "../../src/scheduler/json-value.js";
import { rawRequest } from "./harness.js";

/** JSON text of `levels` arrays around a 0: the 0 sits at depth `levels` (the root is depth 0). */
function nestedText(levels: number): string {
  return `${"[".repeat(levels)}0${"]".repeat(levels)}`;
}

/** Over the limit by one, the tester's depths, and as deep as a 1 MiB body allows. */
const TOO_DEEP_LEVELS = [MAX_JSON_DEPTH + 1, 100, 4_000, 5_000, 20_000, 524_000];
const LONG_TASK = "deep-long";

/** JSON text of exactly `size` bytes: `{<prefix>"<key>":[1e20,...]}` padded with spaces. JSON.stringify of its
 *  value is about 4× larger (1e20 is written 100000000000000000000). */
function numbersBody(size: number, key: string, prefix = ""): string {
  const head = `{${prefix}"${key}":[`;
  const text = `${head}${Array<string>(Math.floor((size - head.length - 2) / 5)).fill("1e20").join(",")}]`;
  return `${text}${" ".repeat(size - text.length - 1)}}`;
}

let cluster: Cluster;

beforeAll(async () => {
  cluster = await Cluster.start({ nodes: 3 });
  await cluster.waitForLeader();
});

afterAll(async () => {
  await cluster?.stopAll();
});

/** The nodes in the order to try them: followers first (the path that forwards), the leader last. */
async function followersFirst(): Promise<string[]> {
  const leader = await cluster.waitForLeader();
  return [...cluster.ids.filter((id) => id !== leader), leader];
}

function post(node: string, path: string, rawBody: string): Promise<HttpAnswer> {
  return cluster.request(node, "POST", path, { rawBody, timeoutMs: 15_000 });
}

/** A write that must succeed, sent the way the contract tells a client to: on 503/504 (a leader change, which a
 *  busy shared machine can cause at any time) it is retried with the same bytes (the same id for a submit) on the
 *  new leader. The stall that made a large body itself cost the leader its leadership is fixed in src (see
 *  test/unit/node/large-submit-yield.test.ts); this only keeps the test from depending on an idle machine. */
const FAILOVER_RETRIES = 6;

async function postThroughFailover(first: string, path: string, rawBody: string): Promise<{ answer: HttpAnswer; via: string }> {
  let answer: HttpAnswer | undefined;
  let via = first;
  for (let attempt = 0; attempt < FAILOVER_RETRIES; attempt++) {
    answer = await post(via, path, rawBody);
    if (answer.status !== 503 && answer.status !== 504) return { answer, via };
    via = await cluster.waitForLeader(); // the retry goes straight to the new leader: one hop less to race
  }
  return { answer: answer!, via };
}

/** Completes `taskId` with `body(attempt)` at its current attempt, re-reading the attempt when a reassignment (a
 *  worker declared dead on a busy machine) made it stale, and going through failovers as postThroughFailover. */
async function completeCurrent(first: string, taskId: string, body: (attempt: number) => string): Promise<HttpAnswer> {
  let answer: HttpAnswer | undefined;
  for (let tries = 0; tries < FAILOVER_RETRIES; tries++) {
    const leader = await cluster.waitForLeader();
    const t = await waitFor(`${taskId} to be assigned`, 15_000, async () => {
      const got = await cluster.get(leader, taskId).catch(() => null);
      return got?.state === "assigned" ? (got as { attempt: number }) : undefined;
    });
    ({ answer } = await postThroughFailover(first, `/v1/tasks/${taskId}/complete`, body(t.attempt)));
    if (answer.status !== 409) return answer;
  }
  return answer!;
}

function expectBadField(a: HttpAnswer, field: string, where: string): void {
  const got = `${where} → ${a.status} retry-after=${a.headers.get("retry-after")} ${JSON.stringify(a.body).slice(0, 300)}`;
  expect(a.status, got).toBe(400);
  expect(a.headers.get("retry-after"), got).toBeNull();
  expect(a.body, got).toEqual({ error: { code: "BAD_FIELD", message: `${field}: nested deeper than ${MAX_JSON_DEPTH} levels` } });
}

function expectAllRunning(): void {
  for (const id of cluster.ids) expect(cluster.isRunning(id), `${id} exited:\n${cluster.logTail(id)}`).toBe(true);
}

describe("deep JSON on a three-node cluster", () => {
  it("refuses a submit nested too deep with 400 BAD_FIELD on followers and leader, and creates nothing", async () => {
    const nodes = await followersFirst();
    const refused: string[] = [];
    for (const levels of TOO_DEEP_LEVELS) {
      for (const node of nodes) {
        const id = `deep-${levels}-${node}`;
        expectBadField(await post(node, "/v1/tasks", `{"id":"${id}","payload":${nestedText(levels)}}`), "payload", `submit ${levels} levels via ${node}`);
        // Objects nest the same way (six bytes a level: at most ~170,000 fit in the body limit).
        const objectLevels = Math.min(levels, 170_000);
        const objects = `${'{"a":'.repeat(objectLevels)}0${"}".repeat(objectLevels)}`;
        expectBadField(await post(node, "/v1/tasks", `{"id":"${id}-o","payload":${objects}}`), "payload", `submit ${levels} object levels via ${node}`);
        refused.push(id, `${id}-o`);
      }
    }
    expectAllRunning();
    const leader = await cluster.waitForLeader();
    for (const id of refused) expect(await cluster.get(leader, id), id).toBeNull();
  });

  it("accepts a payload nested exactly to the limit through a follower", async () => {
    const [follower] = await followersFirst();
    const a = await post(follower!, "/v1/tasks", `{"id":"deep-at-limit","payload":${nestedText(MAX_JSON_DEPTH)}}`);
    expect(a.status, JSON.stringify(a.body).slice(0, 300)).toBe(201);
    expect(a.body.payload).toEqual(JSON.parse(nestedText(MAX_JSON_DEPTH)));
  });

  it("refuses complete's result and fail's error nested too deep with 400 BAD_FIELD on every node, and the attempt stays current", async () => {
    const leader = await cluster.waitForLeader();
    const s = await cluster.submit(leader, { id: LONG_TASK, payload: { sleepMs: 3_600_000 } });
    expect(s.status).toBe(201);
    const assigned = await waitFor(`${LONG_TASK} to be assigned`, 15_000, async () => {
      const t = await cluster.get(leader, LONG_TASK).catch(() => null);
      return t?.state === "assigned" ? (t as { attempt: number }) : undefined;
    });
    const nodes = await followersFirst();
    for (const levels of TOO_DEEP_LEVELS) {
      for (const node of nodes) {
        const deep = nestedText(levels);
        expectBadField(await post(node, `/v1/tasks/${LONG_TASK}/complete`, `{"attempt":${assigned.attempt},"result":${deep}}`), "result", `complete ${levels} levels via ${node}`);
        expectBadField(await post(node, `/v1/tasks/${LONG_TASK}/fail`, `{"attempt":${assigned.attempt},"error":${deep}}`), "error", `fail ${levels} levels via ${node}`);
      }
    }
    expectAllRunning();
    // Refused requests changed nothing: the task is still live (a busy machine may have reassigned it meanwhile, which
    // only raises the attempt; a refused complete or fail would have finished it).
    const t = await cluster.get(await cluster.waitForLeader(), LONG_TASK);
    expect(["assigned", "pending"]).toContain(t.state);
    expect(t.attempt).toBeGreaterThanOrEqual(assigned.attempt);

    // A result nested exactly to the limit completes it, through a follower.
    const done = await completeCurrent((await followersFirst())[0]!, LONG_TASK, (attempt) => `{"attempt":${attempt},"result":${nestedText(MAX_JSON_DEPTH)}}`);
    expect(done.status, JSON.stringify(done.body).slice(0, 300)).toBe(200);
    expect(done.body).toMatchObject({ state: "completed", result: JSON.parse(nestedText(MAX_JSON_DEPTH)) });
  });

  it("takes a body at the size limit through a follower as through the leader, however large it re-serializes", async () => {
    const leader = await cluster.waitForLeader();
    const nodes = await followersFirst();
    for (const node of nodes) {
      // With an id, so that a retry after a failover cannot create a second task (the follower adding its own id to
      // an id-less body of this size is covered in test/unit/api/forward-body.test.ts).
      const idField = `"id":"big-numbers-${node}",`;
      const { answer: a } = await postThroughFailover(node, "/v1/tasks", numbersBody(MAX_BODY_BYTES, "payload", idField));
      expect([200, 201], `numbers via ${node}: ${JSON.stringify(a.body).slice(0, 300)}`).toContain(a.status);
      expect(a.body.payload).toHaveLength(Math.floor((MAX_BODY_BYTES - `{${idField}"payload":[`.length - 2) / 5));
      // Invalid UTF-8 decodes to U+FFFD, three bytes for each byte sent.
      const head = Buffer.from(`{"id":"big-utf8-${node}","payload":"`);
      const body = Buffer.concat([head, Buffer.alloc(MAX_BODY_BYTES - head.length - 2, 0xff), Buffer.from('"}')]);
      let u = { status: 0, text: "", body: undefined as unknown };
      for (let attempt = 0, to = node; attempt < FAILOVER_RETRIES && (attempt === 0 || u.status === 503 || u.status === 504); attempt++) {
        if (attempt > 0) to = await cluster.waitForLeader(); // a failover: retry the same id, as a client must
        u = await rawRequest(cluster.port(to), {
          method: "POST",
          path: "/v1/tasks",
          headers: { authorization: `Bearer ${cluster.token}`, "content-type": "application/json" },
          body,
          timeoutMs: 15_000,
        });
      }
      expect([200, 201], `invalid UTF-8 via ${node}: ${u.text.slice(0, 300)}`).toContain(u.status);
      expect((u.body as { payload: string }).payload).toBe("\uFFFD".repeat(body.length - head.length - 2));
    }

    // complete's result, too.
    const s = await cluster.submit(leader, { id: "big-long", payload: { sleepMs: 3_600_000 } });
    expect(s.status).toBe(201);
    const done = await completeCurrent(nodes[0]!, "big-long", (attempt) => numbersBody(MAX_BODY_BYTES, "result", `"attempt":${attempt},`));
    expect(done.status, JSON.stringify(done.body).slice(0, 300)).toBe(200);
    expect(done.body.state).toBe("completed");
    expectAllRunning();
  });
});
