// The submit body's task fields as the HTTP API reads them (src/api/task-fields-input.ts via parseSubmit), the
// leader's submit entry (src/api/submit-command.ts), and the cluster file's member tags.
import { describe, expect, it } from "vitest";
import { parseSubmit } from "../../../src/api/request-input.js";
import { submitCommand } from "../../../src/api/submit-command.js";
import { parseClusterFile } from "../../../src/config/cluster-file.js";

const NOW = 1_800_000_000_000;
const fieldOf = (body: object): string => {
  try {
    parseSubmit({ payload: 1, ...body }, NOW);
  } catch (err) {
    const e = err as { code?: string; message: string };
    expect(e.code).toBe("BAD_FIELD");
    return e.message.split(":")[0]!;
  }
  return "accepted";
};

describe("parseSubmit task fields", () => {
  it("accepts the fields and keeps their defaults absent", () => {
    expect(parseSubmit({ payload: 1 }, NOW)).toEqual({ payload: 1, maxAttempts: 3, priority: 0 });
    expect(parseSubmit({ payload: 1, requires: ["ssd", "gpu"], timeoutMs: 50, runAt: NOW + 5 }, NOW)).toMatchObject({
      requires: ["gpu", "ssd"],
      timeoutMs: 50,
      runAt: NOW + 5,
    });
    expect(parseSubmit({ payload: 1, delayMs: 200 }, NOW)).toMatchObject({ delayMs: 200 });
  });

  it.each([
    [{ requires: "gpu" }, "requires"],
    [{ requires: Array.from({ length: 17 }, (_, i) => `t${i}`) }, "requires"],
    [{ requires: ["a b"] }, "requires"],
    [{ requires: ["x".repeat(65)] }, "requires"],
    [{ timeoutMs: 0 }, "timeoutMs"],
    [{ timeoutMs: 86_400_001 }, "timeoutMs"],
    [{ timeoutMs: "5" }, "timeoutMs"],
    [{ runAt: NOW - 3 * 86_400_000 }, "runAt"],
    [{ runAt: NOW + 366 * 86_400_000 }, "runAt"],
    [{ runAt: "soon" }, "runAt"],
    [{ delayMs: -5 }, "delayMs"],
    [{ runAt: NOW, delayMs: 5 }, "delayMs"],
  ])("refuses %j with the field named", (body, name) => {
    expect(fieldOf(body)).toBe(name);
  });

  it("the leader writes runAt into the submit entry: delayMs on its own clock, once", () => {
    const input = parseSubmit({ payload: 1, delayMs: 300, requires: ["gpu"], timeoutMs: 9 }, NOW);
    expect(submitCommand("t", input, NOW + 1)).toEqual({
      type: "submit", id: "t", payload: 1, priority: 0, maxAttempts: 3, nowMs: NOW + 1, requires: ["gpu"], timeoutMs: 9, runAt: NOW + 301,
    });
    expect(submitCommand("t", parseSubmit({ payload: 1 }, NOW), NOW)).toEqual({ type: "submit", id: "t", payload: 1, priority: 0, maxAttempts: 3, nowMs: NOW });
  });
});

describe("cluster file nodes[] tags and worker:false", () => {
  const file = (node: object) =>
    JSON.stringify({ token: "secret-token", nodes: [{ id: "n1", url: "http://127.0.0.1:7001", ...node }] });
  it("reads tags (sorted) and worker:false", () => {
    const cfg = parseClusterFile(file({ tags: ["ssd", "gpu"], worker: false }), "f");
    expect(cfg.nodes[0]).toMatchObject({ tags: ["gpu", "ssd"], worker: false });
    expect(parseClusterFile(file({}), "f").nodes[0]).toMatchObject({ tags: [], worker: true });
  });
  it("refuses bad tags naming the field", () => {
    expect(() => parseClusterFile(file({ tags: ["bad tag"] }), "f")).toThrow(/nodes\[0\]: "tags"/);
    expect(() => parseClusterFile(file({ tags: "gpu" }), "f")).toThrow(/"tags"/);
  });
});

describe("onIdReuse: reject compares the task fields too", () => {
  it("refuses the same id with other requires or timeoutMs", async () => {
    const { refuseReusedId } = await import("../../../src/node/id-reuse.js");
    const existing = { id: "t", state: "pending", worker: null, attempt: 0, payload: 1, priority: 0, maxAttempts: 3, requires: ["gpu"], timeoutMs: 50, runAt: null, createdIndex: 1, updatedIndex: 1 } as const;
    expect(() => refuseReusedId(existing, { payload: 1, priority: 0, maxAttempts: 3, requires: ["gpu"], timeoutMs: 50 })).not.toThrow();
    expect(() => refuseReusedId(existing, { payload: 1, priority: 0, maxAttempts: 3, timeoutMs: 50 })).toThrow(/requires/);
    expect(() => refuseReusedId(existing, { payload: 1, priority: 0, maxAttempts: 3, requires: ["gpu"] })).toThrow(/timeoutMs/);
  });
});
