// A body-limit submit (1 MiB of JSON that may re-serialize 4× larger) costs tens to hundreds of milliseconds of CPU
// per stage on a busy 2-core machine (scripts/measure-large-submit.ts; README "Limits"): JSON.parse, validation,
// encodeCommand and the answer's JSON.stringify. Run back to back in one turn of the event loop they added up past
// the election timeout; the leader sent no heartbeats meanwhile, its followers elected another leader, and the
// submit ended in 504 OUTCOME_UNKNOWN. For large requests the stages are therefore separate turns: between two of
// them the tick timer runs and the leader's heartbeats go out. Small requests do not pay the (tiny) extra latency.

/** A request body (or encoded command) from this size on yields between its CPU-heavy stages. */
export const LARGE_REQUEST_BYTES = 64 * 1024;

export function isLargeRequest(bytes: number | undefined): boolean {
  return bytes !== undefined && bytes >= LARGE_REQUEST_BYTES;
}

/** Resolves after the event loop has run its timers and I/O once (setImmediate runs after the poll phase). */
export function yieldToEventLoop(): Promise<void> {
  return new Promise((resolve) => setImmediate(resolve));
}

/** Yields only for a large request. */
export async function yieldIfLarge(bytes: number | undefined): Promise<void> {
  if (isLargeRequest(bytes)) await yieldToEventLoop();
}
