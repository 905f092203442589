// Per-process CPU and memory from /proc (Linux only): utime+stime from /proc/<pid>/stat, VmRSS from
// /proc/<pid>/status, machine busy time from /proc/stat. Reads that fail (process gone, not Linux) give null.
import { execFileSync } from "node:child_process";
import { readFileSync } from "node:fs";
import os from "node:os";

let clkTck: number | undefined;
function ticksPerSecond(): number {
  if (clkTck === undefined) {
    try {
      clkTck = Number(execFileSync("getconf", ["CLK_TCK"], { encoding: "utf8", timeout: 2000 }).trim()) || 100;
    } catch {
      clkTck = 100;
    }
  }
  return clkTck;
}

/** CPU seconds (user + system) the process has used so far. */
export function cpuSeconds(pid: number): number | null {
  try {
    const text = readFileSync(`/proc/${pid}/stat`, "utf8");
    // comm (field 2) may contain spaces and parentheses: fields after the last ")" start at field 3 (state).
    const rest = text.slice(text.lastIndexOf(")") + 2).split(" ");
    const utime = Number(rest[11]); // field 14
    const stime = Number(rest[12]); // field 15
    if (!Number.isFinite(utime) || !Number.isFinite(stime)) return null;
    return (utime + stime) / ticksPerSecond();
  } catch {
    return null;
  }
}

/** Resident set size in MiB. */
export function rssMiB(pid: number): number | null {
  try {
    const m = /^VmRSS:\s+(\d+)\s+kB/m.exec(readFileSync(`/proc/${pid}/status`, "utf8"));
    return m ? Number(m[1]) / 1024 : null;
  } catch {
    return null;
  }
}

export interface MachineCpu {
  readonly idle: number;
  readonly total: number;
}

export function machineCpu(): MachineCpu | null {
  try {
    const f = readFileSync("/proc/stat", "utf8").split("\n")[0]!.trim().split(/\s+/).slice(1).map(Number);
    return { idle: (f[3] ?? 0) + (f[4] ?? 0), total: f.reduce((a, b) => a + b, 0) };
  } catch {
    return null;
  }
}

export function loadAverage(): [number, number, number] {
  const [a = 0, b = 0, c = 0] = os.loadavg();
  return [a, b, c];
}

/**
 * Samples the peak RSS of a fixed set of PIDs every intervalMs, and measures their CPU, the driver's CPU and the
 * machine's busy share between start() and stop().
 */
export class LoadSampler {
  private readonly peakRss: Array<number | null>;
  private timer: NodeJS.Timeout | undefined;
  private cpu0: Array<number | null> = [];
  private driver0: NodeJS.CpuUsage | undefined;
  private machine0: MachineCpu | null = null;
  private t0 = 0;

  constructor(
    private readonly pids: readonly number[],
    private readonly intervalMs = 500,
  ) {
    this.peakRss = pids.map(() => null);
  }

  start(): void {
    this.t0 = performance.now();
    this.cpu0 = this.pids.map(cpuSeconds);
    this.driver0 = process.cpuUsage();
    this.machine0 = machineCpu();
    this.sample();
    this.timer = setInterval(() => this.sample(), this.intervalMs);
  }

  private sample(): void {
    this.pids.forEach((pid, i) => {
      const r = rssMiB(pid);
      if (r !== null && (this.peakRss[i] === null || r > this.peakRss[i]!)) this.peakRss[i] = r;
    });
  }

  stop(): LoadSample {
    if (this.timer) clearInterval(this.timer);
    this.sample();
    const wallS = (performance.now() - this.t0) / 1000;
    const d = process.cpuUsage(this.driver0);
    const m1 = machineCpu();
    let clusterCpuS = 0;
    let complete = true;
    this.pids.forEach((pid, i) => {
      const a = this.cpu0[i];
      const b = cpuSeconds(pid);
      if (a === null || a === undefined || b === null) complete = false;
      else clusterCpuS += b - a;
    });
    const pct = (s: number): number => Math.round((s / wallS) * 1000) / 10;
    return {
      peakRssMiB: this.peakRss.map((r) => (r === null ? null : Math.round(r * 10) / 10)),
      clusterCpuPct: complete ? pct(clusterCpuS) : null,
      driverCpuPct: pct((d.user + d.system) / 1e6),
      machineBusyPct:
        this.machine0 && m1 && m1.total > this.machine0.total
          ? Math.round((1 - (m1.idle - this.machine0.idle) / (m1.total - this.machine0.total)) * 1000) / 10
          : null,
    };
  }
}

export interface LoadSample {
  /** Peak VmRSS per node, MiB, in node order. */
  readonly peakRssMiB: Array<number | null>;
  /** CPU of all nodes together, % of one core (200 = both cores of a 2-core machine). */
  readonly clusterCpuPct: number | null;
  /** CPU of this driver process, % of one core. */
  readonly driverCpuPct: number;
  /** Whole machine, % of all cores. */
  readonly machineBusyPct: number | null;
}
