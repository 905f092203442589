// Client JSON values (a task's payload, complete's result, fail's error) are checked where the request arrives:
// 400 BAD_FIELD naming the field and the limit, on any node, before anything is forwarded to the leader or
// proposed. The check walks without recursion: a 1 MiB body can nest ~500,000 levels, far past what the call
// stack (or JSON.stringify, from ~5,000 levels) survives, and a follower that re-serialized such a body to forward
// it answered 503 NO_LEADER ("Maximum call stack size exceeded") to a request that can never succeed.
import { describe, expect, it } from "vitest";
import { MAX_JSON_DEPTH, findJsonProblem, jsonProblem } from "../../../src/scheduler/json-value.js";
import { RaftschedError } from "../../../src/util/errors.js";
import { followerApi, post, recordingRouter } from "./helpers.js";

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
  it("answers 400 BAD_FIELD naming the field and the limit for payload, result and error nested too deep", async () => {
    const { url, calls } = await recordingRouter();
    for (const levels of [MAX_JSON_DEPTH + 1, 100, 5_000, BODY_LIMIT_LEVELS]) {
      const deep = nestedText(levels);
      for (const [path, body, name] of [
        ["/v1/tasks", `{"payload":${deep}}`, "payload"],
        ["/v1/tasks/t/complete", `{"attempt":1,"result":${deep}}`, "result"],
        ["/v1/tasks/t/fail", `{"attempt":1,"error":${deep}}`, "error"],
      ] as const) {
        const a = await post(url + path, body);
        expect({ levels, path, ...a }).toEqual({ levels, path, status: 400, retryAfter: null, body: { error: { code: "BAD_FIELD", message: `${name}: ${TOO_DEEP}` } } });
      }
    }
    expect(calls).toEqual([]);
  });

  it("answers 400 BAD_FIELD for a number JSON.parse reads as Infinity", async () => {
    const { url, calls } = await recordingRouter();
    const a = await post(`${url}/v1/tasks`, `{"payload":{"n":[1e400]}}`);
    expect(a).toMatchObject({ status: 400, body: { error: { code: "BAD_FIELD", message: "payload: number is not finite (at payload.n[0])" } } });
    expect(calls).toEqual([]);
  });

  it("passes values nested exactly to the limit on", async () => {
    const { url, calls } = await recordingRouter();
    const a = await post(`${url}/v1/tasks`, `{"payload":${nestedText(MAX_JSON_DEPTH)}}`);
    expect(a.status).toBe(201);
    expect(a.body.payload).toEqual(nested(MAX_JSON_DEPTH));
    expect(calls.map((c) => c.method)).toEqual(["submit"]);
  });
});

describe("a follower checks client JSON before it forwards (the embedding API calls the node directly)", () => {
  async function refusal(p: Promise<unknown>): Promise<{ code: string; message: string }> {
    const err = await p.then(
      () => new Error("resolved"),
      (e: unknown) => e,
    );
    expect(err).toBeInstanceOf(RaftschedError);
    return { code: (err as RaftschedError).code, message: (err as RaftschedError).message };
  }

  it("refuses payload, result and error nested too deep with BAD_FIELD and forwards nothing", async () => {
    const { api, forwarded } = await followerApi();
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
    const { api, forwarded } = await followerApi();
    const payload = nested(MAX_JSON_DEPTH) as never;
    const r = await api.submit({ payload, maxAttempts: 3, priority: 0 });
    expect(r.created).toBe(true);
    expect(r.task.payload).toEqual(payload);
    expect(forwarded.map((f) => [f.method, f.url, JSON.parse(f.body.toString("utf8")).id])).toEqual([["POST", "/v1/tasks", "t1"]]);
  });
});
