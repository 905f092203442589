// `raftsched chaos --workers N` (issue 12.6): external worker processes beside the members, killed, frozen past
// workerTimeoutMs and disconnected by the nemesis; the run keeps its verdict line and adds the workers' check (no
// attempt started on two workers). A short run: the point is that the faults land and the checks hold.
import { spawn, type ChildProcess } from "node:child_process";
import { mkdtempSync, readFileSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import path from "node:path";
import { fileURLToPath } from "node:url";
import { afterAll, describe, expect, it } from "vitest";

const ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), "..", "..");
const CLI = path.join(ROOT, "bin", "raftsched.js");

const children = new Set<ChildProcess>();
const dirs: string[] = [];
afterAll(() => {
  // chaos kills its nodes and workers by PID on SIGTERM; SIGKILL of chaos itself leaves that to its exit hook.
  for (const c of children) if (c.exitCode === null && c.signalCode === null) c.kill("SIGTERM");
  for (const d of dirs) rmSync(d, { recursive: true, force: true });
});

function runChaos(args: string[]): Promise<{ code: number | null; stdout: string; stderr: string }> {
  const child = spawn(process.execPath, [CLI, "chaos", ...args], { cwd: ROOT, stdio: ["ignore", "pipe", "pipe"] });
  children.add(child);
  let stdout = "";
  let stderr = "";
  child.stdout!.on("data", (d: Buffer) => (stdout += d.toString()));
  child.stderr!.on("data", (d: Buffer) => (stderr += d.toString()));
  return new Promise((resolve) => {
    child.once("exit", (code) => {
      children.delete(child);
      resolve({ code, stdout, stderr });
    });
  });
}

describe("raftsched chaos --workers", () => {
  it("refuses a worker fault without --workers, as a usage error", async () => {
    const r = await runChaos(["--duration", "5s", "--faults", "worker-kill"]);
    expect(r.code).toBe(2);
    expect(r.stderr).toMatch(/worker-kill" needs --workers N/);
  });

  it(
    "2 external workers killed, frozen past workerTimeoutMs and disconnected: linearizable, no attempt on two workers",
    async () => {
      const reportDir = mkdtempSync(path.join(tmpdir(), "raftsched-chaos-workers-"));
      dirs.push(reportDir);
      const r = await runChaos(["--duration", "20s", "--workers", "2", "--faults", "worker-kill,worker-pause,worker-disconnect", "--seed", "11", "--report", reportDir]);
      const context = `exit ${r.code}\n--- stdout\n${r.stdout}\n--- stderr (tail)\n${r.stderr.slice(-4000)}`;
      if (r.code !== 0) dirs.splice(dirs.indexOf(reportDir), 1); // a failure keeps its history: a bug report
      const lines = r.stdout.split("\n").filter((l) => l.length > 0);
      expect(lines[0], context).toMatch(/^linearizable: yes/);
      expect(lines.at(-1), context).toBe("linearizable: yes");
      expect(r.stdout, context).toMatch(/^external workers: 2; attempts started \d+, on two workers 0;/m);
      expect(r.code, context).toBe(0);

      const report = JSON.parse(readFileSync(path.join(reportDir, "report.json"), "utf8"));
      expect(report.violations).toEqual([]);
      expect(report.lost).toEqual([]);
      expect(report.workers.count).toBe(2);
      expect(report.workers.attemptsOnTwoWorkers).toEqual([]);
      // The workers ran tasks, and every kind of worker fault was injected (the first round covers each kind once).
      expect(report.workers.attemptsStarted, context).toBeGreaterThan(0);
      for (const kind of ["worker-kill", "worker-pause", "worker-disconnect"]) expect(report.faults.byKind[kind], `${kind}\n${context}`).toBeGreaterThanOrEqual(1);
    },
    240_000,
  );
});
