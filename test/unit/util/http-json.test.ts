// The shared JSON call (src/util/http-json.ts) and its two wrappers: the CLI's, which throws UNREACHABLE, and the
// chaos client's, which never throws and says why there was no answer.
import { createServer, type IncomingMessage, type Server, type ServerResponse } from "node:http";
import type { AddressInfo } from "node:net";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { requestJson } from "../../../src/chaos/http.js";
import { httpJson } from "../../../src/cli/http-client.js";
import { callJson } from "../../../src/util/http-json.js";
import { freePort } from "../../../src/util/ports.js";

let server: Server;
let base: string;
const seen: { method: string; auth?: string; type?: string; body: string }[] = [];

beforeAll(async () => {
  server = createServer((req: IncomingMessage, res: ServerResponse) => {
    let body = "";
    req.on("data", (c: Buffer) => (body += c.toString("utf8")));
    req.on("end", () => {
      seen.push({ method: req.method ?? "", auth: req.headers.authorization, type: req.headers["content-type"], body });
      const path = req.url ?? "/";
      if (path === "/json") return void res.writeHead(201, { "x-probe": "yes" }).end('{"a":1}');
      if (path === "/text") return void res.writeHead(500).end("not json");
      if (path === "/empty") return void res.writeHead(204).end();
      if (path === "/big") return void res.writeHead(200).end(JSON.stringify("x".repeat(100)));
      if (path === "/stall-body") {
        res.writeHead(200, { "content-length": "100" });
        res.write('{"a":'); // never finishes
        return;
      }
      // "/stall": no answer at all
    });
  });
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  base = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
});

afterAll(async () => {
  server.closeAllConnections();
  await new Promise<void>((resolve) => server.close(() => resolve()));
});

describe("callJson", () => {
  it("sends JSON with the token, POST when there is a body, and parses the answer", async () => {
    seen.length = 0;
    const r = await callJson(`${base}/json`, { body: { x: 1 }, token: "t0ken", timeoutMs: 2000 });
    expect(r.ok && r.status === 201 && r.headers.get("x-probe")).toBe("yes");
    expect(r.ok && r.body).toEqual({ a: 1 });
    expect(seen[0]).toEqual({ method: "POST", auth: "Bearer t0ken", type: "application/json", body: '{"x":1}' });
    await callJson(`${base}/json`, { timeoutMs: 2000 });
    expect(seen[1]).toEqual({ method: "GET", auth: undefined, type: undefined, body: "" });
  });

  it("keeps a non-JSON answer as text, an empty one as null, and drops one over maxAnswerChars", async () => {
    expect(await callJson(`${base}/text`, { timeoutMs: 2000 })).toMatchObject({ ok: true, status: 500, body: "not json" });
    expect(await callJson(`${base}/empty`, { timeoutMs: 2000 })).toMatchObject({ ok: true, status: 204, body: null });
    expect(await callJson(`${base}/big`, { timeoutMs: 2000, maxAnswerChars: 50 })).toMatchObject({ ok: true, body: null });
    expect(await callJson(`${base}/big`, { timeoutMs: 2000 })).toMatchObject({ ok: true, body: "x".repeat(100) });
  });

  it("tells a failure before any answer from one while reading the body", async () => {
    const port = await freePort();
    expect(await callJson(`http://127.0.0.1:${port}/`, { timeoutMs: 2000 })).toMatchObject({ ok: false, phase: "connect" });
    expect(await callJson(`${base}/stall`, { timeoutMs: 200 })).toMatchObject({ ok: false, phase: "connect" });
    expect(await callJson(`${base}/stall-body`, { timeoutMs: 200 })).toMatchObject({ ok: false, phase: "body" });
  });
});

describe("the wrappers", () => {
  it("httpJson throws UNREACHABLE with a short reason", async () => {
    const port = await freePort();
    await expect(httpJson(`http://127.0.0.1:${port}/`)).rejects.toMatchObject({ code: "UNREACHABLE", message: expect.stringContaining("ECONNREFUSED") });
    await expect(httpJson(`${base}/stall`, { timeoutMs: 200 })).rejects.toMatchObject({ code: "UNREACHABLE", message: expect.stringContaining("timed out") });
    await expect(httpJson(`${base}/stall-body`, { timeoutMs: 200 })).rejects.toMatchObject({ code: "UNREACHABLE", message: expect.stringContaining("timed out") });
    expect(await httpJson(`${base}/json`)).toMatchObject({ status: 201, body: { a: 1 } });
  });

  it("requestJson never throws and classifies no answer as refused, timeout or reset", async () => {
    const port = await freePort();
    expect(await requestJson(`http://127.0.0.1:${port}/`, { timeoutMs: 2000 })).toEqual({ status: 0, body: null, noAnswer: "refused" });
    expect(await requestJson(`${base}/stall`, { timeoutMs: 200 })).toEqual({ status: 0, body: null, noAnswer: "timeout" });
    expect(await requestJson(`${base}/stall-body`, { timeoutMs: 200 })).toEqual({ status: 0, body: null, noAnswer: "timeout" });
    expect(await requestJson(`${base}/json`, { timeoutMs: 2000 })).toEqual({ status: 201, body: { a: 1 } });
  });
});
