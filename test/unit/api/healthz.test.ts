// /healthz: 200 { ok: true } while the node serves; 503 { ok: false, removed: true } once it knows it was removed
// from the cluster (issue #18), so a supervisor sees a removed node that has not exited yet (or is embedded).
import { createServer, type Server } from "node:http";
import type { AddressInfo } from "node:net";
import { afterEach, describe, expect, it } from "vitest";
import { handleRequest, type ApiBackend } from "../../../src/api/router.js";

const servers: Server[] = [];
afterEach(async () => {
  await Promise.all(servers.splice(0).map((s) => new Promise((r) => s.close(r))));
});

async function healthz(api: Partial<ApiBackend>): Promise<{ status: number; body: unknown }> {
  const server = createServer((req, res) => void handleRequest({ token: "tok", ...api } as ApiBackend, req, res));
  servers.push(server);
  await new Promise<void>((r) => server.listen(0, "127.0.0.1", r));
  const res = await fetch(`http://127.0.0.1:${(server.address() as AddressInfo).port}/healthz`);
  return { status: res.status, body: await res.json() };
}

describe("GET /healthz", () => {
  it("is 200 { ok: true } for a backend without a health() (and for a healthy one)", async () => {
    expect(await healthz({})).toEqual({ status: 200, body: { ok: true } });
    expect(await healthz({ health: () => ({ ok: true }) })).toEqual({ status: 200, body: { ok: true } });
  });

  it("is 503 { ok: false, removed: true } for a node that knows it was removed", async () => {
    expect(await healthz({ health: () => ({ ok: false, removed: true }) })).toEqual({ status: 503, body: { ok: false, removed: true } });
  });
});
