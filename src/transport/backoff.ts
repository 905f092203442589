// Reconnect delays: exponential from initialMs, capped at maxMs, with a random reduction of up to `jitter` of the
// delay so that nodes restarted together do not dial each other in lockstep. Jitter only shortens the delay,
// so maxMs is a true ceiling (an operator reading "at most 2 s between attempts" can rely on it).

export interface BackoffOptions {
  readonly initialMs: number;
  readonly maxMs: number;
  /** 0..1: the fraction of each delay that is randomized away. */
  readonly jitter: number;
}

/** The delay before reconnect attempt number `failures` (1 = the first retry after a loss). */
export function backoffDelayMs(options: BackoffOptions, failures: number, random: () => number = Math.random): number {
  const exponent = Math.min(Math.max(failures - 1, 0), 30); // 2^30 × anything positive is past any sane cap
  const delayMs = Math.min(options.maxMs, options.initialMs * 2 ** exponent);
  const jitter = Math.min(Math.max(options.jitter, 0), 1);
  return Math.max(0, Math.round(delayMs * (1 - jitter * random())));
}

export function checkBackoffOptions(options: BackoffOptions): void {
  const { initialMs, maxMs, jitter } = options;
  if (!(Number.isFinite(initialMs) && initialMs > 0 && Number.isFinite(maxMs) && maxMs >= initialMs)) {
    throw new RangeError(`backoff: need 0 < initialMs <= maxMs, got initialMs=${initialMs} maxMs=${maxMs}`);
  }
  if (!(jitter >= 0 && jitter <= 1)) throw new RangeError(`backoff: jitter must be in [0, 1], got ${jitter}`);
}
