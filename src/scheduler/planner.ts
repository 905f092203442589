// The leader's planning step: turn the committed table plus the leader's view of the world (clock, live workers,
// strategy, rng) into one assign command. Nothing here mutates the table; the command takes effect when it is
// committed and applied, on every replica alike.

import type { AssignCommand, Assignment } from "./commands.js";
import { MAX_ASSIGNMENTS_PER_COMMAND } from "./commands.js";
import type { Rng } from "./prng.js";
import type { Candidate, Strategy } from "./strategies.js";
import { pickWorker } from "./strategies.js";
import type { PendingEntry, TaskTable } from "./table.js";

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

export interface Plan {
  /** The assign command, or null when nothing is due or no worker has room. */
  readonly command: AssignCommand | null;
  /** The earliest future time (leader clock) at which a scanned task becomes due (its runAt or retry time), or
   *  null when none waits on time: the leader sets a timer for it instead of polling. */
  readonly nextDueMs: number | null;
}

/** The next assign command, or null when nothing is due or no worker has room. */
export function planAssignments(table: TaskTable, options: PlanOptions): AssignCommand | null {
  return planAssignmentsWithDue(table, options).command;
}

/** Takes pending tasks in queue order (priority desc, FIFO); a task waits while its runAt or retry time is ahead,
 *  and is skipped when no live worker with room carries its tags. Stops when every worker is full. */
export function planAssignmentsWithDue(table: TaskTable, options: PlanOptions): Plan {
  const maxBatch = Math.max(1, Math.min(options.maxBatch ?? DEFAULT_PLAN_BATCH, MAX_ASSIGNMENTS_PER_COMMAND));
  const maxScan = options.maxScan ?? DEFAULT_PLAN_SCAN;
  // Most rounds find nothing pending (a round follows every applied entry, and the timer's every 20 ms): answer
  // those before building the workers' view, which costs O(workers) (200 external workers: the leader's top cost).
  const pending = table.pendingEntries();
  const head = pending.next();
  if (head.done === true) return { command: null, nextDueMs: null };
  const live = options.liveWorkers === undefined ? undefined : new Set(options.liveWorkers);
  const candidates = live === undefined ? table.liveWorkerSlots() : table.liveWorkerSlots().filter((w) => live.has(w.id));
  if (options.lingering !== undefined) for (const c of candidates) c.active += options.lingering.get(c.id) ?? 0;
  // Workers with room left: when none is, nothing more can be placed (kept as a count: the scan may be long).
  let withRoom = candidates.filter((c) => c.active < c.capacity).length;

  const assignments: Assignment[] = [];
  let rrCursor = table.rrCursor;
  // A working copy: apply() advances the committed weights the same way for each assignment it takes.
  let currentWeights: ReadonlyMap<string, number> = options.strategy === "weighted" ? table.currentWeights() : new Map();
  let scanned = 0;
  let nextDueMs: number | null = null;
  for (let next: IteratorResult<PendingEntry> = head; next.done !== true; next = pending.next()) {
    const task = next.value;
    if (assignments.length >= maxBatch || ++scanned > maxScan || withRoom === 0) break;
    const dueMs = Math.max(task.retryAtMs, task.extras?.runAt ?? 0);
    if (dueMs > options.nowMs) {
      nextDueMs = nextDueMs === null ? dueMs : Math.min(nextDueMs, dueMs);
      continue;
    }
    if (options.inFlight?.has(task.id)) continue;
    const state = { rrCursor, currentWeights };
    const pick = pickWorker(options.strategy, candidates as readonly Candidate[], options.rng, state, task.extras?.requires);
    if (pick === null) continue; // no worker with room carries its tags: the next task may fit elsewhere
    assignments.push({ taskId: task.id, worker: pick.worker, attempt: task.attempt + 1 });
    rrCursor = pick.rrCursor;
    currentWeights = pick.currentWeights;
    const chosen = candidates.find((c) => c.id === pick.worker)!;
    chosen.active += 1;
    if (chosen.active === chosen.capacity) withRoom -= 1;
  }
  if (assignments.length === 0) return { command: null, nextDueMs };
  const command: AssignCommand =
    rrCursor === table.rrCursor ? { type: "assign", assignments } : { type: "assign", assignments, rrCursor };
  return { command, nextDueMs };
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
