// clusterRequest (src/tls/cluster-fetch.ts): a node's own requests to another node over node:http with a keep-alive
// pool instead of Node's fetch (whose undici and web streams cost ~1 ms of CPU per forwarded completion), failing
// as fetch fails so the forwarder classifies errors as before; and the forwarder uses it.
import http from "node:http";
import type { AddressInfo } from "node:net";
import { afterAll, beforeAll, describe, expect, it, vi } from "vitest";
import { clusterRequest } from "../../../src/tls/cluster-fetch.js";
import { LeaderForwarder } from "../../../src/api/leader-forward.js";
import type { TransferHold } from "../../../src/node/transfer-hold.js";
import { isTimeout } from "../../../src/util/http-json.js";

let server: http.Server;
let base: string;
const connections = new Set<unknown>();

beforeAll(async () => {
  server = http.createServer((req, res) => {
    if (req.url === "/slow") return void setTimeout(() => res.end("late"), 2_000);
    if (req.url === "/cut") {
      res.writeHead(200, { "content-length": "100" });
      res.write("partial");
      return void setTimeout(() => req.socket.destroy(), 20);
    }
    let body = "";
    req.on("data", (c: Buffer) => (body += c.toString()));
    req.on("end", () => {
      res.writeHead(req.url === "/teapot" ? 418 : 200, { "content-type": "application/json" });
      res.end(JSON.stringify({ method: req.method, body, length: req.headers["content-length"] ?? null, forwarded: req.headers["x-raftsched-forwarded"] ?? null }));
    });
  });
  server.on("connection", (s) => connections.add(s));
  await new Promise<void>((r) => server.listen(0, "127.0.0.1", r));
  base = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
});

afterAll(() => {
  server.closeAllConnections();
  server.close();
});

describe("clusterRequest", () => {
  it("sends a body with its length and reads the answer; a second request reuses the connection", async () => {
    const before = connections.size;
    const a = await clusterRequest(`${base}/x`, { method: "POST", body: "héllo", headers: { "content-type": "application/json" } });
    expect(a.status).toBe(200);
    expect(JSON.parse(await a.text())).toMatchObject({ method: "POST", body: "héllo", length: "6" });
    const b = await clusterRequest(`${base}/teapot`, { method: "POST", body: new TextEncoder().encode("x") });
    expect(b.status).toBe(418);
    expect(JSON.parse(await b.text())).toMatchObject({ body: "x" });
    expect(connections.size - before).toBe(1);
  });

  it("fails like fetch: a refused port, a timeout, an answer cut off while read", async () => {
    const refused = (await clusterRequest("http://127.0.0.1:1/x").catch((e: unknown) => e)) as { cause?: { code?: string } };
    expect(refused).toBeInstanceOf(TypeError);
    expect(refused.cause?.code).toBe("ECONNREFUSED");
    const slow = await clusterRequest(`${base}/slow`, { signal: AbortSignal.timeout(100) }).catch((e: unknown) => e);
    expect(isTimeout(slow)).toBe(true);
    const cut = await clusterRequest(`${base}/cut`);
    await expect(cut.text()).rejects.toBeInstanceOf(Error);
  });
});

describe("LeaderForwarder", () => {
  it("forwards through clusterRequest, not the global fetch", async () => {
    const fetchSpy = vi.spyOn(globalThis, "fetch");
    try {
      const n = { id: "n2", cfg: { token: "t" }, runner: { knownLeader: "n1" }, leaderUrl: () => base, memberUrl: () => base };
      const forwarder = new LeaderForwarder(n as never, {} as TransferHold);
      const r = await forwarder.forward("GET", "/v1/workers", undefined);
      expect(r.status).toBe(200);
      expect(r.body).toMatchObject({ method: "GET", forwarded: "n2" });
      expect(fetchSpy).not.toHaveBeenCalled();
    } finally {
      fetchSpy.mockRestore();
    }
  });
});
