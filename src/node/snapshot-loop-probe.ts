// The longest event-loop block while a snapshot is in flight (capture, slices, other work), as a probe timer's
// lateness. A block longer than the heartbeat interval is what would cost the cluster an election, so every
// snapshot's log line carries it (issue #18 item 2), and scripts/snapshot-load.ts reads it from there.
export class SnapshotLoopProbe {
  private readonly timer: ReturnType<typeof setInterval>;
  private last = performance.now();
  private maxBlock = 0;

  constructor(private readonly intervalMs = 5) {
    this.timer = setInterval(() => this.sample(), intervalMs);
    this.timer.unref();
  }

  /** The longest block seen so far, including the one that ends now. */
  maxBlockMs(): number {
    this.sample();
    return this.maxBlock;
  }

  stop(): void {
    clearInterval(this.timer);
  }

  private sample(): void {
    const now = performance.now();
    this.maxBlock = Math.max(this.maxBlock, now - this.last - this.intervalMs);
    this.last = now;
  }
}
