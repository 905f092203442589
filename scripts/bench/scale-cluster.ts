// Scale of the cluster (issue 14.6): the same rows on 3, 5 and 7 nodes. Per size: raw-Raft throughput (capacity
// 0: tasks stay pending) at each client count, leader failover (SIGKILL, ms to the first successful write issued
// after it) over a few rounds, both on one cluster; then real-workload tasks/s (tasks run) on a fresh cluster of
// the same size with the default capacity. Every client talks to the leader, as in `npm run bench`.
import type { RaftschedBackend } from "./backend-raftsched.js";
import { runFailover, type FailoverRow } from "./failover.js";
import { runRealWorkload, type RealWorkloadRow } from "./real-workload.js";
import { runThroughput, type ThroughputRow } from "./throughput.js";

export interface ClusterScaleOptions {
  readonly clients: readonly number[];
  readonly realClients: number;
  readonly durationS: number;
  readonly warmupS: number;
  readonly rounds: number;
  readonly valueBytes: number;
}

export interface ClusterScaleRow {
  readonly nodes: number;
  readonly raw: ThroughputRow[];
  readonly real: RealWorkloadRow | null;
  readonly failover: FailoverRow | null;
}

export async function runClusterScale(
  nodes: number,
  o: ClusterScaleOptions,
  runTag: string,
  start: (b: { nodes: number; runTasks: boolean }) => Promise<RaftschedBackend>,
  stop: (b: RaftschedBackend) => Promise<void>,
): Promise<ClusterScaleRow> {
  const raft = await start({ nodes, runTasks: false });
  const raw: ThroughputRow[] = [];
  let failover: FailoverRow | null = null;
  try {
    for (const c of o.clients) {
      const t = { clients: c, durationS: o.durationS, warmupS: o.warmupS, valueBytes: o.valueBytes, reqTimeoutMs: 5000 };
      raw.push(await runThroughput(raft, t, `${runTag}.n${nodes}.c${c}`));
    }
    if (o.rounds > 0) {
      failover = await runFailover(
        raft,
        { rounds: o.rounds, writers: 8, warmupS: 1, settleS: 1, probeIntervalMs: 10, pollMs: 10, reqTimeoutMs: 1000, maxWaitMs: 20_000, valueBytes: o.valueBytes },
        `${runTag}.n${nodes}.fo`,
      );
    }
  } finally {
    await stop(raft);
  }
  let real: RealWorkloadRow | null = null;
  if (o.realClients > 0) {
    const rt = await start({ nodes, runTasks: true });
    try {
      real = await runRealWorkload(rt, { clients: o.realClients, durationS: o.durationS, warmupS: o.warmupS, reqTimeoutMs: 5000 }, `${runTag}.n${nodes}.real`);
    } finally {
      await stop(rt);
    }
  }
  return { nodes, raw, real, failover };
}
