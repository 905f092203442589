// The README's embedding example: `import { startNode } from "raftsched"` gives the same node in-process, a task
// submitted through it runs in the handler given to onTask, completes with the handler's result, and close()
// releases everything (the port, the LevelDB lock, every timer: a plain Node process running the example exits by
// itself). The package is imported by its name, so this goes through package.json "exports" to dist/ — what a user
// gets — which the vitest globalSetup has just built.
import { spawn } from "node:child_process";
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { createServer } from "node:net";
import { tmpdir } from "node:os";
import path from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import type * as Raftsched from "../../src/index.js";
import { REPO_ROOT, freePorts, sleep, waitFor } from "./cluster-harness.js";

const TOKEN = "embedding-test-token";
// A variable, so TypeScript does not resolve the package's own name against a dist/ that may not be built yet.
const PACKAGE_NAME: string = "raftsched";

let pkg: typeof Raftsched;
let dir: string;

beforeAll(async () => {
  pkg = (await import(PACKAGE_NAME)) as typeof Raftsched;
  dir = mkdtempSync(path.join(tmpdir(), "raftsched-embed-"));
});
afterAll(() => {
  if (!process.env.RAFTSCHED_KEEP_TEST_DIRS) rmSync(dir, { recursive: true, force: true });
});

async function clusterFile(name: string, nodes: number): Promise<{ file: string; urls: string[] }> {
  const ports = await freePorts(nodes);
  const urls = ports.map((p) => `http://127.0.0.1:${p}`);
  const file = path.join(dir, `${name}.json`);
  writeFileSync(
    file,
    JSON.stringify({
      cluster: name,
      token: TOKEN,
      electionTimeoutMs: [150, 300],
      heartbeatMs: 50,
      workerTimeoutMs: 1000,
      nodes: urls.map((url, i) => ({ id: `n${i + 1}`, url })),
    }),
  );
  return { file, urls };
}

function portIsFree(port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const srv = createServer();
    srv.once("error", () => resolve(false));
    srv.listen(port, "127.0.0.1", () => srv.close(() => resolve(true)));
  });
}

/** node.submit, retried while it throws NO_LEADER (the contract's 503: no leader known yet). Right after an
 *  election node.status() may already say "leader" while submit still answers NO_LEADER for a moment. */
async function submit(node: Raftsched.RaftschedNode, input: Parameters<Raftsched.RaftschedNode["submit"]>[0]): Promise<Raftsched.Task> {
  for (let i = 0; ; i++) {
    try {
      return await node.submit(input);
    } catch (err) {
      if ((err as { code?: string }).code !== "NO_LEADER" || i >= 200) throw err;
      await sleep(25);
    }
  }
}

async function completed(node: Raftsched.RaftschedNode, id: string, timeoutMs = 10_000): Promise<Raftsched.Task> {
  return waitFor(`${id} to finish`, timeoutMs, async () => {
    const t = await node.getTask(id);
    return t && (t.state === "completed" || t.state === "dead") ? t : undefined;
  }, 20);
}

describe("embedding a single node with startNode", () => {
  it("runs submitted tasks in the onTask handler, completes them with its result, and close() releases port and store", async () => {
    const { file, urls } = await clusterFile("embed-1", 1);
    const dataDir = path.join(dir, "single");
    const node = await pkg.startNode({ config: file, id: "n1", dataDir, logLevel: "error" });
    let closed = false;
    try {
      const seen: Array<{ id: string; attempt: number; payload: unknown; aborted: boolean }> = [];
      node.onTask(async (task) => {
        seen.push({ id: task.id, attempt: task.attempt, payload: task.payload, aborted: task.signal.aborted });
        const p = task.payload as { word?: string; fail?: boolean };
        if (p.fail) throw new Error(`refusing ${task.id} at attempt ${task.attempt}`);
        await sleep(20);
        return { upper: String(p.word).toUpperCase(), attempt: task.attempt };
      });
      await waitFor("the single node to lead", 10_000, () => node.status().role === "leader");

      const t = await submit(node, { id: "embed-ok", payload: { word: "hello" } });
      expect(t.id).toBe("embed-ok");
      expect(["pending", "assigned"]).toContain(t.state);
      const done = await completed(node, "embed-ok");
      expect(done.state).toBe("completed");
      expect(done.worker).toBe("n1");
      expect(done.result).toEqual({ upper: "HELLO", attempt: 1 });
      expect(seen.filter((s) => s.id === "embed-ok")).toEqual([{ id: "embed-ok", attempt: 1, payload: { word: "hello" }, aborted: false }]);

      // The same id again is the same task, not a second run; with another body too, unless asked to refuse it.
      expect((await submit(node, { id: "embed-ok", payload: { word: "hello" } })).createdIndex).toBe(t.createdIndex);
      expect((await submit(node, { id: "embed-ok", payload: { word: "other" } })).createdIndex).toBe(t.createdIndex);
      await expect(node.submit({ id: "embed-ok", payload: { word: "other" }, onIdReuse: "reject" })).rejects.toMatchObject({ code: "ID_REUSED" });

      // A handler that throws fails the attempt; after maxAttempts the task is dead with the handler's error.
      await submit(node, { id: "embed-fail", payload: { fail: true }, maxAttempts: 2 });
      const dead = await completed(node, "embed-fail");
      expect(dead.state).toBe("dead");
      expect(dead.attempt).toBe(2);
      expect(JSON.stringify(dead.error)).toMatch(/refusing embed-fail at attempt 2/);
      expect(dead.lastError).toEqual(dead.error);
      expect(seen.filter((s) => s.id === "embed-fail").map((s) => s.attempt)).toEqual([1, 2]);

      // Generated ids, listTasks and status() as the README shows them; the HTTP API serves the same node.
      const anon = await submit(node, { payload: { word: "x" } });
      expect(anon.id.length).toBeGreaterThan(0);
      await completed(node, anon.id);
      const listed = await node.listTasks({ state: "completed" });
      expect(listed.tasks.map((x) => x.id).sort()).toEqual([anon.id, "embed-ok"].sort());
      const st = node.status();
      expect(st).toMatchObject({ id: "n1", role: "leader", leaderId: "n1" });
      expect(st.appliedIndex).toBeGreaterThan(0);
      const viaHttp = await fetch(`${urls[0]}/v1/tasks/embed-ok`);
      expect(viaHttp.status).toBe(200);
      expect(((await viaHttp.json()) as Raftsched.Task).result).toEqual({ upper: "HELLO", attempt: 1 });

      await node.close({ handOver: true });
      closed = true;
    } finally {
      if (!closed) await node.close();
    }
    await node.close(); // a second close is harmless

    // The port is free and the data dir is unlocked: the node starts again on it and still has its tasks.
    expect(await portIsFree(Number(new URL(urls[0]!).port))).toBe(true);
    const again = await pkg.startNode({ config: file, id: "n1", dataDir, logLevel: "error" });
    try {
      await waitFor("the restarted node to lead", 10_000, () => again.status().role === "leader");
      expect((await again.getTask("embed-ok"))?.result).toEqual({ upper: "HELLO", attempt: 1 });
      expect((await again.getTask("embed-fail"))?.state).toBe("dead");
    } finally {
      await again.close();
    }
  }, 40_000);
});

describe("embedding a 3-node cluster in one process", () => {
  it("each node runs its share in its own handler; a follower's submit is forwarded; close with hand-over", async () => {
    const { file } = await clusterFile("embed-3", 3);
    const ids = ["n1", "n2", "n3"];
    const nodes = await Promise.all(ids.map((id) => pkg.startNode({ config: file, id, dataDir: path.join(dir, "three", id), logLevel: "error" })));
    try {
      const ranOn = new Map<string, string[]>();
      for (const n of nodes) {
        n.onTask(async (task) => {
          ranOn.set(task.id, [...(ranOn.get(task.id) ?? []), n.id]);
          await sleep((task.payload as { sleepMs: number }).sleepMs);
          return { ranOn: n.id };
        });
      }
      const leaderId = await waitFor("one leader", 15_000, () => {
        const leaders = nodes.filter((n) => n.status().role === "leader");
        return leaders.length === 1 && nodes.every((n) => n.status().leaderId === leaders[0]!.id) ? leaders[0]!.id : undefined;
      });
      const follower = nodes.find((n) => n.id !== leaderId)!;
      // 12 tasks of 400 ms on 3 × 4 slots: least-loaded puts work on every node.
      const taskIds = Array.from({ length: 12 }, (_, i) => `spread-${i}`);
      for (const id of taskIds) expect((await submit(follower, { id, payload: { sleepMs: 400 } })).id).toBe(id);
      const results = await Promise.all(taskIds.map((id) => completed(follower, id, 15_000)));
      for (const t of results) {
        expect(t.state).toBe("completed");
        expect(t.result).toEqual({ ranOn: t.worker });
        expect(ranOn.get(t.id)).toEqual([t.worker]); // ran once, on the worker the table names
      }
      const workers = new Set(results.map((t) => t.worker));
      console.log(`embedded 3-node cluster: tasks per node ${JSON.stringify(Object.fromEntries(ids.map((id) => [id, results.filter((t) => t.worker === id).length])))}`);
      expect(workers.size).toBeGreaterThanOrEqual(2);

      // The leader closes with hand-over: another node leads without an election timeout's worth of no leader.
      const leader = nodes.find((n) => n.id === leaderId)!;
      await leader.close({ handOver: true });
      const rest = nodes.filter((n) => n !== leader);
      const next = await waitFor("a new leader", 10_000, () => rest.find((n) => n.status().role === "leader"));
      const t = await submit(next, { id: "after-handover", payload: { sleepMs: 0 } });
      expect((await completed(next, t.id)).state).toBe("completed");
    } finally {
      await Promise.all(nodes.map((n) => n.close()));
    }
  }, 40_000);
});

describe("the README example, examples/embedding.ts, as a plain Node program", () => {
  it("waits for ready(), submits without retrying, the handler fetches the payload url, and the process exits by itself", async () => {
    const { file } = await clusterFile("embed-readme", 1);
    const env: NodeJS.ProcessEnv = { ...process.env, RAFTSCHED_LOG_LEVEL: "warn" };
    delete env.RAFTSCHED_TOKEN;
    // tsx resolves "raftsched" through tsconfig.json's paths (to src/), as `npm run typecheck` does.
    const example = path.join(REPO_ROOT, "examples", "embedding.ts");
    const child = spawn(process.execPath, ["--import", "tsx", example, file, path.join(dir, "readme")], { cwd: REPO_ROOT, env, stdio: ["ignore", "pipe", "pipe"] });
    let out = "";
    child.stdout.on("data", (d) => (out += d));
    child.stderr.on("data", (d) => (out += d));
    const exit = await new Promise<{ code: number | null; signal: NodeJS.Signals | null }>((resolve) => {
      // No process.exit() in the example: close() must leave nothing that keeps Node alive.
      const timer = setTimeout(() => child.kill("SIGKILL"), 40_000);
      child.once("exit", (code, signal) => {
        clearTimeout(timer);
        resolve({ code, signal });
      });
    });
    expect(exit, out).toEqual({ code: 0, signal: null });
    expect(out).toContain("completed { status: 200 }");
    expect(out).toMatch(/role: 'leader'/);
  }, 50_000);
});
