// The real-workload rows of `npm run bench` (issue 14.1) and the leader's per-stage breakdown of the 1-client row
// (src/node/stage-trace.ts, written by each member started with RAFTSCHED_TRACE_STAGES).
import { existsSync, readFileSync } from "node:fs";
import type { BenchArgs } from "./args.js";
import type { RaftschedBackend } from "./backend-raftsched.js";
import { runRealWorkload, type RealWorkloadRow } from "./real-workload.js";

export interface StageBreakdown {
  readonly requests: number;
  readonly stagesMs: Record<string, { n: number; p50: number; p90: number; p99: number; mean: number }>;
}

/** One row per client count; the stage summary is read from the leader right after the 1-client row (the
 *  first one), before more clients blur the per-request picture. */
export async function runRealRows(backend: RaftschedBackend, args: BenchArgs, runTag: string): Promise<{ rows: RealWorkloadRow[]; stages: StageBreakdown | null }> {
  const rows: RealWorkloadRow[] = [];
  let stages: StageBreakdown | null = null;
  for (const [i, c] of args.realClients.entries()) {
    rows.push(await runRealWorkload(backend, { clients: c, durationS: args.durationS, warmupS: args.warmupS, reqTimeoutMs: 5000, completion: args.realCompletion }, `${runTag}.w${i}`));
    if (c === 1 && stages === null) {
      const leader = await backend.leader();
      stages = leader ? readStages(backend.stagesFile(leader.name)) : null;
    }
  }
  return { rows, stages };
}

export function readStages(file: string): StageBreakdown | null {
  if (!existsSync(file)) return null;
  try {
    return JSON.parse(readFileSync(file, "utf8")) as StageBreakdown;
  } catch {
    return null;
  }
}

export function stagesTable(s: StageBreakdown): string {
  const rows = Object.entries(s.stagesMs).map(([stage, v]) => `| ${stage} | ${v.p50.toFixed(3)} | ${v.p90.toFixed(3)} | ${v.p99.toFixed(3)} | ${v.mean.toFixed(3)} |`);
  return ["| stage | p50 | p90 | p99 | mean |", "|---|---:|---:|---:|---:|", ...rows].join("\n");
}
