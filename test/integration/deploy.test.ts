// The deployment files that can run here (this machine cannot pull container images, so no image is built):
// the container's entrypoint script, run directly, starts a real node from env settings and stops it gracefully on
// SIGTERM; the systemd unit passes `systemd-analyze verify` where that tool exists.
import { execFileSync, spawn, spawnSync } from "node:child_process";
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import path from "node:path";
import { afterAll, describe, expect, it } from "vitest";
import { freePorts } from "../../src/util/ports.js";
import { trackChildPid, untrackChildPid } from "../../src/util/child-pids.js";
import { CLI_PATH, REPO_ROOT, waitFor } from "./cluster-harness.js";

const ENTRYPOINT = path.join(REPO_ROOT, "deploy", "docker", "entrypoint.sh");
const UNIT = path.join(REPO_ROOT, "deploy", "systemd", "raftsched@.service");
const dir = mkdtempSync(path.join(tmpdir(), "raftsched-deploy-"));

afterAll(() => rmSync(dir, { recursive: true, force: true }));

async function oneNodeClusterFile(): Promise<{ file: string; url: string }> {
  const [port] = await freePorts(1);
  const url = `http://127.0.0.1:${port}`;
  const file = path.join(dir, "cluster.json");
  writeFileSync(file, JSON.stringify({ cluster: "deploy", token: "deploy-test-token", nodes: [{ id: "solo", url }] }));
  return { file, url };
}

describe("container entrypoint", () => {
  const bin = `${process.execPath} ${CLI_PATH}`;

  it("builds the start command from the environment (dry run), --join for the ids listed", async () => {
    const { file } = await oneNodeClusterFile();
    const run = (env: Record<string, string>) =>
      execFileSync("sh", [ENTRYPOINT, "--pretty"], { env: { PATH: process.env.PATH ?? "", RAFTSCHED_DRY_RUN: "1", RAFTSCHED_BIN: bin, RAFTSCHED_CONFIG: file, ...env }, encoding: "utf8" }).trim();
    expect(run({ RAFTSCHED_NODE_ID: "solo", RAFTSCHED_DATA_DIR: path.join(dir, "d") })).toBe(`${bin} start --config ${file} --id solo --data-dir ${path.join(dir, "d")} --pretty`);
    expect(run({ RAFTSCHED_NODE_ID: "raftsched-1", RAFTSCHED_DATA_DIR: path.join(dir, "d1"), RAFTSCHED_JOIN: "raftsched-0,raftsched-1" })).toContain("--join");
    expect(run({ RAFTSCHED_NODE_ID: "raftsched-2", RAFTSCHED_DATA_DIR: path.join(dir, "d2"), RAFTSCHED_JOIN: "raftsched-0,raftsched-1" })).not.toContain("--join");
    expect(run({ RAFTSCHED_NODE_ID: "n1", RAFTSCHED_DATA_DIR: path.join(dir, "d3"), RAFTSCHED_JOIN: "1" })).toContain("--join");
  });

  it("refuses a bad node id and a missing cluster file with one clear line", () => {
    const bad = spawnSync("sh", [ENTRYPOINT], { env: { PATH: process.env.PATH ?? "", RAFTSCHED_NODE_ID: "no/slash", RAFTSCHED_CONFIG: "/nonexistent" }, encoding: "utf8" });
    expect(bad.status).toBe(2);
    expect(bad.stderr).toMatch(/bad node id/);
    const missing = spawnSync("sh", [ENTRYPOINT], { env: { PATH: process.env.PATH ?? "", RAFTSCHED_NODE_ID: "n1", RAFTSCHED_CONFIG: "/nonexistent/cluster.json" }, encoding: "utf8" });
    expect(missing.status).toBe(2);
    expect(missing.stderr).toMatch(/cannot read the cluster file/);
  });

  it("runs a node that serves, and exits 0 on SIGTERM (the node is the process the signal reaches)", async () => {
    const { file, url } = await oneNodeClusterFile();
    const child = spawn("sh", [ENTRYPOINT], {
      env: { ...process.env, RAFTSCHED_BIN: bin, RAFTSCHED_CONFIG: file, RAFTSCHED_NODE_ID: "solo", RAFTSCHED_DATA_DIR: path.join(dir, "data-solo"), RAFTSCHED_TOKEN: "" },
      stdio: ["ignore", "pipe", "pipe"],
    });
    const pid = child.pid!;
    trackChildPid(pid);
    let output = "";
    child.stdout.on("data", (d: Buffer) => (output += d.toString()));
    child.stderr.on("data", (d: Buffer) => (output += d.toString()));
    const exited = new Promise<{ code: number | null; signal: NodeJS.Signals | null }>((resolve) => child.once("exit", (code, signal) => resolve({ code, signal })));
    try {
      await waitFor("the node to serve /healthz", 30_000, async () => (await fetch(`${url}/healthz`, { signal: AbortSignal.timeout(1_000) })).ok, 100);
      const status = (await (await fetch(`${url}/v1/status`)).json()) as { id: string; pid: number };
      expect(status.id).toBe("solo");
      expect(status.pid).toBe(pid); // exec: the shell became the node, so SIGTERM reaches it directly
      child.kill("SIGTERM");
      const end = await Promise.race([exited, new Promise<null>((r) => setTimeout(() => r(null), 20_000))]);
      expect(end, output).toEqual({ code: 0, signal: null });
      expect(output).toContain("shutting down");
    } finally {
      if (child.exitCode === null && child.signalCode === null) child.kill("SIGKILL");
      untrackChildPid(pid);
    }
  }, 60_000);
});

describe("systemd unit", () => {
  const tool = spawnSync("systemd-analyze", ["--version"], { encoding: "utf8" });
  const available = tool.status === 0;
  if (!available) console.log("systemd unit: skipped, systemd-analyze is not installed on this machine");

  it.skipIf(!available)("passes systemd-analyze verify with no unknown or ignored settings", () => {
    // verify needs an instance name and an ExecStart that exists here: the same unit, pointed at this checkout.
    const unit = readFileSync(UNIT, "utf8").replace("ExecStart=/usr/bin/raftsched start", `ExecStart=${process.execPath} ${CLI_PATH} start`);
    const copy = path.join(dir, "raftsched@n1.service");
    writeFileSync(copy, unit);
    const r = spawnSync("systemd-analyze", ["verify", copy], { encoding: "utf8" });
    expect(r.status, r.stderr).toBe(0);
    expect(r.stderr).not.toMatch(/Unknown|ignoring|Invalid|Failed/i);
  });

  it("reloads with SIGHUP and stops with SIGTERM, as raftsched start expects", () => {
    const unit = readFileSync(UNIT, "utf8");
    expect(unit).toMatch(/^ExecReload=\/bin\/kill -HUP \$MAINPID$/m);
    expect(unit).toMatch(/^KillSignal=SIGTERM$/m);
    expect(unit).toMatch(/^ExecStart=\S+ start --config \S+ --id %i --data-dir \S+%i$/m);
  });
});
