// The markdown of `npm run bench:workers` (workers.ts): the idle line, one row per producer count for raftsched
// and for BullMQ, and the completed-tasks ratio raftsched / BullMQ at each producer count.
import type { BullmqRow } from "./bullmq-anchor.js";
import type { LoadSample } from "./proc-stats.js";
import type { WorkersArgs } from "./workers-args.js";
import { breakdownLine } from "./real-breakdown.js";
import type { WorkersRow } from "./workers-load.js";

const f = (v: number | null | undefined, digits = 0): string => (v === null || v === undefined ? "–" : v.toFixed(digits));

export interface WorkersReport {
  readonly date: string;
  readonly command: string;
  readonly args: WorkersArgs;
  readonly loadStart: readonly number[];
  readonly loadEnd: readonly number[];
  readonly idle: LoadSample;
  readonly rows: readonly WorkersRow[];
  readonly bullmq: readonly BullmqRow[];
  readonly bullmqError: string | null;
}

export function workersMarkdown(r: WorkersReport): string {
  const a = r.args;
  const head = ["system", "C", "submitted/s", "completed/s", "e2e p50 ms", "e2e p99 ms", "ack/add p50 ms", "backlog at end", "drain /s", "leader (or redis) CPU %", "leader peak RSS MiB", "completed/s ratio vs BullMQ"];
  const lines = [`| ${head.join(" | ")} |`, `|${head.map((_, i) => (i < 1 ? "---" : "---:")).join("|")}|`];
  for (const row of r.rows) {
    const b = r.bullmq.find((x) => x.clients === row.clients);
    const ratio = b && b.completedPerS > 0 ? (row.completedPerS / b.completedPerS).toFixed(2) : "–";
    lines.push(
      `| raftsched, ${a.workers} external workers | ${row.clients} | ${f(row.submittedPerS)} | **${f(row.completedPerS)}** | ${f(row.endToEndMs.p50, 1)} | ${f(row.endToEndMs.p99, 1)} | ` +
        `${f(row.ackMs.p50, 2)} | ${row.backlogAtWindowEnd} | ${f(row.drainCompletedPerS)} | ${f(row.leader.clusterCpuPct)} | ${f(row.leader.peakRssMiB[0])} | ${ratio} |`,
    );
  }
  for (const b of r.bullmq) {
    lines.push(
      `| BullMQ, 3 workers × concurrency 8 (appendfsync always) | ${b.clients} | ${f(b.submittedPerS)} | **${f(b.completedPerS)}** | ${f(b.endToEndP50Ms, 1)} | ${f(b.endToEndP99Ms, 1)} | ` +
        `${f(b.addP50Ms, 2)} | ${b.backlogAtWindowEnd ?? "–"} | ${f(b.drainCompletedPerS)} | ${f(b.redisCpuPct)} | – | 1 |`,
    );
  }
  const notes = r.rows.map(
    (row) =>
      `- C=${row.clients}: ${row.errors} errors${row.errorSamples.length ? ` (${row.errorSamples.join("; ")})` : ""}, ${row.notCompletedAfterDrain} not completed after the drain, ` +
      `nodes' CPU ${f(row.nodes.clusterCpuPct)} %, worker hosts' CPU ${f(row.workerHosts.clusterCpuPct)} %, driver ${f(row.leader.driverCpuPct)} %, machine busy ${f(row.leader.machineBusyPct)} %, ` +
      `watch reconnects ${row.watchReconnects}, producers followed a new leader ${row.leaderMoves} times, load average ${row.loadAvg.join(" ")}` +
      (row.breakdown ? `; ${breakdownLine(row.breakdown)}` : ""),
  );
  return [
    `## raftsched with ${a.workers} external workers beside BullMQ, ${r.date}`,
    "",
    `Command: \`${r.command}\`. Load average at start ${r.loadStart.map((x) => x.toFixed(2)).join(" ")}, at end ${r.loadEnd.map((x) => x.toFixed(2)).join(" ")}. ` +
      `3 nodes on 127.0.0.1 with \`"worker": false\`, ${a.workers} SDK workers × capacity ${a.workerCapacity} in ${a.procs} processes, no-op handler, ${a.valueBytes}-byte payloads; ` +
      `closed-loop producers on the leader, ${a.durationS} s window after ${a.warmupS} s warmup. Completion seen on a follower's /v1/watch.`,
    "",
    `Idle, ${a.workers} workers connected: leader CPU ${f(r.idle.clusterCpuPct, 1)} % of a core, RSS ${f(r.idle.peakRssMiB[0])} MiB.`,
    "",
    ...lines,
    "",
    ...notes,
    ...(r.bullmqError ? ["", `BullMQ: not run (${r.bullmqError}).`] : []),
  ].join("\n");
}
