// `raftsched start` refuses a bad cluster file or an unknown --id before doing anything: non-zero exit, nothing
// listening, and exactly one line on stderr that names the problem. Also `raftsched status` against a live cluster.
import { spawn } from "node:child_process";
import { existsSync, mkdtempSync, rmSync, writeFileSync } from "node:fs";
import net from "node:net";
import { tmpdir } from "node:os";
import path from "node:path";
import { afterAll, describe, expect, it, onTestFailed } from "vitest";
import { LevelStore } from "../../src/storage/level.js";
import { CLI_PATH, Cluster, freePorts, REPO_ROOT, waitFor } from "./cluster-harness.js";

const dir = mkdtempSync(path.join(tmpdir(), "raftsched-cli-"));
const livePids = new Set<number>();

afterAll(() => {
  for (const pid of livePids) {
    try {
      process.kill(pid, "SIGKILL");
    } catch {
      // already gone
    }
  }
  rmSync(dir, { recursive: true, force: true });
});

interface RunResult {
  readonly code: number | null;
  readonly signal: NodeJS.Signals | null;
  readonly stdout: string;
  readonly stderr: string;
}

/** Runs the CLI to completion; SIGKILLs it (and fails) if it is still running after `timeoutMs`. */
function runCli(args: readonly string[], timeoutMs = 20_000): Promise<RunResult> {
  return new Promise((resolve, reject) => {
    const env = { ...process.env };
    delete env.RAFTSCHED_TOKEN;
    const child = spawn(process.execPath, [CLI_PATH, ...args], { cwd: REPO_ROOT, env, stdio: ["ignore", "pipe", "pipe"] });
    if (child.pid !== undefined) livePids.add(child.pid);
    let stdout = "";
    let stderr = "";
    child.stdout.on("data", (d: Buffer) => (stdout += d.toString()));
    child.stderr.on("data", (d: Buffer) => (stderr += d.toString()));
    const timer = setTimeout(() => {
      if (child.pid !== undefined) process.kill(child.pid, "SIGKILL");
      reject(new Error(`raftsched ${args.join(" ")} still running after ${timeoutMs} ms\nstdout: ${stdout}\nstderr: ${stderr}`));
    }, timeoutMs);
    child.on("error", reject);
    child.on("close", (code, signal) => {
      clearTimeout(timer);
      if (child.pid !== undefined) livePids.delete(child.pid);
      resolve({ code, signal, stdout, stderr });
    });
  });
}

let fileNo = 0;
function writeClusterFile(content: string | object): string {
  const file = path.join(dir, `cluster-${++fileNo}.json`);
  writeFileSync(file, typeof content === "string" ? content : JSON.stringify(content, null, 2));
  return file;
}

async function goodFile(): Promise<{ cluster: string; token: string; nodes: Array<{ id: string; url: string }> }> {
  const [p1, p2, p3] = await freePorts(3);
  return {
    cluster: "cli",
    token: "cli-test-token",
    nodes: [
      { id: "n1", url: `http://127.0.0.1:${p1}` },
      { id: "n2", url: `http://127.0.0.1:${p2}` },
      { id: "n3", url: `http://127.0.0.1:${p3}` },
    ],
  };
}

/** Runs `start` and checks the refusal: non-zero exit, one stderr line matching every pattern, no data dir. */
async function expectRefusal(configFile: string, id: string, patterns: readonly RegExp[]): Promise<string> {
  const dataDir = path.join(dir, `data-${fileNo}-${id}`);
  const r = await runCli(["start", "--config", configFile, "--id", id, "--data-dir", dataDir]);
  expect(r.signal).toBeNull();
  expect(r.code).not.toBe(0);
  expect(r.code).not.toBeNull();
  const lines = r.stderr.split("\n").filter((l) => l.trim().length > 0);
  expect(lines, `stderr was:\n${r.stderr}`).toHaveLength(1);
  const line = lines[0]!;
  for (const p of patterns) expect(line).toMatch(p);
  // It refused before touching any state: no data dir was created.
  expect(existsSync(dataDir)).toBe(false);
  return line;
}

describe("raftsched start refuses a bad cluster file with one clear line", () => {
  it("invalid JSON", async () => {
    const f = writeClusterFile('{ "cluster": "cli", "nodes": [ ');
    const line = await expectRefusal(f, "n1", [/invalid JSON/i]);
    expect(line).toContain(f);
  });

  it("an unknown top-level field", async () => {
    const f = writeClusterFile({ ...(await goodFile()), electionTimoutMs: [150, 300] });
    await expectRefusal(f, "n1", [/unknown field/i, /electionTimoutMs/]);
  });

  it("an unknown field in a node", async () => {
    const good = await goodFile();
    const f = writeClusterFile({ ...good, nodes: [{ ...good.nodes[0], capacty: 3 }, ...good.nodes.slice(1)] });
    await expectRefusal(f, "n1", [/unknown field/i, /capacty/]);
  });

  it("a duplicate node id", async () => {
    const good = await goodFile();
    const f = writeClusterFile({ ...good, nodes: [good.nodes[0], { ...good.nodes[1], id: "n1" }, good.nodes[2]] });
    await expectRefusal(f, "n1", [/duplicate/i, /"n1"/]);
  });

  it("a duplicate port", async () => {
    const good = await goodFile();
    const f = writeClusterFile({ ...good, nodes: [good.nodes[0], good.nodes[1], { ...good.nodes[2], url: good.nodes[0]!.url }] });
    const port = new URL(good.nodes[0]!.url).port;
    await expectRefusal(f, "n2", [/duplicate port/i, new RegExp(`:${port}\\b`)]);
  });

  it("an unknown --id", async () => {
    const f = writeClusterFile(await goodFile());
    await expectRefusal(f, "n9", [/unknown --id/i, /"n9"/, /n1, n2, n3/]);
  });

  it("a cluster file that does not exist", async () => {
    await expectRefusal(path.join(dir, "no-such-file.json"), "n1", [/no-such-file\.json/, /cannot read|ENOENT/i]);
  });
});

describe("raftsched start exits, with one clear line, when the node cannot start", () => {
  /** Starts n1 of `file` on `dataDir`: it must end by itself (runCli fails after 20 s) with a non-zero code. */
  async function expectStartFails(file: string, dataDir: string, pattern: RegExp): Promise<void> {
    const r = await runCli(["start", "--config", file, "--id", "n1", "--data-dir", dataDir]);
    expect(r.signal).toBeNull();
    expect(r.code).not.toBe(0);
    const lines = r.stderr.split("\n").filter((l) => l.trim().length > 0);
    expect(lines, `stderr was:\n${r.stderr}`).toHaveLength(1);
    expect(lines[0]).toMatch(pattern);
  }

  it("its port is taken by another process", async () => {
    const good = await goodFile();
    const port = Number(new URL(good.nodes[0]!.url).port);
    const squatter = net.createServer();
    await new Promise<void>((resolve) => squatter.listen(port, "127.0.0.1", resolve));
    try {
      await expectStartFails(writeClusterFile(good), path.join(dir, "taken-port"), new RegExp(`cannot listen on 127\\.0\\.0\\.1:${port}.*EADDRINUSE`));
    } finally {
      await new Promise<void>((resolve) => squatter.close(() => resolve()));
    }
  });

  it("its handler module does not load", async () => {
    const f = writeClusterFile({ ...(await goodFile()), handler: "./no-such-handler.js" });
    await expectStartFails(f, path.join(dir, "bad-handler"), /cannot load handler module .*no-such-handler\.js/);
  });

  it("its data dir is in use by another process", async () => {
    const dataDir = path.join(dir, "locked");
    const holder = await LevelStore.open(dataDir);
    try {
      await expectStartFails(writeClusterFile(await goodFile()), dataDir, /data dir .*locked is in use by another process/);
    } finally {
      await holder.close();
    }
  });
});

describe("raftsched status", () => {
  let c: Cluster | undefined;
  afterAll(async () => {
    await c?.stopAll();
  });

  it("prints one row per node with the leader marked", async () => {
    onTestFailed(() => c?.printLogTails());
    c = await Cluster.start({ nodes: 3, electionTimeoutMs: [150, 300], heartbeatMs: 50, workerTimeoutMs: 1000 });
    await c.waitForLeader(15_000);
    // On a loaded box a status call can time out or catch a re-election: ask again until every node answers
    // and the table marks exactly one leader.
    let last = "";
    const rows = await waitFor("a status table with 3 reachable nodes and one leader", 20_000, async () => {
      const r = await runCli(["status", "--config", c!.configPath]);
      last = `exit ${r.code}\n${r.stdout}${r.stderr}`;
      if (r.code !== 0) return undefined;
      const lines = r.stdout.split("\n").filter((l) => l.trim().length > 0);
      const ok = lines.length === 4 && !lines.some((l) => l.includes("unreachable")) && lines.filter((l) => /leader ★/.test(l)).length === 1;
      return ok ? lines : undefined;
    }, 200).catch((err: Error) => {
      throw new Error(`${err.message}; last output:\n${last}`);
    });
    expect(rows[0]).toMatch(/^node\s+url\s+role\s+term\s+leader\s+commit\s+applied/);
    for (const id of c.ids) expect(rows.some((row) => row.startsWith(`${id} `) && row.includes(c!.url(id))), `${id} in\n${rows.join("\n")}`).toBe(true);
    const marked = rows.find((row) => /leader ★/.test(row))!.split(/\s+/)[0]!;
    // The marked node is the leader the nodes name.
    const views = [...(await c.statusAll()).values()];
    expect(views.some((v) => v.leaderId === marked), `${marked} vs ${JSON.stringify(views)}`).toBe(true);
  });
});

describe("raftsched transfer-leader and member list with a hung (SIGSTOPped) first node (issue #18 item 5)", () => {
  let c: Cluster | undefined;
  afterAll(async () => {
    if (c && c.isRunning("n1")) process.kill(c.pid("n1"), "SIGCONT");
    await c?.stopAll();
  });

  it("moves on from the hung node after a short probe instead of the command's whole timeout", async () => {
    onTestFailed(() => c?.printLogTails());
    c = await Cluster.start({ nodes: 3, electionTimeoutMs: [150, 300], heartbeatMs: 50, workerTimeoutMs: 1000 });
    await c.waitForLeader(15_000);
    process.kill(c.pid("n1"), "SIGSTOP"); // n1 is the first node of the cluster file
    await c.waitForLeader(15_000, ["n2", "n3"]);
    // transfer-leader's own timeout is 10 s: trying n1 first with it (as before) takes more than that.
    let t0 = Date.now();
    const transfer = await runCli(["transfer-leader", "--config", c.configPath], 60_000);
    const transferMs = Date.now() - t0;
    t0 = Date.now();
    const list = await runCli(["member", "list", "--config", c.configPath], 60_000);
    const listMs = Date.now() - t0;
    console.log(`with n1 SIGSTOPped: transfer-leader took ${transferMs} ms (exit ${transfer.code}), member list ${listMs} ms (exit ${list.code})`);
    expect(transfer.code, transfer.stderr).toBe(0);
    expect(transfer.stdout).toMatch(/^leader: n[23]$/m);
    expect(list.code, list.stderr).toBe(0);
    // Generous: a CLI start on this shared box takes a second or two; the old behaviour waited 10 s on n1 alone.
    expect(transferMs).toBeLessThan(9_000);
  }, 90_000);
});
