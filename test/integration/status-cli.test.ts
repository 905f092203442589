// `raftsched status` from the outside: it names the file it read when --config is not given, exits non-zero while
// a member is unreachable, and shows a removed member as removed.
import { execFile } from "node:child_process";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import path from "node:path";
import { afterAll, describe, expect, it, onTestFailed } from "vitest";
import { CLI_PATH, Cluster, REPO_ROOT, waitFor } from "./cluster-harness.js";

function runCli(args: string[], cwd = REPO_ROOT): Promise<{ code: number; stdout: string; stderr: string }> {
  return new Promise((resolve) => {
    const env = { ...process.env };
    delete env.RAFTSCHED_TOKEN;
    execFile(process.execPath, [CLI_PATH, ...args], { cwd, timeout: 30_000, env }, (err, stdout, stderr) => {
      resolve({ code: err ? ((err as { code?: number }).code ?? 1) : 0, stdout, stderr });
    });
  });
}

describe("raftsched status", () => {
  let c: Cluster | undefined;
  const empty = mkdtempSync(path.join(tmpdir(), "raftsched-status-"));
  afterAll(async () => {
    await c?.stopAll();
    rmSync(empty, { recursive: true, force: true });
  });

  it("says which cluster file it read when --config is not given", async () => {
    const r = await runCli(["status"], empty);
    expect(r.stderr).toMatch(/no --config given; read .*cluster-configs[/\\]local-3\.json/);
  });

  it("exits 1 while a member is unreachable, and shows a removed member as removed (exit 0 again)", async () => {
    onTestFailed(() => c?.printLogTails());
    c = await Cluster.start({ nodes: 3, electionTimeoutMs: [150, 300], heartbeatMs: 50, workerTimeoutMs: 1000 });
    const leader = await c.waitForLeader(15_000);
    const victim = c.ids.find((id) => id !== leader)!;
    await c.kill(victim, "SIGKILL");
    let last = "";
    await waitFor("status to report the killed node and exit 1", 20_000, async () => {
      const r = await runCli(["status", "--config", c!.configPath]);
      last = `exit ${r.code}\n${r.stdout}${r.stderr}`;
      return r.code === 1 && new RegExp(`^${victim}\\s.*unreachable`, "m").test(r.stdout);
    }, 200).catch((err: Error) => {
      throw new Error(`${err.message}; last output:\n${last}`);
    });

    const removal = await c.request(leader, "DELETE", `/v1/cluster/members/${victim}`, { timeoutMs: 15_000 });
    expect(removal.status, JSON.stringify(removal.body)).toBe(200);
    await waitFor("status to show the removed member as removed and exit 0", 20_000, async () => {
      const r = await runCli(["status", "--config", c!.configPath]);
      last = `exit ${r.code}\n${r.stdout}${r.stderr}`;
      return r.code === 0 && new RegExp(`^${victim}\\s+\\S+\\s+removed\\s`, "m").test(r.stdout);
    }, 200).catch((err: Error) => {
      throw new Error(`${err.message}; last output:\n${last}`);
    });
  }, 90_000);
});
