// Backup and restore (issue 15.3): `raftsched snapshot save` under load takes a backup from the leader holding
// every task acknowledged before it started; `raftsched snapshot restore` seeds the three data dirs of a NEW cluster
// on other ports, which then serves every task of the backup with its state and takes new work. A truncated and an
// altered copy are refused with their codes, and the data dir stays as it was (absent).
import { spawn } from "node:child_process";
import { existsSync, mkdirSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import path from "node:path";
import { afterAll, describe, expect, it } from "vitest";
import { CLI_PATH, Cluster, REPO_ROOT, waitFor } from "./cluster-harness.js";
import { readBackupFile } from "../../src/node/backup-restore.js";
import type { TaskTable } from "../../src/scheduler/table.js";
import type { Task } from "../../src/scheduler/types.js";

const clusters: Cluster[] = [];
afterAll(async () => {
  for (const c of clusters) await c.stopAll();
});

interface RunResult {
  readonly code: number | null;
  readonly stdout: string;
  readonly stderr: string;
}

function runCli(args: readonly string[], timeoutMs = 60_000): Promise<RunResult> {
  return new Promise((resolve, reject) => {
    const env = { ...process.env };
    delete env.RAFTSCHED_TOKEN;
    const child = spawn(process.execPath, [CLI_PATH, ...args], { cwd: REPO_ROOT, env, stdio: ["ignore", "pipe", "pipe"] });
    let stdout = "";
    let stderr = "";
    child.stdout.on("data", (d: Buffer) => (stdout += d.toString()));
    child.stderr.on("data", (d: Buffer) => (stderr += d.toString()));
    const timer = setTimeout(() => {
      if (child.pid !== undefined) process.kill(child.pid, "SIGKILL");
      reject(new Error(`raftsched ${args.join(" ")} still running after ${timeoutMs} ms\nstdout: ${stdout}\nstderr: ${stderr}`));
    }, timeoutMs);
    child.on("error", reject);
    child.on("close", (code) => {
      clearTimeout(timer);
      resolve({ code, stdout, stderr });
    });
  });
}

function allTasks(table: TaskTable): Task[] {
  const out: Task[] = [];
  let after: string | undefined;
  for (;;) {
    const page = table.listTasks({ limit: 1000, ...(after !== undefined ? { after } : {}) });
    out.push(...page.tasks);
    if (page.next === null) return out;
    after = page.next;
  }
}

/** Submits quick tasks through every node, two at a time, until stopped; remembers when each was acknowledged. */
function startLoad(c: Cluster): { acked: Map<string, number>; stop: () => Promise<void> } {
  const acked = new Map<string, number>();
  let running = true;
  let n = 0;
  const worker = async () => {
    while (running) {
      const id = `load-${n++}`;
      await c.submitWithRetry({ id, payload: { sleepMs: 5 } });
      acked.set(id, Date.now());
    }
  };
  const done = Promise.all([worker(), worker()]);
  return { acked, stop: async () => void ((running = false), await done) };
}

describe("raftsched snapshot save / restore", () => {
  it("saves under load and restores every task with its state into a new cluster", { timeout: 240_000 }, async () => {
    const source = await Cluster.start({ nodes: 3, capacity: 2, snapshotEveryEntries: 300 });
    clusters.push(source);
    const leader = await source.waitForLeader();
    // The backup holds every payload and result: the admin token even to read it; a follower names the leader.
    expect((await source.request(leader, "GET", "/v1/snapshot", { token: null })).status).toBe(401);
    const follower = source.ids.find((id) => id !== leader)!;
    const notLeader = await source.request(follower, "GET", "/v1/snapshot");
    expect([notLeader.status, notLeader.body?.error?.code]).toEqual([503, "NOT_LEADER"]);
    // Tasks in every state: completed and dead ones first, then long ones (six assigned on 3×2 slots, the rest
    // pending, and so is the load after them), one of them cancelled.
    for (let i = 0; i < 5; i++) await source.submitWithRetry({ id: `quick-${i}`, payload: { sleepMs: 5 } });
    for (let i = 0; i < 3; i++) await source.submitWithRetry({ id: `dead-${i}`, payload: { fail: true }, maxAttempts: 1 } as { id: string; payload: unknown });
    await waitFor("the quick tasks completed, the failing ones dead", 30_000, async () => {
      const [completed, dead] = await Promise.all([source.listAll(leader, { state: "completed" }), source.listAll(leader, { state: "dead" })]);
      return completed.length === 5 && dead.length === 3;
    });
    for (let i = 0; i < 8; i++) await source.submitWithRetry({ id: `long-${i}`, payload: { sleepMs: 600_000 } });
    const cancel = await source.request(leader, "POST", "/v1/tasks/long-7/cancel", { body: {} });
    expect(cancel.status).toBe(200);

    const load = startLoad(source);
    await waitFor("some load acknowledged", 30_000, () => load.acked.size >= 30);
    const saveStartedMs = Date.now();
    const ackedBefore = [...load.acked].filter(([, at]) => at < saveStartedMs).map(([id]) => id);
    const file = path.join(source.dir, "backup.snap");
    const saved = await runCli(["snapshot", "save", file, "--config", source.configPath]);
    await load.stop();
    expect(saved.stderr).toBe("");
    expect(saved.code).toBe(0);
    expect(saved.stdout).toMatch(/^saved \d+ tasks at index \d+ from n\d/);

    const backup = readBackupFile(file);
    const inBackup = new Map(allTasks(backup.table).map((t) => [t.id, t]));
    for (const id of ackedBefore) expect(inBackup.has(id), `${id} acknowledged before the save`).toBe(true);
    const states = new Set([...inBackup.values()].map((t) => t.state));
    for (const s of ["assigned", "pending", "completed", "dead", "cancelled"]) expect(states, s).toContain(s);

    // A truncated and an altered copy are refused, and leave no data dir behind.
    const bytes = readFileSync(file);
    const truncated = path.join(source.dir, "truncated.snap");
    writeFileSync(truncated, bytes.subarray(0, bytes.length - 100));
    const altered = path.join(source.dir, "altered.snap");
    const flipped = Buffer.from(bytes);
    flipped[Math.floor(bytes.length / 2)]! ^= 0x01;
    writeFileSync(altered, flipped);
    const target = await Cluster.start({ nodes: 3, capacity: 2 });
    clusters.push(target);
    const probeDir = path.join(target.dir, "refused-restore");
    for (const [copy, code] of [[truncated, "BACKUP_TRUNCATED"], [altered, "BACKUP_CHECKSUM_MISMATCH"]] as const) {
      const r = await runCli(["snapshot", "restore", copy, "--config", target.configPath, "--id", "n1", "--data-dir", probeDir]);
      expect(r.code).toBe(1);
      expect(r.stderr).toContain(code);
      expect(existsSync(probeDir)).toBe(false);
    }
    // A data dir in use is refused too.
    const busy = await runCli(["snapshot", "restore", file, "--config", target.configPath, "--id", "n1", "--data-dir", target.dataDir("n1")]);
    expect(busy.code).toBe(1);
    expect(busy.stderr).toContain("DATA_DIR_NOT_EMPTY");

    // The new cluster: its nodes stopped, their data dirs replaced by restored ones, started again.
    for (const id of target.ids) await target.kill(id);
    for (const id of target.ids) {
      rmSync(target.dataDir(id), { recursive: true, force: true });
      mkdirSync(target.dataDir(id), { recursive: true }); // an empty dir is taken, as a fresh volume would be
      const r = await runCli(["snapshot", "restore", file, "--config", target.configPath, "--id", id, "--data-dir", target.dataDir(id)]);
      expect(r.stderr).toBe("");
      expect(r.code).toBe(0);
    }
    for (const id of target.ids) await target.restart(id);
    const newLeader = await target.waitForLeader();
    const restored = new Map((await target.listAll(newLeader)).map((t: Task) => [t.id, t]));
    expect([...restored.keys()].sort()).toEqual([...inBackup.keys()].sort());
    for (const [id, t] of inBackup) {
      const now = restored.get(id)!;
      if (t.state === "completed" || t.state === "dead" || t.state === "cancelled") {
        expect({ state: now.state, attempt: now.attempt, result: now.result, lastError: now.lastError }, id).toEqual({
          state: t.state,
          attempt: t.attempt,
          result: t.result,
          lastError: t.lastError,
        });
      } else {
        // Pending and assigned tasks go on in the new cluster (placement may move them), never to an end yet.
        expect(["pending", "assigned"], id).toContain(now.state);
      }
    }
    // The restored cluster works: with the long tasks cancelled (their slots freed), a new task runs to completion.
    for (let i = 0; i < 8; i++) expect((await target.request(newLeader, "POST", `/v1/tasks/long-${i}/cancel`, { body: {} })).status).toBe(200);
    await target.submitWithRetry({ id: "after-restore", payload: { sleepMs: 5 }, priority: 10 } as { id: string; payload: unknown });
    await waitFor("the new task completed", 60_000, async () => (await target.get(newLeader, "after-restore"))?.state === "completed");
  });
});
