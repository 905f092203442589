// Per-stage timings of a write's path through the leader (issue 14.1), for the benchmark's "where does each
// millisecond go" breakdown. Off unless RAFTSCHED_TRACE_STAGES names a file: then every request that made a
// proposal is split into stages, and a summary (percentiles per stage) is rewritten to that file every
// SUMMARY_EVERY requests. When off, every hook is one null check.
//
//   http parse     request handler entered → body read and parsed
//   propose        → the command appended by the core (validation, leader check, encoding)
//   persist wait   → the leader's own write of the entry begins (the Ready before it still in flight)
//   persist        → that write (one batch, fsynced) returns
//   replicate      → the entry is applied, i.e. committed: a follower's acknowledgement after our own fsync
//                    (0 when it came first: the appends leave before our own write, see ready-plan.ts)
//   apply+answer   → the response is written (apply, resolve, JSON, socket write)
//
// Requests are told apart with AsyncLocalStorage (the proposal is made inside the request's async context), the
// runner's persist/apply marks by log index. Overlapping requests are fine; the 1-client path is what it is for.
import { AsyncLocalStorage } from "node:async_hooks";
import { writeFileSync } from "node:fs";

export const TRACE_STAGES_ENV = "RAFTSCHED_TRACE_STAGES";
export const STAGES = ["http parse", "propose", "persist wait", "persist", "replicate", "apply+answer", "total"] as const;
const SUMMARY_EVERY = 20;
/** Samples kept per stage (the newest), and log indexes followed at once: every buffer has a bound. */
const MAX_SAMPLES = 20_000;
const MAX_FOLLOWED = 10_000;

interface RequestMarks {
  readonly arrive: number;
  parsed?: number;
  proposed?: number;
  index?: number;
}

interface IndexMarks {
  persistStart?: number;
  persistEnd?: number;
  applied?: number;
}

export class StageTracer {
  private readonly als = new AsyncLocalStorage<RequestMarks>();
  private readonly byIndex = new Map<number, IndexMarks>();
  private readonly samples = new Map<string, number[]>(STAGES.map((s) => [s, []]));
  private count = 0;

  constructor(private readonly file: string) {}

  /** Runs one request's handling with its marks in the async context; records its stages when it proposed. */
  async request(handle: () => Promise<void>): Promise<void> {
    const marks: RequestMarks = { arrive: performance.now() };
    try {
      await this.als.run(marks, handle);
    } finally {
      this.finish(marks, performance.now());
    }
  }

  parsed(): void {
    const m = this.als.getStore();
    if (m) m.parsed = performance.now();
  }

  proposed(index: number): void {
    const m = this.als.getStore();
    if (!m) return;
    m.proposed = performance.now();
    m.index = index;
    if (this.byIndex.size >= MAX_FOLLOWED) this.byIndex.clear();
    this.byIndex.set(index, {});
  }

  persist(entries: ReadonlyArray<{ readonly index: number }>, phase: "start" | "end"): void {
    const t = performance.now();
    for (const e of entries) {
      const m = this.byIndex.get(e.index);
      if (m) m[phase === "start" ? "persistStart" : "persistEnd"] ??= t;
    }
  }

  applied(index: number): void {
    const m = this.byIndex.get(index);
    if (m) m.applied ??= performance.now();
  }

  private finish(r: RequestMarks, answered: number): void {
    if (r.index === undefined || r.proposed === undefined) return;
    const m = this.byIndex.get(r.index);
    this.byIndex.delete(r.index);
    if (!m || m.persistStart === undefined || m.persistEnd === undefined || m.applied === undefined) return;
    const parsed = r.parsed ?? r.arrive;
    const add = (stage: string, ms: number): void => {
      const list = this.samples.get(stage)!;
      if (list.length >= MAX_SAMPLES) list.shift();
      list.push(Math.max(0, ms));
    };
    add("http parse", parsed - r.arrive);
    add("propose", r.proposed - parsed);
    add("persist wait", m.persistStart - r.proposed);
    add("persist", m.persistEnd - m.persistStart);
    add("replicate", m.applied - m.persistEnd);
    add("apply+answer", answered - m.applied);
    add("total", answered - r.arrive);
    if (++this.count % SUMMARY_EVERY === 0) this.writeSummary();
  }

  /** Per stage: n, p50, p90, p99, mean in ms. */
  summary(): Record<string, { n: number; p50: number; p90: number; p99: number; mean: number }> {
    const out: Record<string, { n: number; p50: number; p90: number; p99: number; mean: number }> = {};
    for (const [stage, list] of this.samples) {
      const s = [...list].sort((a, b) => a - b);
      const at = (p: number): number => round3(s[Math.min(s.length - 1, Math.max(0, Math.ceil((p / 100) * s.length) - 1))] ?? 0);
      out[stage] = { n: s.length, p50: at(50), p90: at(90), p99: at(99), mean: round3(s.reduce((a, b) => a + b, 0) / Math.max(1, s.length)) };
    }
    return out;
  }

  private writeSummary(): void {
    try {
      writeFileSync(this.file, JSON.stringify({ requests: this.count, stagesMs: this.summary() }, null, 1));
    } catch {
      // Tracing must never disturb the node: a file that cannot be written is skipped.
    }
  }
}

const round3 = (v: number): number => Math.round(v * 1000) / 1000;

/** The process's tracer, or null (the default: no tracing, no cost beyond a null check). */
export const stageTrace: StageTracer | null = process.env[TRACE_STAGES_ENV] ? new StageTracer(process.env[TRACE_STAGES_ENV]!) : null;
