// The README's external worker examples run as plain programs against a real cluster whose members run no tasks:
// examples/worker.ts (the TypeScript SDK, raftsched/worker) and examples/worker.py (another language, Debian's
// python3-websockets; .ci/run installs it when missing). Each takes work, answers it, and drains on SIGTERM; each
// also reports progress (the SDK's progress(), a progress frame in Python), which the task shows.
import { readFileSync } from "node:fs";
import path from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { Cluster, REPO_ROOT, waitFor } from "./cluster-harness.js";

let cluster: Cluster;

beforeAll(async () => {
  cluster = await Cluster.start({ nodes: 3, memberWorkers: false });
}, 60_000);

afterAll(async () => {
  await cluster?.stopAll();
});

async function runsTasks(prefix: string, worker: string, count: number): Promise<any[]> {
  const ids = Array.from({ length: count }, (_, i) => `${prefix}-${i}`);
  for (const id of ids) await cluster.submitWithRetry({ id, payload: { text: `hello ${id}` } });
  return await waitFor(`${count} tasks completed`, 60_000, async () => {
    const tasks = await Promise.all(ids.map((id) => cluster.get(cluster.runningIds()[0]!, id, { stale: true })));
    return tasks.every((t) => t?.state === "completed") ? tasks : undefined;
  }, 100).then((tasks) => {
    for (const t of tasks) {
      expect(t.worker).toBe(worker);
      expect(t.result.upper).toBe(`HELLO ${t.id.toUpperCase()}`);
    }
    return tasks;
  });
}

describe("external worker examples", () => {
  it("examples/worker.ts: registers, runs tasks, drains on SIGTERM and exits 0", async () => {
    const fleet = cluster.workers();
    fleet.start("ts-worker", { argv: [process.execPath, "--import", "tsx", path.join(REPO_ROOT, "examples", "worker.ts"), cluster.configPath, "ts-worker"] });
    await waitFor("registered", 60_000, () => readFileSync(fleet.logPath("ts-worker"), "utf8").includes("worker registered"), 100);
    await runsTasks("ts", "ts-worker", 6);
    expect((await cluster.get(await cluster.waitForLeader(), "ts-0"))?.progress).toEqual({ stage: "started" });
    expect(await fleet.stop("ts-worker", 20_000)).toEqual({ code: 0, signal: null });
    expect(readFileSync(fleet.logPath("ts-worker"), "utf8")).toContain("worker drained");
  }, 120_000);

  it("examples/worker.py: a worker in another language speaks the same protocol", async () => {
    const fleet = cluster.workers();
    fleet.start("py-worker", { argv: ["/usr/bin/python3", path.join(REPO_ROOT, "examples", "worker.py"), cluster.configPath, "py-worker", "2"] });
    await waitFor("registered", 30_000, () => readFileSync(fleet.logPath("py-worker"), "utf8").includes("registered with"), 100);
    const tasks = await runsTasks("py", "py-worker", 6);
    expect(tasks.every((t) => t.result.by === "python")).toBe(true);
    // Its progress frame: the leader keeps the attempt's latest value and shows it on the task.
    const leader = await cluster.waitForLeader();
    expect((await cluster.get(leader, "py-0"))?.progress).toEqual({ stage: "started" });
    const rows = (await cluster.request(await cluster.waitForLeader(), "GET", "/v1/workers")).body as any[];
    expect(rows.find((w) => w.id === "py-worker")).toMatchObject({ kind: "external", alive: true, capacity: 2, tags: ["python"] });
    expect(await fleet.stop("py-worker", 20_000)).toEqual({ code: 0, signal: null });
    expect(readFileSync(fleet.logPath("py-worker"), "utf8")).toContain("drained");
  }, 120_000);
});
