// The Raft log as the core sees it (etcd's log.go): the durable prefix in Storage followed by the unstable tail,
// plus the commit and apply cursors. committed <= lastIndex and applied <= committed always hold.
import type { Storage } from "./storage.js";
import { entrySizeBytes } from "./storage.js";
import { Unstable } from "./unstable.js";
import type { Entry, Snapshot } from "./types.js";
import { RaftError } from "./types.js";

export class RaftLog {
  readonly unstable: Unstable;
  committed: number;
  applied: number;

  constructor(readonly storage: Storage) {
    this.unstable = new Unstable(storage.lastIndex() + 1);
    this.committed = storage.firstIndex() - 1;
    this.applied = storage.firstIndex() - 1;
  }

  firstIndex(): number {
    return this.unstable.maybeFirstIndex() ?? this.storage.firstIndex();
  }

  lastIndex(): number {
    return this.unstable.maybeLastIndex() ?? this.storage.lastIndex();
  }

  /** The term at i, or undefined when i is compacted or past the end. */
  term(i: number): number | undefined {
    if (i < this.firstIndex() - 1 || i > this.lastIndex()) return undefined;
    const t = this.unstable.maybeTerm(i);
    if (t !== undefined) return t;
    try {
      return this.storage.term(i);
    } catch (e) {
      if (e instanceof RaftError && (e.code === "COMPACTED" || e.code === "UNAVAILABLE")) return undefined;
      throw e;
    }
  }

  lastTerm(): number {
    const t = this.term(this.lastIndex());
    if (t === undefined) throw new RaftError("INVARIANT", `no term for the last index ${this.lastIndex()}`);
    return t;
  }

  matchTerm(i: number, term: number): boolean {
    return this.term(i) === term;
  }

  /** §5.4.1: is a log ending at (lastIndex, lastTerm) at least as up to date as ours? */
  isUpToDate(lastIndex: number, lastTerm: number): boolean {
    const ours = this.lastTerm();
    return lastTerm > ours || (lastTerm === ours && lastIndex >= this.lastIndex());
  }

  /** The index of the first entry of `ents` that conflicts with (or is missing from) our log; 0 if none. */
  findConflict(ents: readonly Entry[]): number {
    for (const e of ents) if (!this.matchTerm(e.index, e.term)) return e.index;
    return 0;
  }

  /** Fast backtracking: the largest index <= index whose term is <= term (its term too). Stops at the compacted
   *  boundary. A follower that rejected (index, term) uses it to hint; the leader uses it to jump further. */
  findConflictByTerm(index: number, term: number): { index: number; term: number } {
    if (index > this.lastIndex()) return { index, term: 0 };
    for (;;) {
      const t = this.term(index);
      if (t === undefined) return { index, term: 0 };
      if (t <= term) return { index, term: t };
      index--;
    }
  }

  /** AppendEntries on a follower. Returns the last index of the new entries when (prevIndex, prevTerm) matches,
   *  undefined otherwise. `skipConsistencyCheck` is the broken rule: the term at prevIndex is not compared. */
  maybeAppend(
    prevIndex: number,
    prevTerm: number,
    leaderCommit: number,
    ents: readonly Entry[],
    skipConsistencyCheck = false,
  ): number | undefined {
    const matches = skipConsistencyCheck ? prevIndex <= this.lastIndex() && prevIndex >= this.firstIndex() - 1 : this.matchTerm(prevIndex, prevTerm);
    if (!matches) return undefined;
    const lastNew = prevIndex + ents.length;
    const conflict = this.findConflict(ents);
    if (conflict !== 0) {
      if (conflict <= this.committed && !skipConsistencyCheck) {
        throw new RaftError("INVARIANT", `entry ${conflict} conflicts with the committed prefix (commit ${this.committed})`);
      }
      this.unstable.truncateAndAppend(ents.slice(conflict - prevIndex - 1));
      if (skipConsistencyCheck) {
        // The broken rule can truncate committed entries; keep the cursors inside the log so the node limps on
        // and the simulator's checkers, not an exception, report the damage.
        this.committed = Math.min(this.committed, this.lastIndex());
      }
    }
    this.commitTo(Math.min(leaderCommit, lastNew));
    return lastNew;
  }

  /** Leader-side append of new entries. Returns the new last index. */
  append(ents: readonly Entry[]): number {
    const first = ents[0];
    if (!first) return this.lastIndex();
    if (first.index - 1 < this.committed) {
      throw new RaftError("INVARIANT", `append after ${first.index - 1} is below commit ${this.committed}`);
    }
    this.unstable.truncateAndAppend(ents);
    return this.lastIndex();
  }

  commitTo(index: number): void {
    if (index <= this.committed) return;
    if (index > this.lastIndex()) {
      throw new RaftError("INVARIANT", `commit ${index} is past the last index ${this.lastIndex()}`);
    }
    this.committed = index;
  }

  appliedTo(index: number): void {
    if (index === 0 || index <= this.applied) return;
    if (index > this.committed) throw new RaftError("INVARIANT", `applied ${index} is past commit ${this.committed}`);
    this.applied = index;
  }

  /** Entries in [lo, hi), reading storage then the unstable tail, stopping once past maxBytes (at least one).
   *  Throws COMPACTED when lo is no longer in the log. */
  slice(lo: number, hi: number, maxBytes = Infinity): Entry[] {
    if (lo >= hi) return [];
    if (lo < this.firstIndex()) throw new RaftError("COMPACTED", `index ${lo} is compacted`);
    if (hi > this.lastIndex() + 1) throw new RaftError("INVARIANT", `slice end ${hi} past the last index ${this.lastIndex()}`);
    let out: Entry[] = [];
    const off = this.unstable.offset;
    if (lo < off) {
      const storedHi = Math.min(hi, off);
      out = this.storage.entries(lo, storedHi, maxBytes);
      if (out.length < storedHi - lo) return out; // the byte limit cut it short
    }
    if (hi > off) {
      const tail = this.unstable.slice(Math.max(lo, off), hi);
      let bytes = 0;
      for (const e of out) bytes += entrySizeBytes(e);
      for (const e of tail) {
        bytes += entrySizeBytes(e);
        if (out.length > 0 && bytes > maxBytes) break;
        out.push(e);
      }
    }
    return out;
  }

  /** Up to maxEntries entries from i (fewer at the end of the log or past maxBytes). */
  entriesFrom(i: number, maxEntries: number, maxBytes: number): Entry[] {
    const last = this.lastIndex();
    if (i > last) return [];
    return this.slice(i, Math.min(last + 1, i + maxEntries), maxBytes);
  }

  hasNextCommittedEntries(): boolean {
    return this.unstable.snapshot === undefined && this.applied < this.committed;
  }

  nextCommittedEntries(maxBytes: number): Entry[] {
    if (!this.hasNextCommittedEntries()) return [];
    return this.slice(this.applied + 1, this.committed + 1, maxBytes);
  }

  /** The latest snapshot: a received one not yet persisted, else storage's. */
  snapshot(): Snapshot {
    return this.unstable.snapshot ?? this.storage.snapshot();
  }

  /** A follower installs a leader's snapshot: the log restarts after it. */
  restore(s: Snapshot): void {
    this.committed = s.meta.index;
    this.unstable.restore(s);
  }
}
