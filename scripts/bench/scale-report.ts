// The scale benchmark's markdown tables (scripts/bench/scale.ts), so the same text goes into the README.
import type { ClusterScaleRow } from "./scale-cluster.js";
import type { TableScaleRow } from "./scale-table.js";

const f = (v: number | null | undefined, digits = 1): string => (v === null || v === undefined ? "–" : v.toFixed(digits));
const s = (ms: number | null | undefined): string => (ms === null || ms === undefined ? "–" : ms >= 10_000 ? `${(ms / 1000).toFixed(1)} s` : `${Math.round(ms)} ms`);

function table(header: string[], rows: string[][]): string {
  return [`| ${header.join(" | ")} |`, `|${header.map(() => "---").join("|")}|`, ...rows.map((r) => `| ${r.join(" | ")} |`)].join("\n");
}

export function clusterScaleTable(rows: readonly ClusterScaleRow[]): string {
  const clients = [...new Set(rows.flatMap((r) => r.raw.map((x) => x.clients)))];
  return table(
    [
      "nodes",
      ...clients.map((c) => `raw C=${c}: ops/s, p50 / p99 ms`),
      `real workload C=${rows[0]?.real?.clients ?? "–"}: tasks/s, ack p50 ms`,
      "failover: median / max ms (rounds)",
      "peak RSS MiB, largest node",
    ],
    rows.map((r) => [
      String(r.nodes),
      ...clients.map((c) => {
        const x = r.raw.find((y) => y.clients === c);
        return x ? `${f(x.opsPerS, 0)}, ${f(x.latencyMs.p50, 1)} / ${f(x.latencyMs.p99, 1)}` : "–";
      }),
      r.real ? `${f(r.real.completedPerS, 1)}, ${f(r.real.ackMs.p50, 1)}` : "–",
      r.failover ? `${f(r.failover.unavailMs.p50, 0)} / ${f(r.failover.unavailMs.max, 0)} (${r.failover.rounds}${r.failover.failedRounds ? `, ${r.failover.failedRounds} failed` : ""})` : "–",
      f(Math.max(...r.raw.flatMap((x) => x.load.peakRssMiB.filter((v): v is number => v !== null)), 0), 0),
    ]),
  );
}

export function tableScaleTable(rows: readonly TableScaleRow[]): string {
  const clients = [...new Set(rows.flatMap((r) => r.submits.map((x) => x.clients)))];
  const range = (xs: Array<number | null>, digits = 0): string => {
    const v = xs.filter((x): x is number => x !== null);
    if (v.length === 0) return "–";
    const lo = Math.min(...v);
    const hi = Math.max(...v);
    return lo === hi ? f(lo, digits) : `${f(lo, digits)}–${f(hi, digits)}`;
  };
  return table(
    [
      "pending tasks",
      ...clients.map((c) => `submit C=${c}: ops/s, p50 / p99 ms`),
      "RSS MiB per node",
      "V8 heap used MiB per node",
      "snapshot MiB",
      "snapshot time (capture → saved), per node",
      "start (restore) to healthy",
      "follower restart to caught up",
    ],
    rows.map((r) => [
      r.pending.toLocaleString("en"),
      ...clients.map((c) => {
        const x = r.submits.find((y) => y.clients === c);
        return x ? `${f(x.opsPerS, 0)}, ${f(x.latencyMs.p50, 1)} / ${f(x.latencyMs.p99, 1)}` : "–";
      }),
      range(r.memory.map((m) => m.rssMiB)),
      range(r.memory.map((m) => m.heapUsedMiB)),
      range(r.snapshots.map((x) => (x ? x.bytes / 2 ** 20 : null)), 1),
      r.snapshots.every((x) => x === null) ? "–" : r.snapshots.map((x) => s(x?.durationMs)).join(" / "),
      s(r.startToHealthyMs),
      s(r.restartMs),
    ]),
  );
}
