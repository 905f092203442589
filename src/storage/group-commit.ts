// Group commit for LevelStore: writes are serialized; the ones that queue up while a batch is being synced go out
// together as the next batch (one fsync), and each caller's promise resolves, in call order, once its batch is
// durable. A failed batch fails the queue for good: the caller (the node) must stop and recover from disk.
import type { Level } from "level";
import { diskErrnoOf, type DiskFaults } from "./disk-faults.js";
import { StorageError } from "./errors.js";

/** Writes waiting for their turn; past this the caller is not awaiting persist() or the disk has stalled. */
export const MAX_QUEUED_WRITES = 1024;
/** At most this many calls share one batch and one fsync ... */
export const MAX_GROUP_WRITES = 128;
/** ... and at most this many payload bytes (a single larger call still goes out, alone). */
export const MAX_GROUP_BYTES = 8 * 1024 * 1024;

type Db = Level<Uint8Array, Uint8Array>;
export type BatchOp = { type: "put"; key: Uint8Array; value: Uint8Array } | { type: "del"; key: Uint8Array };

type QueuedWrite = {
  readonly plan: (ops: BatchOp[]) => void;
  readonly bytes: number;
  /** Whether this write needs the fsync; a group is synced if any of its writes does. */
  readonly sync: boolean;
  /** Runs before this write is planned, with nothing else written meanwhile (an installed snapshot's chunks). */
  readonly prepare?: () => Promise<void>;
  readonly resolve: () => void;
  readonly reject: (err: unknown) => void;
};

export class GroupCommitQueue {
  private readonly queue: QueuedWrite[] = [];
  private flushing: Promise<void> | null = null;
  private failure: StorageError | null = null;
  /** Counters for metrics and tests: how many calls were made durable, and in how many synced batches. */
  private readonly counters = { writes: 0, syncedBatches: 0 };

  /** Told how long each synced batch took (the node's fsync-duration metric). */
  onSyncedBatch: ((seconds: number) => void) | null = null;

  constructor(
    private readonly db: Db,
    /** The fault-injection gate every batch passes (disk-faults.ts); inert unless a test or chaos sets a fault. */
    private readonly faults?: DiskFaults,
  ) {}

  stats(): { readonly writes: number; readonly syncedBatches: number } {
    return { ...this.counters };
  }

  /** Resolves once the writes queued so far are done (at once when none are). */
  async idle(): Promise<void> {
    await this.flushing;
  }

  /** Queues a write: `plan` (validating first, so a refused call changes nothing) appends its batch operations
   *  when the write's group is planned. */
  enqueue(bytes: number, plan: (ops: BatchOp[]) => void, sync: boolean, prepare?: () => Promise<void>): Promise<void> {
    try {
      if (this.failure) throw this.failure;
      if (this.queue.length >= MAX_QUEUED_WRITES) {
        throw new StorageError("STORAGE_OVERLOADED", `more than ${MAX_QUEUED_WRITES} writes queued`);
      }
    } catch (err) {
      return Promise.reject(err);
    }
    return new Promise<void>((resolve, reject) => {
      this.queue.push({ plan, bytes, sync, prepare, resolve, reject });
      this.flushing ??= this.flush();
    });
  }

  private async flush(): Promise<void> {
    // Yield first: `flushing` must be set before this can finish, and writes issued in the same tick share a batch.
    await null;
    while (this.queue.length > 0) {
      const head = this.queue[0]!;
      if (head.prepare) {
        try {
          await head.prepare();
        } catch (err) {
          this.queue.shift();
          head.reject(err);
          continue;
        }
      }
      const group = this.takeGroup();
      const ops: BatchOp[] = [];
      const planned: QueuedWrite[] = [];
      for (const w of group) {
        try {
          w.plan(ops); // validates before it changes anything, so a refused call leaves the plan as it was
          planned.push(w);
        } catch (err) {
          w.reject(err);
        }
      }
      try {
        if (ops.length > 0) {
          const sync = planned.some((w) => w.sync);
          const startedMs = performance.now();
          await this.faults?.beforeWrite(); // an injected slow disk counts in the fsync timing, as a real one would
          await this.db.batch(ops, { sync });
          if (sync) this.counters.syncedBatches++;
          if (sync) this.onSyncedBatch?.((performance.now() - startedMs) / 1000);
        }
      } catch (cause) {
        // The in-memory shape already includes this batch and the disk may or may not: refuse everything from
        // now on. The node must stop and recover from what load() finds.
        this.failure = writeFailure(cause);
        for (const w of [...planned, ...this.queue.splice(0)]) w.reject(this.failure);
        break;
      }
      this.counters.writes += planned.length;
      for (const w of planned) w.resolve();
    }
    this.flushing = null;
  }

  private takeGroup(): QueuedWrite[] {
    let count = 0;
    let bytes = 0;
    for (const w of this.queue) {
      // A write with a prepare step starts its own group: its step runs when it is at the head of the queue.
      if (count > 0 && (count >= MAX_GROUP_WRITES || bytes + w.bytes > MAX_GROUP_BYTES || w.prepare)) break;
      count++;
      bytes += w.bytes;
    }
    return this.queue.splice(0, count);
  }
}

/** The error every write gets once a batch failed. A full disk and an I/O error get their own codes, so the one
 *  line the node logs as it stops says what the operator must fix. */
export function writeFailure(cause: unknown, what = "the log"): StorageError {
  const errno = diskErrnoOf(cause);
  const unknown = "the node stops; acknowledged entries are on disk, this batch may or may not be";
  if (errno === "ENOSPC") return new StorageError("STORAGE_NO_SPACE", `disk full (ENOSPC) writing ${what}: ${unknown}; free space, then restart the node`, { cause });
  if (errno === "EIO") return new StorageError("STORAGE_IO_ERROR", `disk I/O error (EIO) writing ${what}: ${unknown}; check the disk, then restart the node`, { cause });
  return new StorageError("STORAGE_FAILED", `write failed: ${String(cause)}`, { cause });
}
