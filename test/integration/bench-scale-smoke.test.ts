// Smoke run of the scale benchmark (scripts/bench/scale.ts --quick, issue 14.6): a 5-node cluster's rows (raw
// throughput, one leader kill, the real workload) and a 3-node cluster seeded with pending tasks through snapshot
// restore (submits, memory, the members' snapshot, a follower restart) must all produce their figures and leave no
// process or data dir behind. No timing assertions: the numbers depend on the machine.
import { mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync } from "node:fs";
import os from "node:os";
import path from "node:path";
import { afterAll, describe, expect, it } from "vitest";
import { execFileP, processesMentioning, ROOT } from "./bench-smoke-helpers.js";


interface ScaleJson {
  cluster: Array<{ nodes: number; raw: Array<{ clients: number; ops: number; load: { peakRssMiB: unknown[] } }>; real: { completed: number } | null; failover: { rounds: number; failedRounds: number } | null }>;
  table: Array<{ pending: number; seed: { tasks: number } | null; submits: Array<{ ops: number }>; memory: Array<{ rssMiB: number | null; heapUsedMiB: number | null }>; snapshots: Array<{ bytes: number } | null>; restartMs: number | null }>;
}

describe("scripts/bench/scale.ts --quick", () => {
  const work = mkdtempSync(path.join(os.tmpdir(), "bench-scale-smoke-"));
  afterAll(() => rmSync(work, { recursive: true, force: true }));

  it("gives a 5-node row and a seeded-table row, and cleans up", { timeout: 420_000 }, async () => {
    const outDir = path.join(work, "out");
    const tmp = path.join(work, "tmp");
    mkdirSync(tmp, { recursive: true });
    const args = ["--import", "tsx", "scripts/bench/scale.ts", "--quick", "--nodes", "5", "--clients", "2", "--real-clients", "2", "--pending", "2000", "--out", outDir];
    const { stdout } = await execFileP(process.execPath, args, { cwd: ROOT, env: { ...process.env, TMPDIR: tmp }, timeout: 400_000, maxBuffer: 16 * 1024 * 1024 });
    expect(stdout).toContain("### Cluster size");
    expect(stdout).toContain("### Table size");
    const jsonName = readdirSync(outDir).find((f) => f.endsWith(".json"));
    expect(jsonName).toBeDefined();
    const result = JSON.parse(readFileSync(path.join(outDir, jsonName!), "utf8")) as ScaleJson;

    expect(result.cluster.map((r) => r.nodes)).toEqual([5]);
    const five = result.cluster[0]!;
    expect(five.raw.map((r) => r.clients)).toEqual([2]);
    expect(five.raw[0]!.ops).toBeGreaterThan(0);
    expect(five.raw[0]!.load.peakRssMiB).toHaveLength(5);
    expect(five.real?.completed).toBeGreaterThan(0);
    expect(five.failover).toMatchObject({ rounds: 1, failedRounds: 0 });

    expect(result.table).toHaveLength(1);
    const t = result.table[0]!;
    expect(t.pending).toBe(2000);
    expect(t.seed?.tasks).toBe(2000);
    expect(t.submits[0]!.ops).toBeGreaterThan(0);
    for (const m of t.memory) {
      expect(m.rssMiB).toBeGreaterThan(0);
      expect(m.heapUsedMiB).toBeGreaterThan(0);
    }
    for (const s of t.snapshots) expect(s?.bytes).toBeGreaterThan(0); // each member snapshotted the seeded table
    expect(t.restartMs).toBeGreaterThan(0);

    expect(processesMentioning(tmp)).toEqual([]);
    expect(readdirSync(tmp).filter((d) => d.startsWith("raftsched-bench-"))).toEqual([]);
  });
});
