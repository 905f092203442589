// Issue 11 point 7: the chaos workload's stale worker must send an attempt that is really superseded (before, it sent
// max(1, attempt - 1): the current attempt for every first attempt), and the history must carry what a checker needs
// (createdIndex, updatedIndex, maxAttempts, the message of a 409).
import { createServer, type Server } from "node:http";
import type { AddressInfo } from "node:net";
import { afterEach, describe, expect, it } from "vitest";
import type { ChaosCluster } from "../../../src/chaos/cluster.js";
import { HistoryRecorder } from "../../../src/chaos/history.js";
import { makePrng } from "../../../src/raft/prng.js";
import { pickStaleReport, staleAttemptFor } from "../../../src/chaos/stale-report.js";
import type { TaskInput, TaskOutput } from "../../../src/chaos/task-model.js";
import { taskOutputFromResponse } from "../../../src/chaos/task-outcome.js";
import { Workload } from "../../../src/chaos/workload.js";

let server: Server | null = null;
afterEach(async () => {
  await new Promise((r) => (server ? server.close(r) : r(undefined)));
  server = null;
});

describe("stale attempts", () => {
  it("exist only for a task seen at attempt 2 or more", () => {
    expect(staleAttemptFor(0)).toBeNull();
    expect(staleAttemptFor(1)).toBeNull(); // max(1, 1 - 1) = 1 was the current attempt
    expect(staleAttemptFor(2)).toBe(1);
    expect(staleAttemptFor(7)).toBe(6);
  });

  it("fall back to a recent task that was reassigned, or to none", () => {
    const seen = new Map([["a", { attempt: 1 }], ["b", { attempt: 3 }], ["c", { attempt: 0 }]]);
    expect(pickStaleReport("b", ["a", "b", "c"], seen)).toEqual({ id: "b", attempt: 2, supersededBy: 3 });
    expect(pickStaleReport("a", ["a", "b", "c"], seen)).toEqual({ id: "b", attempt: 2, supersededBy: 3 });
    expect(pickStaleReport("a", ["a", "c"], seen)).toBeNull();
  });
});

describe("the chaos history", () => {
  it("keeps a task's log indexes and maxAttempts, and a 409's message", () => {
    const task = { id: "t", state: "assigned", attempt: 2, worker: "n1", payload: {}, priority: 0, maxAttempts: 5, createdIndex: 7, updatedIndex: 12 };
    expect(taskOutputFromResponse(200, task).task).toMatchObject({ createdIndex: 7, updatedIndex: 12, maxAttempts: 5 });
    const refusal = { error: { code: "STALE_ATTEMPT", message: "attempt 1 is not the current attempt (2)" } };
    expect(taskOutputFromResponse(409, refusal)).toEqual({ status: 409, code: "STALE_ATTEMPT", message: "attempt 1 is not the current attempt (2)" });
  });

  it("a workload's stale reports carry an attempt the server had already superseded, and are refused", async () => {
    // A one-node fake: a submitted task is assigned at attempt 1; a fail of the current attempt reassigns it
    // (attempt + 1); a completion of any attempt but the current one is refused with 409.
    const tasks = new Map<string, { state: string; attempt: number }>();
    const staleAtArrival: boolean[] = [];
    server = createServer((req, res) => {
      const chunks: Buffer[] = [];
      req.on("data", (c: Buffer) => chunks.push(c));
      req.on("end", () => {
        const body = chunks.length > 0 ? (JSON.parse(Buffer.concat(chunks).toString("utf8")) as { id?: string; attempt?: number }) : {};
        const [, , , rawId, action] = (req.url ?? "").split("/");
        const id = rawId === undefined ? body.id! : decodeURIComponent(rawId);
        const answer = (status: number, value: unknown): void => {
          res.writeHead(status, { "content-type": "application/json" });
          res.end(JSON.stringify(value));
        };
        if (!tasks.has(id)) {
          if (action !== undefined || req.method === "GET") return answer(404, { error: { code: "NOT_FOUND", message: "no such task" } });
          tasks.set(id, { state: "assigned", attempt: 1 });
        }
        const t = tasks.get(id)!;
        const view = () => ({ id, ...t, worker: "n1", payload: null, priority: 0, maxAttempts: 9, createdIndex: 1, updatedIndex: 1 });
        if (action === "complete" || action === "fail") {
          staleAtArrival.push(body.attempt! < t.attempt);
          if (t.state !== "assigned" || body.attempt !== t.attempt) return answer(409, { error: { code: "STALE_ATTEMPT", message: `current attempt ${t.attempt}` } });
          if (action === "complete") t.state = "completed";
          else t.attempt++;
        }
        answer(action === undefined && req.method === "POST" ? 201 : 200, view());
      });
    });
    await new Promise<void>((r) => server!.listen(0, "127.0.0.1", r));
    const url = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
    const cluster = { token: "tok", nodes: [{ id: "n1", url, proc: {} }] } as unknown as ChaosCluster;
    const recorder = new HistoryRecorder<TaskInput, TaskOutput>();
    const workload = new Workload({ cluster, recorder, clients: 4, rngFor: (c) => makePrng(100 + c), requestTimeoutMs: 5000, thinkMs: [0, 1], clock: () => performance.now() });
    workload.start();
    // Stop on progress, not on time: enough stale reports were sent (a slow machine just takes longer).
    while (workload.staleReports.sent < 10) await new Promise((r) => setTimeout(r, 20));
    await workload.stop();

    const staleOps = recorder.events().filter((e) => e.kind === "invoke" && e.op.type === "complete" && e.op.supersededBy !== undefined);
    expect(staleOps.length).toBe(workload.staleReports.sent);
    for (const e of staleOps) if (e.kind === "invoke" && e.op.type === "complete") expect(e.op.attempt).toBeLessThan(e.op.supersededBy!);
    expect(workload.staleReports.refused).toBe(workload.staleReports.sent);
    expect(staleAtArrival.filter((s) => s).length).toBeGreaterThanOrEqual(workload.staleReports.sent);
  }, 60_000);
});
