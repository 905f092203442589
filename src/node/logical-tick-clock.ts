// The runner's clock in ticks (issue 14.3). Logical time follows the monotonic clock, not the number of timer
// callbacks: under load a 10 ms interval fires late, and counting callbacks stretched every election timeout (30
// ticks took ~380 ms, not 300). Missed ticks are caught up, at most maxCatchUpTicks at once, so a long freeze of the
// event loop (a long turn, GC, SIGSTOP) does not turn into an instant election storm on resume.
//
// The ticks skipped that way are remembered: now() leaves them out, so a pending log write is measured in the time
// the event loop could have run its completion. A write that finished during a 400 ms freeze was taken for a
// stalled disk (its completion runs in the poll phase, after the timer), and the leader stepped down for nothing.
export class LogicalTickClock {
  private startedAtMs = 0;
  private ticksDone = 0;
  private frozenTicks = 0;

  constructor(
    private readonly tickMs: number,
    private readonly maxCatchUpTicks: number,
  ) {}

  start(): void {
    this.startedAtMs = performance.now();
    this.ticksDone = 0;
  }

  /** Called by each timer callback: how many ticks to run now (at most maxCatchUpTicks; the rest are skipped). */
  catchUp(): number {
    const due = this.wallTicks();
    if (due - this.ticksDone > this.maxCatchUpTicks) {
      this.frozenTicks += due - this.maxCatchUpTicks - this.ticksDone;
      this.ticksDone = due - this.maxCatchUpTicks;
    }
    return due - this.ticksDone;
  }

  /** Marks every due tick done, run or held (a stalled disk holds the election timer). */
  markDone(ticks: number): void {
    this.ticksDone += ticks;
  }

  /** Ticks since start(), less the ticks skipped while the event loop was held. */
  now(): number {
    return this.wallTicks() - this.frozenTicks;
  }

  private wallTicks(): number {
    return Math.floor((performance.now() - this.startedAtMs) / this.tickMs);
  }
}
