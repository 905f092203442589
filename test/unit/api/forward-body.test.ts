// A follower forwards a write's body to the leader as the client sent it, not re-serialized from the parsed value:
// JSON.stringify can make a body under the 1 MiB limit several times larger (1e20 comes back as
// 100000000000000000000, each invalid UTF-8 byte as the three bytes of U+FFFD), and the leader then answered 413
// to a body it accepts when sent to it directly. A submit without an id gets the id the follower fixed spliced in,
// the only bytes a forwarded request may carry beyond the limit.
import { describe, expect, it } from "vitest";
import { MAX_BODY_BYTES } from "../../../src/api/http-util.js";
import { FORWARDED_HEADER, submitBodyWithId } from "../../../src/api/router.js";
import { followerApi, post, recordingRouter } from "./helpers.js";

/** `{"payload":[1e20,...,1e20]}` padded with spaces to exactly `size` bytes: JSON.stringify makes it 4× larger. */
function numbersBody(size: number, prefix = ""): Buffer {
  const head = `{${prefix}"payload":[`;
  const count = Math.floor((size - head.length - 2) / 5);
  const text = `${head}${Array<string>(count).fill("1e20").join(",")}]`;
  return Buffer.from(`${text}${" ".repeat(size - text.length - 1)}}`);
}

/** `{"payload":"<invalid UTF-8 bytes>"}` of exactly `size` bytes: each 0xFF byte becomes 3 bytes of U+FFFD. */
function invalidUtf8Body(size: number): Buffer {
  const head = Buffer.from('{"payload":"');
  return Buffer.concat([head, Buffer.alloc(size - head.length - 2, 0xff), Buffer.from('"}')]);
}

function copy(b: Buffer): Uint8Array<ArrayBuffer> {
  return new Uint8Array(b);
}

describe("submitBodyWithId", () => {
  it("keeps a body that has its id as it is", () => {
    const body = Buffer.from(' {"id":"a","payload":[1e20]}');
    expect(submitBodyWithId(body, "a", "t1")).toBe(body);
  });

  it("splices the fixed id in after the opening brace, leaving every other byte as it was", () => {
    const body = Buffer.from('\n\t {  "payload" : [1e20, "\\u00e9"] }');
    const out = submitBodyWithId(body, undefined, "t1");
    expect(out.toString("utf8")).toBe('\n\t {"id":"t1",  "payload" : [1e20, "\\u00e9"] }');
    expect(JSON.parse(out.toString("utf8"))).toEqual({ id: "t1", payload: [1e20, "é"] });
  });
});

describe("the router hands the backend the body's bytes", () => {
  it("as received, for submit, complete and fail", async () => {
    const { url, calls } = await recordingRouter();
    const bodies = [
      ["/v1/tasks", Buffer.concat([Buffer.from('{"payload":["'), Buffer.from([0xff, 0xfe]), Buffer.from('", 1e20, 5e-1]}')])],
      ["/v1/tasks/t/complete", Buffer.from('{ "attempt": 1, "result": [1E20, -0] }')],
      ["/v1/tasks/t/fail", Buffer.from('{"attempt":1,"error":{"a":100e18}}')],
    ] as const;
    for (const [path, body] of bodies) expect((await post(url + path, copy(body))).status).toBeLessThan(300);
    expect(calls.map((c, i) => [c.method, c.ctx?.body?.equals(bodies[i]![1])])).toEqual([
      ["submit", true],
      ["complete", true],
      ["fail", true],
    ]);
  });

  it("takes a body over the limit only by the id a follower adds, and only on a forwarded request", async () => {
    const { url, calls } = await recordingRouter();
    const idBytes = Buffer.byteLength('"id":"",') + 128;
    expect((await post(`${url}/v1/tasks`, copy(numbersBody(MAX_BODY_BYTES + 1)))).status).toBe(413);
    expect((await post(`${url}/v1/tasks`, copy(numbersBody(MAX_BODY_BYTES + idBytes)), { [FORWARDED_HEADER]: "n2" })).status).toBe(201);
    expect((await post(`${url}/v1/tasks`, copy(numbersBody(MAX_BODY_BYTES + idBytes + 1)), { [FORWARDED_HEADER]: "n2" })).status).toBe(413);
    expect(calls).toHaveLength(1);
  });
});

describe("a follower forwards the client's bytes", () => {
  it("for a submit at the body limit, with the generated id spliced in, however large it re-serializes", async () => {
    const { api, forwarded } = await followerApi();
    for (const body of [numbersBody(MAX_BODY_BYTES), invalidUtf8Body(MAX_BODY_BYTES)]) {
      const input = JSON.parse(body.toString("utf8")) as { payload: never };
      expect(Buffer.byteLength(JSON.stringify({ ...input, id: "t1" }))).toBeGreaterThan(2 * MAX_BODY_BYTES);
      const r = await api.submit({ ...input, maxAttempts: 3, priority: 0 }, { forwarded: false, body });
      expect(r.created).toBe(true);
      const sent = forwarded.at(-1)!;
      expect(sent.body.equals(submitBodyWithId(body, undefined, "t1"))).toBe(true);
      expect(sent.body.length).toBe(MAX_BODY_BYTES + Buffer.byteLength('"id":"t1",'));
    }
  });

  it("for a submit with its own id, and for complete and fail, unchanged", async () => {
    const { api, forwarded } = await followerApi();
    const submit = numbersBody(MAX_BODY_BYTES, '"id":"mine",');
    await api.submit({ id: "mine", payload: [], maxAttempts: 3, priority: 0 }, { forwarded: false, body: submit });
    const complete = Buffer.from('{"attempt":2,"result":[1e20,1e20]}');
    await api.complete("t1", 2, [1e20, 1e20], { forwarded: false, body: complete });
    const fail = Buffer.from('{"attempt":2,"error":"\\u00e9"}');
    await api.fail("t1", 2, "é", { forwarded: false, body: fail });
    expect(forwarded.map((f) => f.url)).toEqual(["/v1/tasks", "/v1/tasks/t1/complete", "/v1/tasks/t1/fail"]);
    expect(forwarded.map((f, i) => f.body.equals([submit, complete, fail][i]!))).toEqual([true, true, true]);
  });

  it("serializes the value when there are no bytes (the embedding API)", async () => {
    const { api, forwarded } = await followerApi();
    await api.complete("t1", 2, { ok: true });
    expect(JSON.parse(forwarded[0]!.body.toString("utf8"))).toEqual({ attempt: 2, result: { ok: true } });
  });
});
