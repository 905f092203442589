// What the leader knows about one follower's log (etcd's tracker/progress.go):
//  - probe: we do not know where the follower's log ends; send one append, wait for its answer.
//  - replicate: the follower is caught up to `next - 1`; stream appends optimistically, bounded by inflights.
//  - snapshot: a snapshot is on its way; send nothing until it is reported done or the follower answers.
import { Inflights } from "./inflights.js";
import type { ProgressState } from "./api.js";

export class Progress {
  match = 0;
  next: number;
  state: ProgressState = "probe";
  /** In snapshot state: the index of the snapshot being sent. */
  pendingSnapshot = 0;
  /** Heard from since the last check-quorum round. */
  recentActive = false;
  /** In probe state: an append is outstanding, wait for its answer (or a heartbeat answer) before the next. */
  probeSent = false;
  readonly inflights: Inflights;

  constructor(next: number, maxInflight: number, public learner: boolean) {
    this.next = next;
    this.inflights = new Inflights(maxInflight);
  }

  private resetState(state: ProgressState): void {
    this.probeSent = false;
    this.pendingSnapshot = 0;
    this.state = state;
    this.inflights.reset();
  }

  becomeProbe(): void {
    // After a snapshot, the follower holds at least the snapshot: resume right after it.
    const afterSnapshot = this.state === "snapshot" ? this.pendingSnapshot + 1 : 0;
    this.resetState("probe");
    this.next = Math.max(this.match + 1, afterSnapshot);
  }

  becomeReplicate(): void {
    this.resetState("replicate");
    this.next = this.match + 1;
  }

  becomeSnapshot(snapshotIndex: number): void {
    this.resetState("snapshot");
    this.pendingSnapshot = snapshotIndex;
  }

  /** Called after an append with `entryCount` entries ending at `lastIndex` was sent. */
  sentEntries(entryCount: number, lastIndex: number): void {
    if (this.state === "replicate") {
      if (entryCount > 0) {
        this.next = lastIndex + 1;
        this.inflights.add(lastIndex);
      }
    } else if (this.state === "probe") {
      this.probeSent = true;
    }
  }

  /** A successful append answer up to n. Returns whether match moved. */
  maybeUpdate(n: number): boolean {
    let updated = false;
    if (this.match < n) {
      this.match = n;
      updated = true;
      this.probeSent = false;
    }
    this.next = Math.max(this.next, n + 1);
    return updated;
  }

  /** A rejected append at `rejected`; `matchHint` is the highest index the follower may still match.
   *  Returns false when the rejection is stale (answers an older message) and must be ignored. */
  maybeDecrTo(rejected: number, matchHint: number): boolean {
    if (matchHint < this.match && rejected >= this.match && this.state !== "snapshot") {
      // The follower refuses the very entry it acknowledged and holds less: it lost its storage (restarted with a
      // wiped data dir). Start again from what it says it has; without this the rejection looks stale forever
      // (it is not above match) and the follower never catches up.
      this.match = matchHint;
      this.resetState("probe");
      this.next = matchHint + 1;
      return true;
    }
    if (this.state === "replicate") {
      if (rejected <= this.match) return false;
      this.next = this.match + 1;
      return true;
    }
    if (this.next - 1 !== rejected) return false;
    this.next = Math.max(Math.min(rejected, matchHint + 1), this.match + 1);
    this.probeSent = false;
    return true;
  }

  isPaused(): boolean {
    switch (this.state) {
      case "probe":
        return this.probeSent;
      case "replicate":
        return this.inflights.full();
      case "snapshot":
        return true;
    }
  }
}
