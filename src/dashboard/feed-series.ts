// The dashboard's sparklines: per-second counts of submitted and finished tasks and the median time from submit to
// finish, as this node applied them, for the last minute. Fed from the apply hook (O(1) per applied command), read
// once per dashboard tick. Pure: the caller passes the clock, so the unit tests drive it with fixed times.

/** One sparkline point per second, the last minute of them. */
export const SERIES_STEP_MS = 1_000;
export const SERIES_POINTS = 60;
/** Submit times kept to measure a finish against; beyond this the oldest are forgotten (their finish has no
 *  latency sample, it still counts as a finish). Bounds memory under any backlog. */
export const MAX_TRACKED_SUBMITS = 10_000;
/** Latency samples kept per second for the median: a bucket beyond it counts its finishes but samples no more. */
export const MAX_SAMPLES_PER_STEP = 512;

export interface SeriesView {
  readonly stepMs: number;
  /** The end of the newest (still filling) bucket, epoch ms. */
  readonly endMs: number;
  readonly submitted: readonly number[];
  readonly finished: readonly number[];
  /** Median submit → finish latency of each second, null when nothing finished with a known submit time. */
  readonly latencyP50Ms: readonly (number | null)[];
}

interface Bucket {
  startMs: number;
  submitted: number;
  finished: number;
  samples: number[];
}

export class ThroughputSeries {
  private readonly buckets: Bucket[] = [];
  /** Task id → when its submit was applied here (insertion order = age, for eviction). */
  private readonly submittedAtMs = new Map<string, number>();

  noteSubmitted(taskId: string, nowMs: number): void {
    this.bucketAt(nowMs).submitted++;
    this.submittedAtMs.delete(taskId);
    this.submittedAtMs.set(taskId, nowMs);
    if (this.submittedAtMs.size > MAX_TRACKED_SUBMITS) {
      const oldest = this.submittedAtMs.keys().next().value;
      if (oldest !== undefined) this.submittedAtMs.delete(oldest);
    }
  }

  /** A task reached a terminal state (completed, dead, cancelled). */
  noteFinished(taskId: string, nowMs: number): void {
    const bucket = this.bucketAt(nowMs);
    bucket.finished++;
    const at = this.submittedAtMs.get(taskId);
    if (at === undefined) return;
    this.submittedAtMs.delete(taskId);
    if (bucket.samples.length < MAX_SAMPLES_PER_STEP) bucket.samples.push(nowMs - at);
  }

  /** The last SERIES_POINTS seconds ending with the one holding `nowMs`, oldest first; empty seconds are zeros. */
  view(nowMs: number): SeriesView {
    const endStart = stepStart(nowMs);
    const byStart = new Map(this.buckets.map((b) => [b.startMs, b]));
    const submitted: number[] = [];
    const finished: number[] = [];
    const latencyP50Ms: (number | null)[] = [];
    for (let i = SERIES_POINTS - 1; i >= 0; i--) {
      const b = byStart.get(endStart - i * SERIES_STEP_MS);
      submitted.push(b?.submitted ?? 0);
      finished.push(b?.finished ?? 0);
      latencyP50Ms.push(b ? median(b.samples) : null);
    }
    return { stepMs: SERIES_STEP_MS, endMs: endStart + SERIES_STEP_MS, submitted, finished, latencyP50Ms };
  }

  /** How many submit times are held (for the bound's test). */
  get trackedSubmits(): number {
    return this.submittedAtMs.size;
  }

  private bucketAt(nowMs: number): Bucket {
    const startMs = stepStart(nowMs);
    const last = this.buckets[this.buckets.length - 1];
    // The clock may step back (NTP): a time before the newest bucket counts in the newest one.
    if (last && last.startMs >= startMs) return last;
    const bucket: Bucket = { startMs, submitted: 0, finished: 0, samples: [] };
    this.buckets.push(bucket);
    while (this.buckets.length > SERIES_POINTS) this.buckets.shift();
    return bucket;
  }
}

function stepStart(ms: number): number {
  return Math.floor(ms / SERIES_STEP_MS) * SERIES_STEP_MS;
}

export function median(values: readonly number[]): number | null {
  if (values.length === 0) return null;
  const sorted = [...values].sort((a, b) => a - b);
  const mid = sorted.length >> 1;
  return sorted.length % 2 === 1 ? sorted[mid]! : Math.round((sorted[mid - 1]! + sorted[mid]!) / 2);
}
