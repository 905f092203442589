// `GET /v1/tasks?order=updated` (the dashboard's "Recent tasks"): the most recently updated tasks, newest first —
// not the first ones in id order.
import { describe, expect, it } from "vitest";
import { newestByKey } from "../../../src/scheduler/recent-tasks.js";
import { listOrder } from "../../../src/api/list-order.js";
import { Log } from "./helpers.js";
import { createServer } from "node:http";
import type { AddressInfo } from "node:net";
import { handleRequest, type ApiBackend } from "../../../src/api/router.js";
import type { ServerResponse } from "node:http";
import { nodeDashboardFeed } from "../../../src/dashboard/node-feed.js";
import { RECENT_TASKS } from "../../../src/dashboard/feed.js";
import type { ReplicaHandle } from "../../../src/node/replica-handle.js";

describe("recently updated tasks", () => {
  it("lists the newest updates first, with state and worker filters, in one page", () => {
    const log = new Log();
    log.up("w1");
    for (let i = 0; i < 30; i++) log.submit(`t${String(i).padStart(2, "0")}`);
    log.assign("t03", "w1", 1); // t03 now is the most recently updated
    const page = log.table.listTasks({ order: "updated", limit: 3 });
    expect(page.tasks.map((t) => t.id)).toEqual(["t03", "t29", "t28"]);
    expect(page.next).toBeNull();
    expect(log.table.listTasks({ order: "updated", state: "pending", limit: 2 }).tasks.map((t) => t.id)).toEqual(["t29", "t28"]);
    expect(log.table.listTasks({ order: "updated", worker: "w1", limit: 5 }).tasks.map((t) => t.id)).toEqual(["t03"]);
    // The default order is unchanged: ids.
    expect(log.table.listTasks({ limit: 2 }).tasks.map((t) => t.id)).toEqual(["t00", "t01"]);
  });

  it("keeps the top `limit` of any input order", () => {
    const keys = Array.from({ length: 2000 }, (_, i) => (i * 7919) % 2000);
    expect(newestByKey(keys, 5, (k) => k)).toEqual([1999, 1998, 1997, 1996, 1995]);
    expect(newestByKey(keys.slice().sort((a, b) => a - b), 3, (k) => k)).toEqual([1999, 1998, 1997]);
    expect(newestByKey([1, 2], 0, (k) => k)).toEqual([]);
  });

  it("the query parameter: id or updated; no cursor with updated", () => {
    expect(listOrder(null, undefined)).toBeUndefined();
    expect(listOrder("updated", undefined)).toBe("updated");
    expect(() => listOrder("newest", undefined)).toThrow(/order/);
    expect(() => listOrder("updated", "t01")).toThrow(/after/);
  });
});

describe("the route and the dashboard", () => {
  it("GET /v1/tasks?order=updated reaches the backend as order: updated", async () => {
    const seen: unknown[] = [];
    const api = { token: "tok", listTasks: async (q: unknown) => (seen.push(q), { tasks: [], next: null }) } as unknown as ApiBackend;
    const server = createServer((req, res) => void handleRequest(api, req, res));
    await new Promise<void>((r) => server.listen(0, "127.0.0.1", r));
    try {
      const base = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
      expect((await fetch(`${base}/v1/tasks?order=updated&limit=20&stale=true`)).status).toBe(200);
      expect(seen).toEqual([{ limit: 20, order: "updated" }]);
      expect((await fetch(`${base}/v1/tasks?order=updated&after=t1`)).status).toBe(400);
    } finally {
      await new Promise((r) => server.close(r));
    }
  });

  it("the dashboard's Recent tasks asks for the most recently updated", () => {
    // The page gets them from its event stream (src/dashboard/feed.ts): the first frame lists the node's table
    // in update order, later frames the rows that changed.
    const queries: unknown[] = [];
    const table = { counts: () => ({}), getTask: () => undefined, listTasks: (q: unknown) => (queries.push(q), { tasks: [], next: null }) };
    const status = { id: "n1", role: "leader", term: 1, leaderId: "n1", commitIndex: 1, appliedIndex: 1 };
    const node = { id: "n1", cfg: { token: "tok" }, table, status: () => status } as unknown as ReplicaHandle;
    const feed = nodeDashboardFeed(node, () => ({ cluster: async () => ({ leaderId: "n1", term: 1, members: [] }), workers: async () => [] }));
    const written: string[] = [];
    const res = { writeHead: () => res, write: (c: string) => written.push(c), once: () => res, end: () => undefined, destroyed: false, writableLength: 0 };
    feed.subscribe(res as unknown as ServerResponse);
    feed.close();
    expect(queries).toEqual([{ order: "updated", limit: RECENT_TASKS }]);
    expect(written.join("")).toContain("event: tasks");
  });
});
