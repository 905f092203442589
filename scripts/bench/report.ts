// The printed tables (markdown, so the same text goes into the README) and the raftsched/etcd ratios.
import type { FailoverRow } from "./failover.js";
import type { ThroughputRow } from "./throughput.js";
import type { RealWorkloadRow } from "./real-workload.js";
import { round } from "./stats.js";

const f = (v: number | null | undefined, digits = 1): string => (v === null || v === undefined ? "–" : v.toFixed(digits));

function table(header: string[], rows: string[][]): string {
  const w = header.map((h, i) => Math.max(h.length, ...rows.map((r) => (r[i] ?? "").length)));
  const line = (cells: string[]): string => `| ${cells.map((c, i) => c.padEnd(w[i]!)).join(" | ")} |`;
  return [line(header), `|${w.map((x) => "-".repeat(x + 2)).join("|")}|`, ...rows.map(line)].join("\n");
}

/** Cluster CPU (all three members) per committed write, in ms. */
export function cpuMsPerOp(r: ThroughputRow): number | null {
  if (r.load.clusterCpuPct === null || r.opsPerS === 0) return null;
  return round((r.load.clusterCpuPct / 100) * (1000 / r.opsPerS), 3);
}

export function throughputTable(rows: readonly ThroughputRow[]): string {
  return table(
    ["system", "C", "ops/s", "p50 ms", "p90 ms", "p99 ms", "max ms", "errors", "peak RSS MiB n1/n2/n3", "cluster CPU %", "CPU ms/op", "driver CPU %", "machine busy %"],
    rows.map((r) => [
      r.label,
      String(r.clients),
      f(r.opsPerS, 0),
      f(r.latencyMs.p50, 2),
      f(r.latencyMs.p90, 2),
      f(r.latencyMs.p99, 2),
      f(r.latencyMs.max, 1),
      String(r.errors),
      r.load.peakRssMiB.map((x) => f(x, 0)).join("/"),
      f(r.load.clusterCpuPct, 0),
      f(cpuMsPerOp(r), 3),
      f(r.load.driverCpuPct, 0),
      f(r.load.machineBusyPct, 0),
    ]),
  );
}

export function failoverTable(rows: readonly FailoverRow[]): string {
  const s = (x: FailoverRow["unavailMs"]): string => `${f(x.min, 0)} / ${f(x.p50, 0)} / ${f(x.p90, 0)} / ${f(x.max, 0)}`;
  return table(
    ["system", "rounds", "write unavailability ms min / median / p90 / max", "new leader reported ms min / median / p90 / max", "failed rounds"],
    rows.map((r) => [r.label, String(r.rounds), s(r.unavailMs), s(r.newLeaderMs), String(r.failedRounds)]),
  );
}

const ratio = (a: number | null | undefined, b: number | null | undefined): number | null =>
  a === null || a === undefined || b === null || b === undefined || b === 0 ? null : round(a / b, 2);

export interface ThroughputRatio {
  readonly clients: number;
  readonly opsPerS: number | null;
  readonly p50: number | null;
  readonly p99: number | null;
  readonly max: number | null;
  readonly peakRssPerNode: number | null;
  readonly cpuMsPerOp: number | null;
}

export interface FailoverRatio {
  readonly raftsched: string;
  readonly etcd: string;
  readonly unavailMedian: number | null;
  readonly unavailMax: number | null;
  readonly newLeaderMedian: number | null;
}

const maxRss = (r: ThroughputRow): number | null => {
  const v = r.load.peakRssMiB.filter((x): x is number => x !== null);
  return v.length ? Math.max(...v) : null;
};

export function throughputRatios(rows: readonly ThroughputRow[]): ThroughputRatio[] {
  const out: ThroughputRatio[] = [];
  for (const r of rows.filter((x) => x.system === "raftsched")) {
    const e = rows.find((x) => x.system === "etcd" && x.clients === r.clients);
    if (!e) continue;
    out.push({
      clients: r.clients,
      opsPerS: ratio(r.opsPerS, e.opsPerS),
      p50: ratio(r.latencyMs.p50, e.latencyMs.p50),
      p99: ratio(r.latencyMs.p99, e.latencyMs.p99),
      max: ratio(r.latencyMs.max, e.latencyMs.max),
      peakRssPerNode: ratio(maxRss(r), maxRss(e)),
      cpuMsPerOp: ratio(cpuMsPerOp(r), cpuMsPerOp(e)),
    });
  }
  return out;
}

export function failoverRatios(rows: readonly FailoverRow[]): FailoverRatio[] {
  const e = rows.find((x) => x.system === "etcd");
  if (!e) return [];
  return rows
    .filter((x) => x.system === "raftsched")
    .map((r) => ({
      raftsched: r.label,
      etcd: e.label,
      unavailMedian: ratio(r.unavailMs.p50, e.unavailMs.p50),
      unavailMax: ratio(r.unavailMs.max, e.unavailMs.max),
      newLeaderMedian: ratio(r.newLeaderMs.p50, e.newLeaderMs.p50),
    }));
}

export function ratioTables(t: readonly ThroughputRatio[], fo: readonly FailoverRatio[]): string {
  const parts: string[] = [];
  const x = (v: number | null): string => (v === null ? "–" : `${v.toFixed(2)}×`);
  if (t.length) {
    parts.push(
      table(
        ["C", "ops/s", "p50", "p99", "max", "peak RSS per node", "cluster CPU per op"],
        t.map((r) => [String(r.clients), x(r.opsPerS), x(r.p50), x(r.p99), x(r.max), x(r.peakRssPerNode), x(r.cpuMsPerOp)]),
      ),
    );
  }
  if (fo.length) {
    parts.push(
      table(
        ["failover", "unavailability median", "unavailability max", "new leader median"],
        fo.map((r) => [`${r.raftsched} vs ${r.etcd}`, x(r.unavailMedian), x(r.unavailMax), x(r.newLeaderMedian)]),
      ),
    );
  }
  return parts.join("\n\n");
}

/** The headline: tasks that run (submit ack, end to end, completion rate). */
export function realWorkloadTable(rows: readonly RealWorkloadRow[]): string {
  return table(
    ["system", "C", "tasks/s completed", "ack p50 ms", "ack p99 ms", "end-to-end p50 ms", "end-to-end p99 ms", "end-to-end max ms", "errors", "peak RSS MiB n1/n2/n3", "cluster CPU %"],
    rows.map((r) => [
      r.label,
      String(r.clients),
      f(r.completedPerS, 0),
      f(r.ackMs.p50, 2),
      f(r.ackMs.p99, 2),
      f(r.endToEndMs.p50, 2),
      f(r.endToEndMs.p99, 2),
      f(r.endToEndMs.max, 1),
      String(r.errors),
      r.load.peakRssMiB.map((x) => f(x, 0)).join("/"),
      f(r.load.clusterCpuPct, 0),
    ]),
  );
}
