// Small fixtures for the API's unit tests: the router on a loopback server in front of a recording backend, and a
// NodeApi on a follower whose leader is a recording HTTP server. Servers close after each test.
import { createServer, type IncomingMessage, type Server } from "node:http";
import type { AddressInfo } from "node:net";
import { afterEach } from "vitest";
import { handleRequest, type ApiBackend, type RequestContext } from "../../../src/api/router.js";
import { NodeApi } from "../../../src/api/node-api.js";
import type { ReplicaHandle } from "../../../src/node/replica-handle.js";

export const TOKEN = "tok";

const servers: Server[] = [];
afterEach(async () => {
  await Promise.all(servers.splice(0).map((s) => new Promise((r) => s.close(r))));
});

async function serve(server: Server): Promise<string> {
  servers.push(server);
  await new Promise<void>((r) => server.listen(0, "127.0.0.1", r));
  return `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
}

/** The router in front of a backend that records each call (method, arguments, context) and answers a task. */
export async function recordingRouter(): Promise<{ url: string; calls: Array<{ method: string; args: unknown[]; ctx: RequestContext | undefined }> }> {
  const calls: Array<{ method: string; args: unknown[]; ctx: RequestContext | undefined }> = [];
  const task = { id: "t", state: "pending", worker: null, attempt: 0, payload: null, priority: 0, maxAttempts: 3, createdIndex: 1, updatedIndex: 1 };
  const record =
    (method: string, arity: number) =>
    async (...args: unknown[]) => {
      calls.push({ method, args: args.slice(0, arity), ctx: args[arity] as RequestContext | undefined });
      return method === "submit" ? { created: true, task: { ...task, payload: (args[0] as { payload: unknown }).payload } } : task;
    };
  const api = { token: TOKEN, submit: record("submit", 1), complete: record("complete", 3), fail: record("fail", 3) } as unknown as ApiBackend;
  const url = await serve(createServer((req, res) => void handleRequest(api, req, res)));
  return { url, calls };
}

/** POST with the token; the answer's status, Retry-After and parsed body. */
export async function post(url: string, body: string | Uint8Array<ArrayBuffer>, headers: Record<string, string> = {}): Promise<{ status: number; retryAfter: string | null; body: any }> {
  const res = await fetch(url, { method: "POST", headers: { authorization: `Bearer ${TOKEN}`, "content-type": "application/json", ...headers }, body });
  return { status: res.status, retryAfter: res.headers.get("retry-after"), body: await res.json() };
}

/** NodeApi on a follower (id n1, generating task id "t1") whose leader (n2) records every request it gets and
 *  answers with a task holding the payload, result or error it was sent. */
export async function followerApi(): Promise<{ api: NodeApi; forwarded: Array<{ method: string; url: string; body: Buffer }> }> {
  const forwarded: Array<{ method: string; url: string; body: Buffer }> = [];
  const leaderUrl = await serve(
    createServer((req: IncomingMessage, res) => {
      const chunks: Buffer[] = [];
      req.on("data", (c: Buffer) => chunks.push(c));
      req.on("end", () => {
        const body = Buffer.concat(chunks);
        forwarded.push({ method: req.method ?? "", url: req.url ?? "", body });
        const sent = JSON.parse(body.toString("utf8")) as Record<string, unknown>;
        const answer = JSON.stringify({ id: sent.id ?? "t1", state: "pending", attempt: 0, payload: sent.payload ?? null, result: sent.result, error: sent.error });
        res.writeHead(req.url === "/v1/tasks" ? 201 : 200, { "content-type": "application/json" });
        res.end(answer);
      });
    }),
  );
  const node = {
    id: "n1",
    cfg: { token: TOKEN, electionTimeoutMs: [150, 300] },
    runner: { isLeader: false, knownLeader: "n2", waitForLeader: async () => undefined },
    newTaskId: () => "t1",
    leaderUrl: () => leaderUrl,
  } as unknown as ReplicaHandle;
  return { api: new NodeApi(node), forwarded };
}
