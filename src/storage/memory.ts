// The in-memory log: what the core reads (Storage), and what the runner, the simulator and the tests write
// after each Ready. A real node writes the same batch to LevelDB first (src/storage/level.ts) and then here.
//
// The snapshot and the compaction point are separate: a node snapshots at its applied index but may keep a
// trailing window of entries below it so that slightly-behind followers catch up from the log, not a snapshot.
import type { InitialState, Storage } from "../raft/storage.js";
import { entrySizeBytes } from "../raft/storage.js";
import type { ConfState, Entry, HardState, Snapshot } from "../raft/types.js";
import { EMPTY_HARD_STATE, RaftError } from "../raft/types.js";

export class MemoryStorage implements Storage {
  private hard: HardState = EMPTY_HARD_STATE;
  private snap: Snapshot;
  /** Index and term of the last compacted entry; the log starts right after it. */
  private offsetIndex = 0;
  private offsetTerm = 0;
  /** log[k] is the entry at offsetIndex + 1 + k. */
  private log: Entry[] = [];

  constructor(conf: ConfState = { voters: [], learners: [] }) {
    this.snap = { meta: { index: 0, term: 0, conf }, data: new Uint8Array(0) };
  }

  initialState(): InitialState {
    return { hardState: this.hard, confState: this.snap.meta.conf };
  }

  firstIndex(): number {
    return this.offsetIndex + 1;
  }

  lastIndex(): number {
    return this.offsetIndex + this.log.length;
  }

  term(i: number): number {
    if (i === this.offsetIndex) return this.offsetTerm;
    if (i < this.offsetIndex) throw new RaftError("COMPACTED", `index ${i} is compacted (log starts after ${this.offsetIndex})`);
    const e = this.log[i - this.offsetIndex - 1];
    if (!e) throw new RaftError("UNAVAILABLE", `index ${i} is past the last index ${this.lastIndex()}`);
    return e.term;
  }

  entries(lo: number, hi: number, maxBytes = Infinity): Entry[] {
    if (lo <= this.offsetIndex) throw new RaftError("COMPACTED", `index ${lo} is compacted (log starts after ${this.offsetIndex})`);
    if (hi > this.lastIndex() + 1) throw new RaftError("UNAVAILABLE", `index ${hi - 1} is past ${this.lastIndex()}`);
    const out: Entry[] = [];
    let bytes = 0;
    for (let i = lo; i < hi; i++) {
      const e = this.log[i - this.offsetIndex - 1]!;
      bytes += entrySizeBytes(e);
      if (out.length > 0 && bytes > maxBytes) break;
      out.push(e);
    }
    return out;
  }

  snapshot(): Snapshot {
    return this.snap;
  }

  // ---- writers (called after the durable write succeeded) ----

  setHardState(hs: HardState): void {
    this.hard = hs;
  }

  /** Appends entries; everything from entries[0].index on is replaced (a conflicting suffix is truncated). */
  append(entries: readonly Entry[]): void {
    if (entries.length === 0) return;
    const first = entries[0]!.index;
    if (first > this.lastIndex() + 1) {
      throw new RaftError("INVARIANT", `append at ${first} leaves a gap after ${this.lastIndex()}`);
    }
    for (const e of entries) {
      if (e.index <= this.offsetIndex) continue; // already covered by the compacted prefix
      this.log.length = e.index - this.offsetIndex - 1;
      this.log.push(e);
    }
  }

  /** Replaces the log by a snapshot received from the leader. Entries after it that agree with it are kept. */
  applySnapshot(s: Snapshot): void {
    const i = s.meta.index;
    const agrees = i > this.offsetIndex && i <= this.lastIndex() && this.term(i) === s.meta.term;
    this.log = agrees ? this.log.slice(i - this.offsetIndex) : [];
    this.offsetIndex = i;
    this.offsetTerm = s.meta.term;
    this.snap = s;
  }

  /** Records a snapshot taken locally of the applied state (its index must be in the log). */
  createSnapshot(s: Snapshot): void {
    if (s.meta.index > this.lastIndex()) throw new RaftError("UNAVAILABLE", `snapshot index ${s.meta.index} past the log`);
    if (s.meta.index < this.snap.meta.index) throw new RaftError("INVARIANT", `snapshot at ${s.meta.index} is older than the current one`);
    this.snap = s;
  }

  /** Drops entries up to and including `index`, which must not pass the snapshot. */
  compact(index: number): void {
    if (index <= this.offsetIndex) return;
    if (index > this.snap.meta.index) throw new RaftError("INVARIANT", `cannot compact to ${index} past the snapshot at ${this.snap.meta.index}`);
    this.offsetTerm = this.term(index);
    this.log = this.log.slice(index - this.offsetIndex);
    this.offsetIndex = index;
  }

  /** A copy sharing the (immutable) entries — the simulator uses it to model what survived a crash. */
  clone(): MemoryStorage {
    const c = new MemoryStorage(this.snap.meta.conf);
    c.hard = this.hard;
    c.snap = this.snap;
    c.offsetIndex = this.offsetIndex;
    c.offsetTerm = this.offsetTerm;
    c.log = this.log.slice();
    return c;
  }
}
