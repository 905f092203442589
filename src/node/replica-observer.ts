// What the metrics learn from inside a replica while it works: timings the runner and the store measure where they
// happen (nowhere else can see a proposal's wait or a sync's length), and the events worth counting. Every call is
// cheap and synchronous; an absent observer costs one optional call.

export interface ReplicaObserver {
  /** One synced storage batch (group commit: one LevelDB write with sync) took `seconds`. */
  fsync(seconds: number): void;
  /** Applying one committed entry to the state machine took `seconds`. */
  apply(seconds: number): void;
  /** A proposal made on this node was applied `seconds` after it was proposed (its Raft commit latency). */
  commit(seconds: number): void;
  /** A snapshot received from the leader replaced the state machine. */
  snapshotInstalled(): void;
}
