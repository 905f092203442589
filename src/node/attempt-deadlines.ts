// The leader's clocks for timed work: per-attempt deadlines (a task's `timeoutMs`) and the one timer that wakes
// the leader when the next of them, or the next delayed task (`runAt`), is due — instead of polling for it.
//
// Deadlines are kept by the leader only, in memory, started when it applies the assignment (its clock): a fail with
// error code TIMEOUT is proposed for an attempt still running past its deadline, and that fail, once applied, is
// what aborts the handler wherever it runs (the executor sees its attempt superseded). A new leader does not know
// when the old one started an attempt, so it starts every running attempt's clock afresh when it takes over: a
// timeout may stretch by up to one election (README, "Task lifecycle"). Pure bookkeeping plus one timer: the
// decision (expiredAttempts) is a pure function the simulator calls too.
import type { FailCommand } from "../scheduler/commands.js";
import type { JsonValue } from "../scheduler/types.js";

export const TIMEOUT_ERROR_CODE = "TIMEOUT";

export interface AttemptClock {
  readonly attempt: number;
  readonly timeoutMs: number;
  /** Leader clock when the attempt's deadline passes. */
  readonly deadlineMs: number;
}

/** What the decision needs to know of a task now (the leader's table). */
export interface AttemptNow {
  readonly state: string;
  readonly attempt: number;
}

/** Which clocked attempts have run past their deadline and are still the task's running attempt; the others
 *  (finished, superseded, gone) are returned as stale, for the caller to forget. Pure. */
export function expiredAttempts(
  clocks: ReadonlyMap<string, AttemptClock>,
  nowMs: number,
  lookup: (id: string) => AttemptNow | undefined,
): { expired: Array<{ id: string; clock: AttemptClock }>; stale: string[] } {
  const expired: Array<{ id: string; clock: AttemptClock }> = [];
  const stale: string[] = [];
  for (const [id, clock] of clocks) {
    const now = lookup(id);
    if (now === undefined || now.state !== "assigned" || now.attempt !== clock.attempt) stale.push(id);
    else if (nowMs >= clock.deadlineMs) expired.push({ id, clock });
  }
  return { expired, stale };
}

/** The fail the leader proposes for an attempt that ran past its deadline. */
export function timeoutFail(id: string, clock: AttemptClock, retryAtMs: number): FailCommand {
  const error: JsonValue = { code: TIMEOUT_ERROR_CODE, message: `attempt ${clock.attempt} ran past timeoutMs ${clock.timeoutMs}` };
  return { type: "fail", id, attempt: clock.attempt, error, retryAtMs };
}

/** The running attempts' clocks on this leader, by task id (one attempt runs per task). Bounded by the number of
 *  assigned tasks: an entry goes when its attempt ends or on a leader change. */
export class AttemptDeadlines {
  readonly clocks = new Map<string, AttemptClock>();

  start(id: string, attempt: number, timeoutMs: number, nowMs: number): void {
    this.clocks.set(id, { attempt, timeoutMs, deadlineMs: nowMs + timeoutMs });
  }

  forget(id: string): void {
    this.clocks.delete(id);
  }

  clear(): void {
    this.clocks.clear();
  }

  /** The earliest deadline of an attempt not in `skip` (its fail already proposed), or null. O(n) over running
   *  timed attempts: called once per leader round. */
  nextDeadlineMs(skip?: ReadonlySet<string>): number | null {
    let next: number | null = null;
    for (const [id, c] of this.clocks) if (!skip?.has(id) && (next === null || c.deadlineMs < next)) next = c.deadlineMs;
    return next;
  }
}

/** One timer, armed for the earliest time something is due; re-arming for a later time keeps the earlier one. */
export class DueTimer {
  private timer: NodeJS.Timeout | null = null;
  private atMs: number | null = null;

  constructor(
    private readonly now: () => number,
    private readonly fire: () => void,
  ) {}

  armAt(atMs: number | null): void {
    if (atMs === null) return;
    if (this.atMs !== null && this.atMs <= atMs) return;
    this.cancel();
    this.atMs = atMs;
    // +1: a timer may fire a hair early against Date.now(), and the task must be due when the round runs.
    this.timer = setTimeout(() => {
      this.timer = null;
      this.atMs = null;
      this.fire();
    }, Math.max(0, atMs - this.now() + 1));
    this.timer.unref?.();
  }

  cancel(): void {
    if (this.timer) clearTimeout(this.timer);
    this.timer = null;
    this.atMs = null;
  }
}
