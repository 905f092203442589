// The task CLI and the Client SDK against a real three-node cluster (issue 13.7, 12.4 client half):
// - `raftsched/client` resolves by the package name through package.json "exports" (a copy of the package as
//   npm would install it, holding only package.json and dist/), and "." still resolves;
// - the Client submits idempotently, waits, lists, cancels, fails over to another node when the leader dies, and
//   its watch resumes on another node after the one it streamed from was killed, with no gap or duplicate;
// - `raftsched task ...` exit codes: 0 ok, 1 failed, 2 usage.
import { execFile } from "node:child_process";
import { cpSync, mkdirSync, mkdtempSync, rmSync, writeFileSync } from "node:fs";
import os from "node:os";
import path from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { Client, ClientError } from "../../src/client/client.js";
import type { TaskEvent } from "../../src/client/types.js";
import { CLI_PATH, Cluster, REPO_ROOT, waitFor } from "./cluster-harness.js";
import { WatchReader, key } from "./watch-stream.js";

let c: Cluster;
const TOKEN = "integration-test-token";

beforeAll(async () => {
  c = await Cluster.start({ nodes: 3 });
  await c.waitForLeader();
}, 60_000);

afterAll(async () => {
  await c?.stopAll();
});

function run(cmd: string, args: readonly string[], cwd: string): Promise<{ code: number; stdout: string; stderr: string }> {
  return new Promise((resolve) => {
    execFile(cmd, args, { cwd, timeout: 60_000, env: { ...process.env, RAFTSCHED_TOKEN: "" } }, (err, stdout, stderr) => {
      resolve({ code: err ? ((err as { code?: number }).code ?? 1) : 0, stdout, stderr });
    });
  });
}

const cli = (...args: string[]) => run(process.execPath, [CLI_PATH, "task", ...args, "--config", c.configPath], REPO_ROOT);

describe("raftsched/client by the package name", () => {
  it("resolves from an installed copy (package.json + dist only) and from the package itself; '.' still works", async () => {
    const dir = mkdtempSync(path.join(os.tmpdir(), "raftsched-client-pkg-"));
    try {
      const pkg = path.join(dir, "node_modules", "raftsched");
      mkdirSync(pkg, { recursive: true });
      cpSync(path.join(REPO_ROOT, "package.json"), path.join(pkg, "package.json"));
      cpSync(path.join(REPO_ROOT, "dist", "client"), path.join(pkg, "dist", "client"), { recursive: true });
      const script = `import { Client } from "raftsched/client";
const c = new Client({ urls: ${JSON.stringify(c.ids.map((id) => c.url(id)))}, token: "${TOKEN}" });
const t = await c.submit({ id: "pkg-1", payload: { sleepMs: 0 } });
const done = await c.wait(t.id, { timeoutMs: 30000 });
console.log(JSON.stringify({ state: done.state }));`;
      writeFileSync(path.join(dir, "check.mjs"), script);
      const r = await run(process.execPath, ["check.mjs"], dir);
      expect(r.stderr).toBe("");
      expect(JSON.parse(r.stdout)).toEqual({ state: "completed" });
      // The types the exports map names are where it says.
      const types = await run(process.execPath, ["-e", `const p=require("./node_modules/raftsched/package.json");require("fs").accessSync(require("path").join("node_modules/raftsched",p.exports["./client"].types));console.log("ok")`], dir);
      expect(types.stdout.trim()).toBe("ok");
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
    const self = await run(process.execPath, ["--input-type=module", "-e", `const a = await import("raftsched"); const b = await import("raftsched/client"); console.log(typeof a.startNode, typeof b.Client)`], REPO_ROOT);
    expect(self.stdout.trim()).toBe("function function");
  });
});

describe("Client", () => {
  it("submits idempotently, waits, lists, cancels; errors carry the API's code", async () => {
    const client = new Client({ urls: c.ids.map((id) => c.url(id)), token: TOKEN });
    const t = await client.submit({ id: "cl-1", payload: { sleepMs: 0 } });
    const again = await client.submit({ id: "cl-1", payload: { sleepMs: 0 } });
    expect(again.createdIndex).toBe(t.createdIndex);
    expect((await client.wait("cl-1", { timeoutMs: 30_000 })).state).toBe("completed");
    expect((await client.list({ state: "completed" })).tasks.map((x) => x.id)).toContain("cl-1");
    await client.submit({ id: "cl-long", payload: { sleepMs: 60_000 } });
    expect((await client.cancel("cl-long")).state).toBe("cancelled");
    const missing = await client.get("no-such-task").catch((e: unknown) => e);
    expect(missing).toBeInstanceOf(ClientError);
    expect(missing).toMatchObject({ code: "NOT_FOUND", status: 404 });
  });

  it("fails over when the leader dies: writes go on, and the watch resumes on another node without gap or duplicate", async () => {
    const leader = await c.waitForLeader();
    const others = c.ids.filter((id) => id !== leader);
    const watcher = new Client({ urls: [leader, ...others].map((id) => c.url(id)), token: TOKEN, requestTimeoutMs: 3000 });
    const ctl = new AbortController();
    const seen: TaskEvent[] = [];
    const watching = (async () => {
      for await (const e of watcher.watch({ since: 0, signal: ctl.signal })) seen.push(e);
    })();
    const writer = new Client({ urls: [leader, ...others].map((id) => c.url(id)), token: TOKEN, requestTimeoutMs: 3000 });
    for (let k = 0; k < 5; k++) await writer.submit({ id: `fo-a${k}`, payload: { sleepMs: 0 } });
    await waitFor("the watch saw the first tasks", 20_000, () => seen.some((e) => e.id === "fo-a4"));
    await c.kill(leader);
    for (let k = 0; k < 5; k++) await writer.submit({ id: `fo-b${k}`, payload: { sleepMs: 0 } }); // the dead leader is first in its list
    await waitFor("the watch resumed and saw the later tasks complete", 30_000, () => seen.some((e) => e.id === "fo-b4" && e.state === "completed"));
    ctl.abort();
    await watching;
    const full = new WatchReader(c.url(others[0]!), { since: 0 });
    await waitFor("a full stream of a survivor", 20_000, () => full.sawState("fo-b4", "completed"));
    full.close();
    const upTo = Math.min(seen.at(-1)!.index, full.lastIndex!);
    const mine = seen.filter((e) => e.index <= upTo);
    expect(new Set(mine.map(key)).size).toBe(mine.length);
    expect(mine).toEqual(full.events.filter((e) => e.index <= upTo));
    await c.restart(leader);
  });
});

describe("raftsched task", () => {
  it("exit codes: 0 ok, 1 failed, 2 usage; tables for people, JSON for scripts", async () => {
    const sub = await cli("submit", "--id", "cli-1", "--payload", '{"sleepMs":0}', "--json");
    expect(sub.code, sub.stderr).toBe(0);
    expect(JSON.parse(sub.stdout)).toMatchObject({ id: "cli-1" });
    const wait = await cli("wait", "cli-1", "--timeout", "30s", "--json");
    expect(wait.code, wait.stderr).toBe(0);
    expect(JSON.parse(wait.stdout).state).toBe("completed");
    const get = await cli("get", "cli-1");
    expect(get.code).toBe(0);
    expect(get.stdout).toMatch(/^id\s+state\s+attempt\s+worker/);
    const list = await cli("list", "--state", "completed", "--json");
    expect(list.code).toBe(0);
    expect(JSON.parse(list.stdout).tasks.map((t: { id: string }) => t.id)).toContain("cli-1");
    const watch = await cli("watch", "--since", "0", "--count", "3", "--json");
    expect(watch.code, watch.stderr).toBe(0);
    expect(watch.stdout.trim().split("\n").map((l) => JSON.parse(l).index).length).toBe(3);

    const missing = await cli("get", "nope");
    expect(missing.code).toBe(1);
    expect(missing.stderr).toMatch(/NOT_FOUND/);
    expect((await cli("submit", "--id", "cli-dead", "--payload", '{"fail":true}', "--max-attempts", "1")).code).toBe(0);
    const dead = await cli("wait", "cli-dead", "--timeout", "30s");
    expect(dead.code).toBe(1);
    expect(dead.stderr).toMatch(/cli-dead is dead/);
    // retry sends the dead task back (attempt kept, so the next run is attempt 2); delete removes a finished one.
    const retried = await cli("retry", "cli-dead", "--json");
    expect(retried.code, retried.stderr).toBe(0);
    expect(JSON.parse(retried.stdout)).toMatchObject({ id: "cli-dead", attempt: 1 });
    expect(JSON.parse(retried.stdout).state).not.toBe("dead");
    const deleted = await cli("delete", "cli-1", "--json");
    expect(deleted.code, deleted.stderr).toBe(0);
    expect(JSON.parse(deleted.stdout)).toMatchObject({ id: "cli-1", deleted: true });
    const gone = await cli("get", "cli-1");
    expect(gone.code).toBe(1);
    expect(gone.stderr).toMatch(/NOT_FOUND/);
    await cli("submit", "--id", "cli-live", "--payload", '{"sleepMs":60000}');
    const live = await cli("delete", "cli-live");
    expect(live.code).toBe(1);
    expect(live.stderr).toMatch(/INVALID_STATE/);

    for (const args of [["frob"], ["get"], ["get", "a", "b"], ["list", "--limit", "0"], ["list", "--state", "done"], ["submit", "--payload", "{bad"], ["submit", "--wat"]]) {
      const r = await cli(...args);
      expect(r.code, `${args.join(" ")}: ${r.stderr}`).toBe(2);
      expect(r.stderr.length).toBeGreaterThan(0);
    }
  });
});
