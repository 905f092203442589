// The runner's promises: proposals waiting for their entry to apply, and ReadIndex reads waiting for the applied
// index to reach theirs. Each is bounded (back-pressure with OVERLOADED instead of unbounded memory), times out on
// its own, and is failed with the code that tells the caller what may have happened (OUTCOME_UNKNOWN when the
// entry may still commit, NOT_COMMITTED when another leader's entry took its index).
import type { Entry } from "../raft/types.js";
import { RaftschedError } from "../util/errors.js";

interface PendingProposal {
  readonly term: number;
  /** performance.now() when proposed: the commit latency the metrics observe. */
  readonly proposedAtMs: number;
  readonly resolve: (result: unknown) => void;
  readonly reject: (err: Error) => void;
  readonly timer: NodeJS.Timeout;
}

interface PendingRead {
  readonly resolve: (index: number) => void;
  readonly reject: (err: Error) => void;
  readonly timer: NodeJS.Timeout;
  index: number | null;
}

export class PendingAnswers {
  private readonly proposals = new Map<number, PendingProposal>();
  private readonly reads = new Map<string, PendingRead>();

  constructor(
    private readonly maxPendingProposals: number,
    private readonly maxPendingReads: number,
  ) {}

  get proposalCount(): number {
    return this.proposals.size;
  }

  /** OVERLOADED when no more proposals may wait, else null. */
  proposalRoom(): RaftschedError | null {
    if (this.proposals.size < this.maxPendingProposals) return null;
    return new RaftschedError("OVERLOADED", `${this.proposals.size} proposals are already waiting`);
  }

  /** OVERLOADED when no more reads may wait, else null. */
  readRoom(): RaftschedError | null {
    if (this.reads.size < this.maxPendingReads) return null;
    return new RaftschedError("OVERLOADED", `${this.reads.size} reads are already waiting`);
  }

  /** Waits for the entry the core appended at `at` to apply. */
  proposal(at: { index: number; term: number }, timeoutMs: number): Promise<unknown> {
    return new Promise((resolve, reject) => {
      const timer = setTimeout(() => {
        if (this.proposals.get(at.index)?.timer === timer) this.proposals.delete(at.index);
        reject(new RaftschedError("OUTCOME_UNKNOWN", `not committed within ${timeoutMs} ms; it may still commit`));
      }, timeoutMs);
      this.proposals.set(at.index, { term: at.term, proposedAtMs: performance.now(), resolve, reject, timer });
    });
  }

  /** Waits for the core's read state for `ctx` and then for the applied index to reach it (releaseReads). */
  read(ctx: string, timeoutMs: number): Promise<number> {
    return new Promise((resolve, reject) => {
      const timer = setTimeout(() => {
        this.reads.delete(ctx);
        reject(new RaftschedError("READ_TIMEOUT", `no read index within ${timeoutMs} ms (no quorum reachable?)`));
      }, timeoutMs);
      this.reads.set(ctx, { resolve, reject, timer, index: null });
    });
  }

  /** The core answered a read: its index once this node has applied that far. */
  noteReadState(ctx: string, index: number): void {
    const r = this.reads.get(ctx);
    if (r) r.index = index;
  }

  /** Answers the proposal at e.index with the state machine's result. A config entry's answer waits (via
   *  `later`) until the core has advanced, so the caller sees the new configuration in status(). Returns the seconds
   *  since the proposal when it was this node's and committed (its commit latency), else null. */
  applied(e: Entry, result: unknown, later: (answer: () => void) => void): number | null {
    const p = this.proposals.get(e.index);
    if (!p) return null;
    this.proposals.delete(e.index);
    clearTimeout(p.timer);
    if (p.term !== e.term) {
      // Another leader's entry took this index: ours was never committed and never will be.
      p.reject(new RaftschedError("NOT_COMMITTED", "leadership changed before the proposal committed; it was not applied"));
    } else if (e.kind === "config") {
      later(() => p.resolve(result));
    } else {
      p.resolve(result);
    }
    return p.term === e.term ? (performance.now() - p.proposedAtMs) / 1000 : null;
  }

  releaseReads(appliedIndex: number): void {
    for (const [ctx, r] of this.reads) {
      if (r.index !== null && r.index <= appliedIndex) {
        this.reads.delete(ctx);
        clearTimeout(r.timer);
        r.resolve(r.index);
      }
    }
  }

  /** We cannot tell whether our uncommitted proposals will survive under the next leader. */
  leadershipLost(): void {
    this.rejectProposals(() => true, "leadership was lost before the proposal committed; it may still commit");
  }

  /** A snapshot from the leader replaced the log up to `index`: proposals there cannot be answered here. */
  replacedUpTo(index: number): void {
    this.rejectProposals((idx) => idx <= index, "a snapshot replaced the log before the proposal was applied here");
  }

  failAll(err: Error): void {
    for (const p of this.proposals.values()) {
      clearTimeout(p.timer);
      p.reject(err);
    }
    this.proposals.clear();
    for (const r of this.reads.values()) {
      clearTimeout(r.timer);
      r.reject(err);
    }
    this.reads.clear();
  }

  private rejectProposals(which: (index: number) => boolean, message: string): void {
    for (const [idx, p] of this.proposals) {
      if (!which(idx)) continue;
      clearTimeout(p.timer);
      p.reject(new RaftschedError("OUTCOME_UNKNOWN", message));
      this.proposals.delete(idx);
    }
  }
}
