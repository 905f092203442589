// The bounded window of AppendEntries sent to one follower and not yet acknowledged (pipelining, etcd's
// tracker/inflights.go). Each slot remembers the last index a message carried.

export class Inflights {
  private readonly lastIndexes: number[] = [];
  constructor(readonly capacity: number) {
    if (!(capacity >= 1)) throw new RangeError("inflights capacity must be >= 1");
  }

  get count(): number {
    return this.lastIndexes.length;
  }

  full(): boolean {
    return this.lastIndexes.length >= this.capacity;
  }

  /** Records a message whose last entry is `lastIndex` (indexes are added in increasing order). */
  add(lastIndex: number): void {
    if (this.full()) throw new RangeError("inflights window is full");
    this.lastIndexes.push(lastIndex);
  }

  /** Frees every message whose last entry is <= index (they are acknowledged). */
  freeLE(index: number): void {
    let n = 0;
    while (n < this.lastIndexes.length && this.lastIndexes[n]! <= index) n++;
    if (n > 0) this.lastIndexes.splice(0, n);
  }

  /** Frees the oldest slot: a heartbeat answer proves the follower is reachable, so let one more append out
   *  even though earlier ones may have been lost. */
  freeFirstOne(): void {
    this.lastIndexes.shift();
  }

  reset(): void {
    this.lastIndexes.length = 0;
  }
}
