// Gives back the disk space of what the store deleted: the log prefix a snapshot compacted away and the chunks of
// replaced snapshot generations. LevelDB drops deleted keys only when its background compaction happens to rewrite
// the files holding them, which at a steady write rate lags far behind (the soak: 5.3 MiB of directory holding
// 0.2 MiB of live data after 30 min). So after such deletions the store asks LevelDB to compact exactly those key
// ranges — in LevelDB's own thread, off the event loop — at most once per `minIntervalMs`, one range at a time.
export interface ReclaimTarget {
  /** Compacts [start, end) (LevelDB's compactRange). */
  compact(start: Uint8Array, end: Uint8Array): Promise<void>;
  /** The log's compaction point now: every entry key at or below it is deleted. */
  compactedTo(): number;
  entryKey(index: number): Uint8Array;
  entryRangeStart: Uint8Array;
  /** [start, end) of one snapshot generation's chunks. */
  generationRange(generation: number): [Uint8Array, Uint8Array];
}

export class DeadRangeReclaim {
  private reclaimedLogTo = 0;
  /** The lowest and highest generation dropped since the last run: one span (live chunks in between, if any, are
   *  only rewritten by the compaction). */
  private droppedSpan: [number, number] | null = null;
  private running: Promise<void> | null = null;
  private lastRunMs = Number.NEGATIVE_INFINITY;
  private timer: NodeJS.Timeout | null = null;
  private stopped = false;
  /** Ranges compacted so far (for tests and the log). */
  compactions = 0;

  constructor(
    private readonly target: ReclaimTarget,
    private readonly minIntervalMs: number,
    private readonly nowMs: () => number = Date.now,
  ) {}

  generationDropped(generation: number): void {
    const [low, high] = this.droppedSpan ?? [generation, generation];
    this.droppedSpan = [Math.min(low, generation), Math.max(high, generation)];
    this.poke();
  }

  /** Something was deleted: run now if the interval has passed, else once it has. */
  poke(): void {
    if (this.stopped || this.running || this.timer) return;
    const waitMs = this.lastRunMs + this.minIntervalMs - this.nowMs();
    if (waitMs <= 0) {
      this.running = this.run().finally(() => (this.running = null));
      return;
    }
    this.timer = setTimeout(() => {
      this.timer = null;
      this.poke();
    }, waitMs);
    this.timer.unref();
  }

  /** No new run starts; resolves when a running one has finished (the store closes after). */
  async stop(): Promise<void> {
    this.stopped = true;
    if (this.timer) clearTimeout(this.timer);
    this.timer = null;
    await this.running?.catch(() => {});
  }

  private async run(): Promise<void> {
    this.lastRunMs = this.nowMs();
    const ranges: Array<[Uint8Array, Uint8Array]> = [];
    const logTo = this.target.compactedTo();
    if (logTo > this.reclaimedLogTo) {
      const start = this.reclaimedLogTo === 0 ? this.target.entryRangeStart : this.target.entryKey(this.reclaimedLogTo + 1);
      ranges.push([start, this.target.entryKey(logTo + 1)]);
      this.reclaimedLogTo = logTo;
    }
    if (this.droppedSpan) {
      ranges.push([this.target.generationRange(this.droppedSpan[0])[0], this.target.generationRange(this.droppedSpan[1])[1]]);
      this.droppedSpan = null;
    }
    for (const [start, end] of ranges) {
      if (this.stopped) return;
      try {
        await this.target.compact(start, end);
        this.compactions++;
      } catch {
        // Space is reclaimed later by LevelDB itself; a failed compaction loses nothing.
      }
    }
  }
}
