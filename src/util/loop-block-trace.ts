// Which synchronous stage blocks a node's event loop (issue 14.3: "nothing may run longer than a quarter of the
// heartbeat"). Off unless RAFTSCHED_TRACE_LOOP_BLOCKS names a threshold in ms: then the named stages of the write
// path (body parse, validation, command encode/decode, persist, frame encode/decode, apply, answer) are timed, a
// 5 ms sampler notices every event-loop block over the threshold, and one stderr line per block says what ran
// in it: the stages timed since the previous sample and the GC pauses inside the block's window. When off, each
// hook is one null check. For measurement (README "Limits"), not for production.
import { PerformanceObserver } from "node:perf_hooks";

export const TRACE_LOOP_BLOCKS_ENV = "RAFTSCHED_TRACE_LOOP_BLOCKS";
const SAMPLE_EVERY_MS = 5;
/** Stage timings kept between two samples, and GC pauses remembered: every buffer has a bound. */
const MAX_STAGES = 256;
const MAX_GCS = 256;
/** A stage shorter than this is not worth naming. */
const MIN_STAGE_MS = 1;

const GC_KINDS: Readonly<Record<number, string>> = { 1: "minor", 2: "major", 4: "incremental", 8: "weakcb" };

export class LoopBlockTracer {
  private stages: string[] = [];
  private readonly gcs: Array<{ start: number; ms: number; kind: string }> = [];
  /** Worst duration per stage over the process's life, printed with each block. */
  private readonly worst = new Map<string, number>();
  private last = performance.now();
  /** Process CPU (all threads: the GC's helpers and libuv's pool too) at the previous sample. */
  private lastCpu = process.cpuUsage();

  constructor(private readonly thresholdMs: number) {
    setInterval(() => this.sample(), SAMPLE_EVERY_MS).unref();
    const obs = new PerformanceObserver((list) => {
      for (const e of list.getEntries()) {
        const kind = GC_KINDS[(e as unknown as { detail?: { kind?: number } }).detail?.kind ?? 0] ?? "gc";
        if (this.gcs.length >= MAX_GCS) this.gcs.shift();
        this.gcs.push({ start: e.startTime, ms: e.duration, kind });
      }
    });
    obs.observe({ entryTypes: ["gc"] });
  }

  /** Runs `f`, timing it as `name` (with `bytes`, the size it worked on, when known). */
  stage<T>(name: string, f: () => T, bytes?: number): T {
    const t0 = performance.now();
    try {
      return f();
    } finally {
      const ms = performance.now() - t0;
      if (ms >= MIN_STAGE_MS) {
        const label = bytes !== undefined && bytes >= 1024 ? `${name}(${Math.round(bytes / 1024)}K)` : name;
        if (this.stages.length < MAX_STAGES) this.stages.push(`${label} ${ms.toFixed(0)}`);
        if (ms > (this.worst.get(name) ?? 0)) this.worst.set(name, ms);
      }
    }
  }

  private sample(): void {
    const now = performance.now();
    const blockedMs = now - this.last - SAMPLE_EVERY_MS;
    const [from, stages, cpu] = [this.last, this.stages, process.cpuUsage()];
    // CPU the process used over the block: far below its length means the OS did not run us (a loaded machine).
    const cpuMs = (cpu.user - this.lastCpu.user + cpu.system - this.lastCpu.system) / 1000;
    [this.last, this.lastCpu, this.stages] = [now, cpu, []];
    if (blockedMs < this.thresholdMs) return;
    // GC entries reach the observer after the turn they ran in: report a moment later, with them.
    setTimeout(() => {
      const gcs = this.gcs.filter((g) => g.start >= from && g.start <= now && g.ms >= MIN_STAGE_MS).map((g) => `${g.kind} ${g.ms.toFixed(0)}`);
      const worst = [...this.worst].map(([n, ms]) => `${n} ${ms.toFixed(0)}`).join(", ");
      process.stderr.write(`loop-block ${blockedMs.toFixed(0)} ms (process cpu ${cpuMs.toFixed(0)} ms): stages [${stages.join(", ")}] gc [${gcs.join(", ")}] worst-so-far [${worst}]\n`);
    }, 20).unref();
  }
}

const thresholdMs = Number(process.env[TRACE_LOOP_BLOCKS_ENV] ?? "");
/** The process's tracer, or null (the default). */
export const loopBlocks: LoopBlockTracer | null = thresholdMs > 0 ? new LoopBlockTracer(thresholdMs) : null;

/** `f()`, timed as a stage when tracing is on. */
export function timedStage<T>(name: string, f: () => T, bytes?: number): T {
  return loopBlocks ? loopBlocks.stage(name, f, bytes) : f();
}
