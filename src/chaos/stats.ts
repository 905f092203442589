// Small summaries for the verdict: min / median / p99 / max of a list of milliseconds.

export interface Spread {
  readonly count: number;
  readonly minMs: number | null;
  readonly medianMs: number | null;
  readonly p99Ms: number | null;
  readonly maxMs: number | null;
}

/** Nearest-rank percentile (p in (0, 1]) of an ascending list. */
export function percentile(sorted: readonly number[], p: number): number | null {
  if (sorted.length === 0) return null;
  const rank = Math.max(1, Math.ceil(p * sorted.length));
  return sorted[Math.min(sorted.length, rank) - 1]!;
}

export function spread(values: readonly number[]): Spread {
  const s = [...values].sort((a, b) => a - b);
  const round = (x: number | null): number | null => (x === null ? null : Math.round(x));
  return {
    count: s.length,
    minMs: round(s[0] ?? null),
    medianMs: round(percentile(s, 0.5)),
    p99Ms: round(percentile(s, 0.99)),
    maxMs: round(s[s.length - 1] ?? null),
  };
}

export function formatSpread(x: Spread): string {
  if (x.count === 0) return "no samples";
  return `min ${x.minMs} ms, median ${x.medianMs} ms, p99 ${x.p99Ms} ms, max ${x.maxMs} ms`;
}
