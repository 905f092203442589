// Smoke run of the 200-worker benchmark (`npm run bench:workers -- --quick`: 10 external workers in 2 processes, 4
// producers, 2 s, raftsched only): it must start the cluster and the worker hosts, complete tasks through external
// workers only, write its JSON and markdown, and leave no process or data dir behind. No timing assertions: the
// numbers depend on the machine.
import { mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync } from "node:fs";
import os from "node:os";
import path from "node:path";
import { afterAll, describe, expect, it } from "vitest";
import { execFileP, processesMentioning, ROOT } from "./bench-smoke-helpers.js";


describe("npm run bench:workers -- --quick", () => {
  const work = mkdtempSync(path.join(os.tmpdir(), "bench-workers-smoke-"));
  afterAll(() => rmSync(work, { recursive: true, force: true }));

  it("completes tasks on external workers only, reports idle and loaded leader figures, and cleans up", { timeout: 180_000 }, async () => {
    const outDir = path.join(work, "out");
    const tmp = path.join(work, "tmp");
    mkdirSync(tmp, { recursive: true });
    const tag = `smoke-${process.pid}`;
    const { stdout } = await execFileP(process.execPath, ["--import", "tsx", "scripts/bench/workers.ts", "--quick", "--out", outDir], {
      cwd: ROOT,
      env: { ...process.env, TMPDIR: tmp, BENCH_SMOKE_TAG: tag },
      timeout: 170_000,
      maxBuffer: 16 * 1024 * 1024,
    });
    expect(stdout).toContain("external workers beside BullMQ");
    const files = readdirSync(outDir);
    const jsonName = files.find((f) => f.endsWith(".json"));
    expect(jsonName).toBeDefined();
    expect(files).toContain(jsonName!.replace(/\.json$/, ".md"));
    const result = JSON.parse(readFileSync(path.join(outDir, jsonName!), "utf8")) as {
      idle: { peakRssMiB: Array<number | null>; clusterCpuPct: number | null };
      rows: Array<{ clients: number; completedPerS: number; submittedPerS: number; notCompletedAfterDrain: number; endToEndMs: { n: number }; leader: { peakRssMiB: Array<number | null> } }>;
      bullmq: unknown[];
    };
    expect(result.idle.peakRssMiB[0]).toBeGreaterThan(0);
    expect(result.idle.clusterCpuPct).not.toBeNull();
    expect(result.rows.map((r) => r.clients)).toEqual([4]);
    const row = result.rows[0]!;
    // Members run nothing ("worker": false): every completion came from an external worker.
    expect(row.completedPerS).toBeGreaterThan(0);
    expect(row.endToEndMs.n).toBeGreaterThan(0);
    expect(row.notCompletedAfterDrain).toBe(0);
    expect(row.leader.peakRssMiB[0]).toBeGreaterThan(0);
    expect(result.bullmq).toEqual([]);
    // Nodes and worker hosts were stopped by PID, data dirs removed.
    expect(processesMentioning(tmp)).toEqual([]);
    const ours = (pid: number): boolean => {
      try {
        return readFileSync(`/proc/${pid}/environ`, "utf8").includes(tag);
      } catch {
        return false; // exited meanwhile
      }
    };
    expect(processesMentioning("scripts/bench/worker-host.ts").filter(ours)).toEqual([]);
    expect(readdirSync(tmp).filter((d) => d.startsWith("raftsched-bench-"))).toEqual([]);
  });
});
