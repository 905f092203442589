// Where a real-workload row's time goes (issue 14.1, brief L3 point 1): the leader's /metrics read at the start and
// at the end of the measured window, and its task gauges sampled during it. From the deltas: log entries and fsyncs
// per completed task, entries per fsync (the group commit's batch), placement rounds and assign commands per second
// and assignments per command, the mean busy slots against the cluster's capacity, and the mean submit→assignment
// and assignment→completion times as the leader applied them. Scrapes cost the leader a little CPU (every
// SAMPLE_EVERY_MS); nothing here is a timed assertion.
import { round } from "./stats.js";

const SAMPLE_EVERY_MS = 500;

/** One /metrics text as series → value; the node and cluster labels every series carries are dropped. */
export function parseMetrics(text: string): Map<string, number> {
  const out = new Map<string, number>();
  for (const line of text.split("\n")) {
    if (line === "" || line.startsWith("#")) continue;
    const m = /^([a-zA-Z_:][a-zA-Z0-9_:]*)(\{[^}]*\})?\s+(\S+)/.exec(line);
    if (!m) continue;
    const labels = (m[2] ?? "")
      .slice(1, -1)
      .split(/,(?=[a-zA-Z_]+=)/)
      .filter((l) => l !== "" && !l.startsWith("node=") && !l.startsWith("cluster="));
    out.set(labels.length > 0 ? `${m[1]}{${labels.join(",")}}` : m[1]!, Number(m[3]));
  }
  return out;
}

export interface RealBreakdown {
  readonly windowS: number;
  /** Tasks the leader's table saw completed in the window. */
  readonly completed: number;
  readonly entriesPerTask: number | null;
  readonly fsyncsPerS: number;
  readonly fsyncsPerTask: number | null;
  readonly entriesPerFsync: number | null;
  readonly placementRoundsPerS: number;
  readonly placementRoundsSkippedPerS: number;
  readonly assignCommandsPerS: number;
  readonly assignmentsPerCommand: number | null;
  /** Mean of the sampled `assigned` gauge (slots busy), and the cluster's live capacity. */
  readonly busySlotsMean: number | null;
  readonly pendingMean: number | null;
  readonly capacity: number | null;
  /** Means from the leader's histograms over the window, ms. */
  readonly submitToAssignMeanMs: number | null;
  readonly assignToCompleteMeanMs: number | null;
  readonly commitMeanMs: number | null;
  readonly fsyncMeanMs: number | null;
}

export class LeaderMetricsWatch {
  private readonly base: string;
  private readonly headers: Record<string, string>;
  private before: Map<string, number> | null = null;
  private t0 = 0;
  private timer: NodeJS.Timeout | null = null;
  private readonly busy: number[] = [];
  private readonly pending: number[] = [];
  private capacity: number | null = null;

  constructor(port: number, authHeader: string) {
    this.base = `http://127.0.0.1:${port}`;
    const [name, value] = authHeader.trim().split(/:\s*/, 2);
    this.headers = name && value ? { [name]: value } : {};
  }

  /** fetch, not the raw client: /metrics answers chunked. */
  private async get(path: string): Promise<{ status: number; text: string }> {
    const r = await fetch(this.base + path, { headers: this.headers, signal: AbortSignal.timeout(5000) });
    return { status: r.status, text: await r.text() };
  }

  private async scrape(): Promise<Map<string, number>> {
    const r = await this.get("/metrics");
    if (r.status !== 200) throw new Error(`GET /metrics: HTTP ${r.status}`);
    return parseMetrics(r.text);
  }

  /** Reads the starting counters and the live capacity, then samples the task gauges until finish(). */
  async start(): Promise<void> {
    this.before = await this.scrape();
    this.t0 = performance.now();
    const w = await this.get("/v1/workers");
    if (w.status === 200) {
      const rows = JSON.parse(w.text) as Array<{ alive?: boolean; capacity?: number }>;
      this.capacity = rows.filter((x) => x.alive).reduce((a, x) => a + (x.capacity ?? 0), 0);
    }
    let busy = false;
    const sample = (): void => {
      if (busy) return;
      busy = true;
      this.scrape()
        .then((m) => {
          this.busy.push(m.get('raftsched_tasks{state="assigned"}') ?? 0);
          this.pending.push(m.get('raftsched_tasks{state="pending"}') ?? 0);
        })
        .catch(() => {})
        .finally(() => (busy = false));
    };
    this.timer = setInterval(sample, SAMPLE_EVERY_MS);
  }

  async finish(): Promise<RealBreakdown | null> {
    if (this.timer) clearInterval(this.timer);
    this.timer = null;
    if (!this.before) return null;
    let after: Map<string, number>;
    try {
      after = await this.scrape();
    } catch (e) {
      process.stderr.write(`    leader metrics not read at the end: ${String(e)}\n`);
      return null;
    }
    return breakdownOf(this.before, after, (performance.now() - this.t0) / 1000, { busy: this.busy, pending: this.pending, capacity: this.capacity });
  }
}

export function breakdownOf(
  before: ReadonlyMap<string, number>,
  after: ReadonlyMap<string, number>,
  windowS: number,
  sampled: { busy: readonly number[]; pending: readonly number[]; capacity: number | null },
): RealBreakdown {
  const d = (k: string): number => (after.get(k) ?? 0) - (before.get(k) ?? 0);
  const per = (a: number, b: number, digits = 2): number | null => (b > 0 ? round(a / b, digits) : null);
  const meanMs = (h: string): number | null => per(d(`${h}_sum`) * 1000, d(`${h}_count`));
  const mean = (xs: readonly number[]): number | null => (xs.length > 0 ? round(xs.reduce((a, b) => a + b, 0) / xs.length, 1) : null);
  const completed = d('raftsched_tasks{state="completed"}');
  const fsyncs = d("raftsched_fsyncs_total");
  const entries = d("raftsched_entries_persisted_total");
  const commands = d("raftsched_assign_commands_total");
  return {
    windowS: round(windowS, 2),
    completed,
    entriesPerTask: per(entries, completed),
    fsyncsPerS: round(fsyncs / windowS, 1),
    fsyncsPerTask: per(fsyncs, completed),
    entriesPerFsync: per(entries, fsyncs),
    placementRoundsPerS: round(d("raftsched_placement_rounds_total") / windowS, 1),
    placementRoundsSkippedPerS: round(d("raftsched_placement_rounds_skipped_total") / windowS, 1),
    assignCommandsPerS: round(commands / windowS, 1),
    assignmentsPerCommand: per(d("raftsched_assignments_proposed_total"), commands),
    busySlotsMean: mean(sampled.busy),
    pendingMean: mean(sampled.pending),
    capacity: sampled.capacity,
    submitToAssignMeanMs: meanMs("raftsched_task_assign_delay_seconds"),
    assignToCompleteMeanMs: per(d('raftsched_task_run_duration_seconds_sum{outcome="completed"}') * 1000, d('raftsched_task_run_duration_seconds_count{outcome="completed"}')),
    commitMeanMs: meanMs("raftsched_raft_commit_duration_seconds"),
    fsyncMeanMs: meanMs("raftsched_fsync_duration_seconds"),
  };
}

export function breakdownLine(b: RealBreakdown): string {
  return (
    `leader: ${b.completed} completed in ${b.windowS}s; ${b.entriesPerTask} entries and ${b.fsyncsPerTask} fsyncs per task, ${b.entriesPerFsync} entries per fsync, ` +
    `${b.fsyncsPerS} fsyncs/s; placement ${b.placementRoundsPerS} rounds/s (+${b.placementRoundsSkippedPerS} skipped: assign in flight), ` +
    `${b.assignCommandsPerS} assign commands/s × ${b.assignmentsPerCommand} assignments; slots busy ${b.busySlotsMean}/${b.capacity}, pending ${b.pendingMean}; ` +
    `mean ms: submit→assigned ${b.submitToAssignMeanMs}, assigned→completed ${b.assignToCompleteMeanMs}, commit ${b.commitMeanMs}, fsync ${b.fsyncMeanMs}`
  );
}
