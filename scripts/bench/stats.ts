// Nearest-rank percentiles (no interpolation), the same definition as the etcd anchor's driver, so the two
// sides' numbers are computed identically.

export function percentile(sorted: ArrayLike<number>, p: number): number | null {
  if (sorted.length === 0) return null;
  const rank = Math.ceil((p / 100) * sorted.length);
  return sorted[Math.min(sorted.length - 1, Math.max(0, rank - 1))] ?? null;
}

export interface Summary {
  readonly n: number;
  readonly min: number | null;
  readonly p50: number | null;
  readonly p90: number | null;
  readonly p99: number | null;
  readonly max: number | null;
  readonly mean: number | null;
}

export function summarize(values: readonly number[], digits = 2): Summary {
  const s = Float64Array.from(values).sort();
  const n = s.length;
  if (n === 0) return { n: 0, min: null, p50: null, p90: null, p99: null, max: null, mean: null };
  let sum = 0;
  for (const v of s) sum += v;
  const r = (v: number | null): number | null => (v === null ? null : round(v, digits));
  return { n, min: r(s[0]!), p50: r(percentile(s, 50)), p90: r(percentile(s, 90)), p99: r(percentile(s, 99)), max: r(s[n - 1]!), mean: r(sum / n) };
}

export function round(v: number, digits = 2): number {
  const f = 10 ** digits;
  return Math.round(v * f) / f;
}

export const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));
export const now = (): number => performance.now();
