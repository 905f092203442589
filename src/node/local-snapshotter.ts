// The runner's local snapshots: when to take one (snapshot-schedule.ts: every N entries, staggered across members,
// resting after the last), capturing the state and the meta together, serializing in slices while Readies go on,
// staging the bytes on disk beside them, and saving (with log compaction) only between two Readies.
import type { Logger } from "pino";
import type { RaftCore } from "../raft/api.js";
import type { Snapshot, SnapshotMeta } from "../raft/types.js";
import type { DurableStore } from "../storage/durable.js";
import type { MemoryStorage } from "../storage/memory.js";
import { SnapshotLoopProbe } from "./snapshot-loop-probe.js";
import { snapshotDue, snapshotPosition, snapshotRestOver, type LastSnapshotTiming } from "./snapshot-schedule.js";

export interface LocalSnapshotFacts {
  readonly index: number;
  readonly bytes: number;
  readonly durationMs: number;
}

export interface LocalSnapshotterOptions {
  readonly core: RaftCore;
  readonly storage: MemoryStorage;
  readonly durable: DurableStore;
  readonly logger: Logger;
  /** Snapshot every this many applied entries (0 = never). */
  readonly snapshotEveryEntries?: number;
  /** Entries kept below a snapshot so that slightly-behind followers catch up from the log, not a snapshot. */
  readonly snapshotTrailingEntries?: number;
  /** Captures the state synchronously during the call; the bytes may come later. */
  readonly takeSnapshot?: () => Uint8Array | Promise<Uint8Array>;
  readonly appliedIndex: () => number;
  readonly isStopped: () => boolean;
  /** True while the runner handles a Ready: a save then waits for the next betweenReadies(). */
  readonly isProcessing: () => boolean;
  /** A failed save is fatal for the node (the runner stops it). */
  readonly die: (err: unknown) => void;
}

export class LocalSnapshotter {
  private snapshotting = false;
  /** When the last local snapshot ended and how long it took: the next waits for snapshotRestOver. */
  private lastTiming: LastSnapshotTiming | null = null;
  /** A serialized snapshot waiting for the process loop to reach a point between Readies, to be saved there. */
  private pendingSave: (() => void) | null = null;
  /** The last snapshot this node took, for the metrics and the log. */
  lastSnapshot: LocalSnapshotFacts | null = null;

  constructor(private readonly o: LocalSnapshotterOptions) {}

  /** Called by the runner between Readies, when the core's membership is exactly the one at the applied index:
   *  saves a serialized snapshot waiting for this point, then starts a new one if one is due. The write is enqueued
   *  only here (or at once when no Ready is in flight), so it is ordered after any snapshot installed from the
   *  leader meanwhile, and is dropped when that one superseded it. */
  betweenReadies(): void {
    const save = this.pendingSave;
    if (save !== null) {
      this.pendingSave = null;
      save();
    }
    if (this.isDue()) this.take();
  }

  private isDue(): boolean {
    const every = this.o.snapshotEveryEntries ?? 0;
    if (every <= 0 || this.snapshotting || !this.o.takeSnapshot) return false;
    const current = this.o.storage.snapshot().meta.index;
    const { id, conf } = this.o.core.status();
    const { position, members } = snapshotPosition(id, conf.voters, conf.learners);
    return (
      snapshotDue(this.o.appliedIndex(), current, every, position, members) &&
      snapshotRestOver(performance.now(), this.lastTiming)
    );
  }

  /** Captures the table view and the meta (index, term, conf) together, synchronously, here; serialization then
   *  goes on in slices while later Readies are applied. */
  private take(): void {
    this.snapshotting = true;
    const t0 = performance.now();
    const index = this.o.appliedIndex();
    const meta: SnapshotMeta = { index, term: this.o.storage.term(index), conf: this.o.core.status().conf };
    const every = this.o.snapshotEveryEntries ?? 0;
    const compactTo = Math.max(0, index - (this.o.snapshotTrailingEntries ?? Math.min(5000, Math.floor(every / 2))));
    const probe = new SnapshotLoopProbe();
    const finish = (): void => {
      probe.stop();
      this.snapshotting = false;
      this.lastTiming = { finishedAtMs: performance.now(), durationMs: performance.now() - t0 };
    };
    let data: Promise<Uint8Array>;
    try {
      data = Promise.resolve(this.o.takeSnapshot!()); // captures the state now, before anything else is applied
    } catch (err) {
      data = Promise.reject(err);
    }
    data
      .then((bytes) => {
        const run: SaveRun = { snap: { meta, data: bytes }, compactTo, t0, serializeMs: performance.now() - t0, probe };
        const saveNow = (): void => this.save(run, finish);
        // The data goes to disk in chunks first, beside the Readies; the save is then one small ordered batch.
        return Promise.resolve(this.o.durable.stageSnapshot?.(bytes)).then(() => {
          // A Ready in flight may be installing a snapshot or appending: save once it is done (the loop calls here).
          if (this.o.isProcessing()) this.pendingSave = saveNow;
          else saveNow();
        });
      })
      .catch((err) => {
        finish();
        if (!this.o.isStopped()) this.o.die(err);
      });
  }

  private save(run: SaveRun, finish: () => void): void {
    const { snap, compactTo, t0 } = run;
    const index = snap.meta.index;
    // Stopped, or a newer snapshot from the leader was installed meanwhile: ours is superseded.
    if (this.o.isStopped() || this.o.storage.snapshot().meta.index >= index) return finish();
    this.o.durable
      .saveSnapshot(snap, compactTo)
      .then(() => {
        if (this.o.storage.snapshot().meta.index < index) {
          this.o.storage.createSnapshot(snap);
          this.o.storage.compact(Math.min(compactTo, index));
        }
        const durationMs = performance.now() - t0;
        this.lastSnapshot = { index, bytes: snap.data.byteLength, durationMs };
        this.o.logger.info(
          {
            index,
            bytes: snap.data.byteLength,
            serializeMs: Math.round(run.serializeMs),
            durationMs: Math.round(durationMs),
            maxEventLoopBlockMs: Math.round(run.probe.maxBlockMs()),
            compactedTo: compactTo,
          },
          "snapshot taken and log compacted",
        );
      })
      .catch((err) => {
        if (!this.o.isStopped()) this.o.die(err);
      })
      .finally(finish);
  }
}

interface SaveRun {
  readonly snap: Snapshot;
  readonly compactTo: number;
  readonly t0: number;
  readonly serializeMs: number;
  readonly probe: SnapshotLoopProbe;
}
