// `GET /v1/tasks?order=updated` (the dashboard's "Recent tasks"): the most recently updated tasks, newest first —
// not the first ones in id order.
import { describe, expect, it } from "vitest";
import { newestByKey } from "../../../src/scheduler/recent-tasks.js";
import { listOrder } from "../../../src/api/list-order.js";
import { Log } from "./helpers.js";
import { createServer } from "node:http";
import type { AddressInfo } from "node:net";
import { handleRequest, type ApiBackend } from "../../../src/api/router.js";
import { renderDashboard } from "../../../src/dashboard/page.js";

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
    expect(renderDashboard("n1")).toContain("/v1/tasks?stale=true&order=updated&limit=20");
  });
});
