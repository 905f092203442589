// Client JSON values (a task's payload, complete's result, fail's error) are checked where the request arrives:
// 400 BAD_FIELD naming the field and the limit, on any node, before anything is forwarded to the leader or
// proposed. The check walks without recursion: a 1 MiB body can nest ~500,000 levels, far past what the call
// stack (or JSON.stringify, from ~5,000 levels) survives, and a follower that re-serialized such a body to forward
// it answered 503 NO_LEADER ("Maximum call stack size exceeded") to a request that can never succeed.
import { createServer, type IncomingMessage, type Server } from "node:http";
import type { AddressInfo } from "node:net";
import { afterEach, describe, expect, it } from "vitest";
import { handleRequest, type ApiBackend } from "../../../src/api/router.js";
import { NodeApi } from "../../../src/node/node-api.js";
import type { NodeInternals } from "../../../src/node/node.js";
import { MAX_JSON_DEPTH, findJsonProblem, jsonProblem } from "../../../src/scheduler/json-value.js";
import { RaftschedError } from "../../../src/util/errors.js";

/** JSON text of `levels` arrays around a 0: the 0 sits at depth `levels` (the root is depth 0). */
function nestedText(levels: number): string {
  return `${"[".repeat(levels)}0${"]".repeat(levels)}`;
}

function nested(levels: number): unknown {
  return JSON.parse(nestedText(levels)) as unknown;
}

const TOO_DEEP = `nested deeper than ${MAX_JSON_DEPTH} levels`;
/** As deep as a 1 MiB body allows. */
const BODY_LIMIT_LEVELS = 524_000;

const servers: Server[] = [];
afterEach(async () => {
  await Promise.all(servers.splice(0).map((s) => new Promise((r) => s.close(r))));
});

async function listen(handler: (req: IncomingMessage, body: string) => { status: number; body: unknown }): Promise<string> {
  const server = createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on("data", (c: Buffer) => chunks.push(c));
    req.on("end", () => {
      const answer = handler(req, Buffer.concat(chunks).toString("utf8"));
      res.writeHead(answer.status, { "content-type": "application/json" });
      res.end(JSON.stringify(answer.body));
    });
  });
  servers.push(server);
  await new Promise<void>((r) => server.listen(0, "127.0.0.1", r));
  return `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
}

describe("findJsonProblem", () => {
  it("accepts values nested exactly MAX_JSON_DEPTH levels and refuses one level more", () => {
    expect(findJsonProblem(nested(MAX_JSON_DEPTH))).toBeNull();
    expect(findJsonProblem(JSON.parse(`${"{\"a\":".repeat(MAX_JSON_DEPTH)}0${"}".repeat(MAX_JSON_DEPTH)}`))).toBeNull();
    expect(findJsonProblem(nested(MAX_JSON_DEPTH + 1), "payload")).toMatchObject({ kind: "depth", reason: TOO_DEEP });
    // An empty container at the limit holds nothing deeper.
    expect(findJsonProblem(JSON.parse(`${"[".repeat(MAX_JSON_DEPTH + 1)}${"]".repeat(MAX_JSON_DEPTH + 1)}`))).toBeNull();
  });

  it("stops at the limit on values nested as deep as a 1 MiB body allows, without overflowing the stack", () => {
    for (const value of [nested(BODY_LIMIT_LEVELS), JSON.parse(`${"{\"k\":".repeat(200_000)}0${"}".repeat(200_000)}`)]) {
      const problem = findJsonProblem(value, "payload");
      expect(problem).toMatchObject({ kind: "depth", reason: TOO_DEEP });
      expect(problem!.path.length).toBeLessThanOrEqual(201);
    }
  });

  it("names the first problem in depth-first order, with its path", () => {
    expect(jsonProblem([1, [2, Number.POSITIVE_INFINITY], { a: new Date(0) }], "payload")).toBe("payload[1][1]: number is not finite");
    expect(jsonProblem({ a: [null, { b: Number.NaN }] })).toBe("$.a[1].b: number is not finite");
    expect(jsonProblem([{ ok: true }, new Uint8Array(1)])).toBe("$[1]: object is not a JSON value");
    expect(jsonProblem({ a: undefined })).toBe("$.a: undefined is not a JSON value");
    expect(jsonProblem(10n)).toBe("$: bigint is not a JSON value");
    expect(jsonProblem({ s: "x", n: -0, b: false, z: null, l: [], o: {} })).toBeNull();
  });

  it("shortens a path made of huge keys", () => {
    const key = "k".repeat(100_000);
    const problem = findJsonProblem({ [key]: { [key]: Number.NaN } }, "payload");
    expect(problem).toMatchObject({ kind: "number" });
    expect(problem!.path.length).toBeLessThanOrEqual(201);
  });
});

describe("the router checks client JSON before the backend sees it", () => {
  function recordingBackend(): { api: ApiBackend; calls: string[] } {
    const calls: string[] = [];
    const task = { id: "t", state: "pending", worker: null, attempt: 0, payload: null, priority: 0, maxAttempts: 3, createdIndex: 1, updatedIndex: 1 } as const;
    const api = {
      token: "tok",
      submit: async (input: { payload: unknown }) => {
        calls.push("submit");
        return { created: true, task: { ...task, payload: input.payload } };
      },
      complete: async () => {
        calls.push("complete");
        return task;
      },
      fail: async () => {
        calls.push("fail");
        return task;
      },
    } as unknown as ApiBackend;
    return { api, calls };
  }

  async function routerUrl(api: ApiBackend): Promise<string> {
    const server = createServer((req, res) => void handleRequest(api, req, res));
    servers.push(server);
    await new Promise<void>((r) => server.listen(0, "127.0.0.1", r));
    return `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  }

  async function post(url: string, path: string, body: string): Promise<{ status: number; retryAfter: string | null; error: { code: string; message: string } }> {
    const res = await fetch(url + path, { method: "POST", headers: { authorization: "Bearer tok", "content-type": "application/json" }, body });
    const parsed = (await res.json()) as { error: { code: string; message: string } };
    return { status: res.status, retryAfter: res.headers.get("retry-after"), error: parsed.error };
  }

  it("answers 400 BAD_FIELD naming the field and the limit for payload, result and error nested too deep", async () => {
    const { api, calls } = recordingBackend();
    const url = await routerUrl(api);
    for (const levels of [MAX_JSON_DEPTH + 1, 100, 5_000, BODY_LIMIT_LEVELS]) {
      const deep = nestedText(levels);
      for (const [path, body, name] of [
        ["/v1/tasks", `{"payload":${deep}}`, "payload"],
        ["/v1/tasks/t/complete", `{"attempt":1,"result":${deep}}`, "result"],
        ["/v1/tasks/t/fail", `{"attempt":1,"error":${deep}}`, "error"],
      ] as const) {
        const a = await post(url, path, body);
        expect({ levels, path, ...a }).toEqual({ levels, path, status: 400, retryAfter: null, error: { code: "BAD_FIELD", message: `${name}: ${TOO_DEEP}` } });
      }
    }
    expect(calls).toEqual([]);
  });

  it("answers 400 BAD_FIELD for a number JSON.parse reads as Infinity", async () => {
    const { api, calls } = recordingBackend();
    const url = await routerUrl(api);
    const a = await post(url, "/v1/tasks", `{"payload":{"n":[1e400]}}`);
    expect(a).toMatchObject({ status: 400, error: { code: "BAD_FIELD", message: "payload: number is not finite (at payload.n[0])" } });
    expect(calls).toEqual([]);
  });

  it("passes values nested exactly to the limit on", async () => {
    const { api, calls } = recordingBackend();
    const url = await routerUrl(api);
    const res = await fetch(`${url}/v1/tasks`, {
      method: "POST",
      headers: { authorization: "Bearer tok", "content-type": "application/json" },
      body: `{"payload":${nestedText(MAX_JSON_DEPTH)}}`,
    });
    expect(res.status).toBe(201);
    expect(((await res.json()) as { payload: unknown }).payload).toEqual(nested(MAX_JSON_DEPTH));
    expect(calls).toEqual(["submit"]);
  });
});

describe("a follower checks client JSON before it forwards (the embedding API calls the node directly)", () => {
  /** NodeApi on a follower whose leader is a recording HTTP server. */
  async function follower(): Promise<{ api: NodeApi; forwarded: string[] }> {
    const forwarded: string[] = [];
    const leaderUrl = await listen((req, body) => {
      forwarded.push(`${req.method} ${req.url} ${body.slice(0, 200)}`);
      const task = { id: "t1", state: "pending", attempt: 0, payload: JSON.parse(body).payload ?? null };
      return { status: req.url === "/v1/tasks" ? 201 : 200, body: task };
    });
    const node = {
      id: "n1",
      cfg: { token: "tok", electionTimeoutMs: [150, 300] },
      runner: { isLeader: false, knownLeader: "n2", waitForLeader: async () => undefined },
      newTaskId: () => "t1",
      leaderUrl: () => leaderUrl,
    } as unknown as NodeInternals;
    return { api: new NodeApi(node), forwarded };
  }

  async function refusal(p: Promise<unknown>): Promise<{ code: string; message: string }> {
    const err = await p.then(
      () => new Error("resolved"),
      (e: unknown) => e,
    );
    expect(err).toBeInstanceOf(RaftschedError);
    return { code: (err as RaftschedError).code, message: (err as RaftschedError).message };
  }

  it("refuses payload, result and error nested too deep with BAD_FIELD and forwards nothing", async () => {
    const { api, forwarded } = await follower();
    for (const levels of [MAX_JSON_DEPTH + 1, 100, 5_000, BODY_LIMIT_LEVELS]) {
      const deep = nested(levels) as never;
      expect(await refusal(api.submit({ payload: deep, maxAttempts: 3, priority: 0 }))).toEqual({ code: "BAD_FIELD", message: `payload: ${TOO_DEEP}` });
      expect(await refusal(api.complete("t1", 1, deep))).toEqual({ code: "BAD_FIELD", message: `result: ${TOO_DEEP}` });
      expect(await refusal(api.fail("t1", 1, deep))).toEqual({ code: "BAD_FIELD", message: `error: ${TOO_DEEP}` });
    }
    // The rest of a submit is checked as the router checks it, too.
    expect((await refusal(api.submit({ id: "a/b", payload: null, maxAttempts: 3, priority: 0 }))).code).toBe("BAD_FIELD");
    expect((await refusal(api.submit({ payload: null, maxAttempts: 0, priority: 0 }))).code).toBe("BAD_FIELD");
    expect(forwarded).toEqual([]);
  });

  it("forwards a valid submit, nested to the limit, with the id fixed here", async () => {
    const { api, forwarded } = await follower();
    const payload = nested(MAX_JSON_DEPTH) as never;
    const r = await api.submit({ payload, maxAttempts: 3, priority: 0 });
    expect(r.created).toBe(true);
    expect(r.task.payload).toEqual(payload);
    expect(forwarded).toHaveLength(1);
    expect(forwarded[0]).toMatch(/^POST \/v1\/tasks \{.*"id":"t1"/);
  });
});
