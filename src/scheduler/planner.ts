// The leader's planning step: turn the committed table plus the leader's view of the world (clock, live workers,
// strategy, rng) into one assign command. Nothing here mutates the table; the command takes effect when it is
// committed and applied, on every replica alike.

import type { AssignCommand, Assignment } from "./commands.js";
import { MAX_ASSIGNMENTS_PER_COMMAND } from "./commands.js";
import type { Rng } from "./prng.js";
import type { Candidate, Strategy } from "./strategies.js";
import { pickWorker } from "./strategies.js";
import type { TaskTable } from "./table.js";

export const DEFAULT_PLAN_BATCH = 256;
/** Pending tasks looked at per plan: bounds the work when many tasks at the queue's head are still in backoff. */
export const DEFAULT_PLAN_SCAN = 20_000;

export interface PlanOptions {
  /** Leader clock: tasks whose retryAtMs is later are skipped this round. */
  readonly nowMs: number;
  readonly strategy: Strategy;
  readonly rng: Rng;
  /** The failure detector's view: only these workers get work (default: every worker the table has alive). */
  readonly liveWorkers?: Iterable<string>;
  /** Task ids already in a proposed-but-not-applied assign command; skipped. Simplest for the runner: keep at
   *  most one assign command in flight and pass nothing. */
  readonly inFlight?: ReadonlySet<string>;
  /** At most this many assignments (default 256, at most MAX_ASSIGNMENTS_PER_COMMAND). */
  readonly maxBatch?: number;
  readonly maxScan?: number;
  /** Per worker, slots held by aborted handlers that have not returned yet (the worker reports them; the table
   *  does not count them: their tasks were reassigned or cancelled). Counted as occupied: work placed there would
   *  only wait until they return (src/node/lingering-handlers.ts). */
  readonly lingering?: ReadonlyMap<string, number>;
}

/** The next assign command, or null when nothing is due or no worker has room. Takes pending tasks in queue
 *  order (priority desc, FIFO) and stops at the first task no worker can take (every worker is full). */
export function planAssignments(table: TaskTable, options: PlanOptions): AssignCommand | null {
  const maxBatch = Math.max(1, Math.min(options.maxBatch ?? DEFAULT_PLAN_BATCH, MAX_ASSIGNMENTS_PER_COMMAND));
  const maxScan = options.maxScan ?? DEFAULT_PLAN_SCAN;
  const live = options.liveWorkers === undefined ? undefined : new Set(options.liveWorkers);
  const candidates: { id: string; active: number; capacity: number }[] = table
    .workers()
    .filter((w) => w.alive && (live === undefined || live.has(w.id)))
    .map((w) => ({ id: w.id, active: w.active + (options.lingering?.get(w.id) ?? 0), capacity: w.capacity }));
  if (!candidates.some((c) => c.active < c.capacity)) return null;

  const assignments: Assignment[] = [];
  let rrCursor = table.rrCursor;
  // A working copy: apply() advances the committed weights the same way for each assignment it takes.
  let currentWeights: ReadonlyMap<string, number> = table.currentWeights();
  let scanned = 0;
  for (const task of table.pendingEntries()) {
    if (assignments.length >= maxBatch || ++scanned > maxScan) break;
    if (task.retryAtMs > options.nowMs || options.inFlight?.has(task.id)) continue;
    const pick = pickWorker(options.strategy, candidates as readonly Candidate[], options.rng, { rrCursor, currentWeights });
    if (pick === null) break;
    assignments.push({ taskId: task.id, worker: pick.worker, attempt: task.attempt + 1 });
    rrCursor = pick.rrCursor;
    currentWeights = pick.currentWeights;
    const chosen = candidates.find((c) => c.id === pick.worker)!;
    chosen.active += 1;
  }
  if (assignments.length === 0) return null;
  return rrCursor === table.rrCursor ? { type: "assign", assignments } : { type: "assign", assignments, rrCursor };
}

export interface BackoffOptions {
  /** Delay after the first failed attempt (default 100 ms); doubles per attempt. */
  readonly baseMs?: number;
  /** Cap on the delay (default 10 s). */
  readonly maxMs?: number;
  /** When given, "full jitter": a uniform delay in [delay/2, delay]. */
  readonly rng?: Rng;
}

/** The leader's retry time for a failed attempt, to write into the fail command. */
export function retryAtMs(nowMs: number, failedAttempt: number, options: BackoffOptions = {}): number {
  const baseMs = options.baseMs ?? 100;
  const maxMs = options.maxMs ?? 10_000;
  const exponent = Math.min(Math.max(failedAttempt - 1, 0), 30);
  const delayMs = Math.min(maxMs, baseMs * 2 ** exponent);
  const jittered = options.rng === undefined ? delayMs : delayMs / 2 + options.rng() * (delayMs / 2);
  return Math.floor(nowMs + jittered);
}
