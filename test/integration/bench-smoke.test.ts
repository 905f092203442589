// Smoke run of the benchmark (`npm run bench -- --quick`, raftsched only): it must start a cluster, produce the
// throughput and failover rows in its JSON, and leave no process or data dir behind. No timing assertions: the
// numbers depend on the machine.
import { mkdtempSync, readdirSync, readFileSync, rmSync } from "node:fs";
import os from "node:os";
import path from "node:path";
import { afterAll, describe, expect, it } from "vitest";
import { execFileP, processesMentioning, ROOT } from "./bench-smoke-helpers.js";


describe("npm run bench -- --quick", () => {
  const work = mkdtempSync(path.join(os.tmpdir(), "bench-smoke-"));
  afterAll(() => rmSync(work, { recursive: true, force: true }));

  it("writes throughput rows for C=1,4 and a 2-round failover row, and cleans up", { timeout: 180_000 }, async () => {
    const outDir = path.join(work, "out");
    const tmp = path.join(work, "tmp"); // the cluster's data dirs go here (TMPDIR), so leftovers can be found
    await execFileP("mkdir", ["-p", tmp]);
    const { stdout } = await execFileP(process.execPath, ["--import", "tsx", "scripts/bench/main.ts", "--quick", "--out", outDir], {
      cwd: ROOT,
      env: { ...process.env, TMPDIR: tmp },
      timeout: 170_000,
      maxBuffer: 16 * 1024 * 1024,
    });
    expect(stdout).toContain("### Real workload: tasks run");
    expect(stdout).toContain("### Write throughput");
    expect(stdout).toContain("### Leader failover");

    const files = readdirSync(outDir);
    const jsonName = files.find((f) => f.endsWith(".json"));
    expect(jsonName).toBeDefined();
    expect(files).toContain(jsonName!.replace(/\.json$/, ".md"));
    const result = JSON.parse(readFileSync(path.join(outDir, jsonName!), "utf8")) as {
      throughput: Array<{ system: string; clients: number; ops: number; errors: number; latencyMs: { n: number }; load: { peakRssMiB: Array<number | null> } }>;
      real: Array<{ clients: number; completed: number; ackMs: { n: number }; endToEndMs: { n: number } }>;
      failover: Array<{ system: string; rounds: number; failedRounds: number; perRound: Array<{ killed: string; unavailMs: number | null }> }>;
      ratios: { throughput: unknown[]; failover: unknown[] };
    };

    expect(result.throughput.map((r) => [r.system, r.clients])).toEqual([
      ["raftsched", 1],
      ["raftsched", 4],
    ]);
    for (const r of result.throughput) {
      expect(r.ops).toBeGreaterThan(0);
      expect(r.latencyMs.n).toBe(r.ops);
      expect(r.load.peakRssMiB).toHaveLength(3);
      for (const rss of r.load.peakRssMiB) expect(rss).toBeGreaterThan(0);
    }
    // The real workload (tasks run): rows for C=1,4, every counted task submitted and seen completed.
    expect(result.real.map((r) => r.clients)).toEqual([1, 4]);
    for (const r of result.real) {
      expect(r.completed).toBeGreaterThan(0);
      expect(r.ackMs.n).toBe(r.completed);
      expect(r.endToEndMs.n).toBe(r.completed);
    }
    expect(result.failover).toHaveLength(1);
    const fo = result.failover[0]!;
    expect(fo.system).toBe("raftsched");
    expect(fo.rounds).toBe(2);
    expect(fo.perRound).toHaveLength(2);
    expect(fo.failedRounds).toBe(0); // every kill was followed by a successful write and a new leader
    for (const round of fo.perRound) expect(["n1", "n2", "n3"]).toContain(round.killed);
    // raftsched only: nothing to compare against
    expect(result.ratios.throughput).toEqual([]);
    expect(result.ratios.failover).toEqual([]);

    // Every member was killed by PID and its data dir removed.
    expect(processesMentioning(tmp)).toEqual([]);
    expect(readdirSync(tmp).filter((d) => d.startsWith("raftsched-bench-"))).toEqual([]);
  });
});
