// Issue 11 point 8: stopping a node destroyed every HTTP connection at once (close + closeAllConnections), so a
// response still being computed reached its client as ECONNRESET (membership.test.ts saw it on a busy machine).
// The graceful close lets in-flight responses finish, ends idle keep-alive connections, and is bounded.
import { createServer, request, Agent, type Server, type ServerResponse } from "node:http";
import type { AddressInfo } from "node:net";
import { afterEach, describe, expect, it } from "vitest";
import { trackHttpConnections } from "../../../src/node/http-close.js";

const servers: Server[] = [];
afterEach(() => {
  for (const s of servers.splice(0)) s.closeAllConnections();
});

/** A server whose /slow answers only when the test calls release(); every other path answers at once. */
async function slowServer(): Promise<{ port: number; closer: ReturnType<typeof trackHttpConnections>; arrived: Promise<void>; release: () => void }> {
  let release!: () => void;
  const released = new Promise<void>((r) => (release = r));
  let arrivedResolve!: () => void;
  const arrived = new Promise<void>((r) => (arrivedResolve = r));
  const server = createServer({ keepAliveTimeout: 65_000 }, (req, res: ServerResponse) => {
    if (req.url !== "/slow") return void res.end("fast");
    arrivedResolve();
    void released.then(() => res.end("slow answer"));
  });
  servers.push(server);
  const closer = trackHttpConnections(server);
  await new Promise<void>((r) => server.listen(0, "127.0.0.1", r));
  return { port: (server.address() as AddressInfo).port, closer, arrived, release };
}

function get(port: number, path: string, agent: Agent): Promise<{ status: number; body: string; connection: string | undefined }> {
  return new Promise((resolve, reject) => {
    const req = request({ host: "127.0.0.1", port, path, agent }, (res) => {
      let body = "";
      res.setEncoding("utf8");
      res.on("data", (c: string) => (body += c));
      res.on("end", () => resolve({ status: res.statusCode ?? 0, body, connection: res.headers.connection }));
      res.on("error", reject);
    });
    req.on("error", reject);
    req.end();
  });
}

describe("graceful HTTP close", () => {
  it("lets a response in flight finish (with Connection: close), and ends idle keep-alive connections", async () => {
    const { port, closer, arrived, release } = await slowServer();
    const agent = new Agent({ keepAlive: true, maxSockets: 4 });
    expect((await get(port, "/fast", agent)).body).toBe("fast"); // leaves an idle keep-alive connection
    const slow = get(port, "/slow", agent);
    await arrived;
    const closing = closer.close(10_000);
    release();
    expect(await slow).toEqual({ status: 200, body: "slow answer", connection: "close" });
    expect(await closing).toEqual({ forcedSockets: 0 });
    agent.destroy();
  });

  it("is bounded: a response that never finishes is cut after the grace period", async () => {
    const { port, closer, arrived } = await slowServer();
    const agent = new Agent({ keepAlive: true });
    const stuck = get(port, "/slow", agent).catch((err: NodeJS.ErrnoException) => err.code);
    await arrived;
    expect(await closer.close(100)).toEqual({ forcedSockets: 1 });
    expect(await stuck).toBe("ECONNRESET");
    agent.destroy();
  });
});
