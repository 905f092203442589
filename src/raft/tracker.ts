// The membership in force plus, on a leader, per-member replication progress and, in an election, the votes.
import { Progress } from "./progress.js";
import { committedIndex, quorumActive, voteResult, type VoteResult } from "./quorum.js";
import type { ConfState, NodeId } from "./types.js";

export class ProgressTracker {
  conf: ConfState;
  readonly progress = new Map<NodeId, Progress>();
  readonly votes = new Map<NodeId, boolean>();

  constructor(conf: ConfState, private readonly maxInflight: number) {
    this.conf = { voters: [...conf.voters], learners: [...conf.learners] };
  }

  isVoter(id: NodeId): boolean {
    return this.conf.voters.includes(id);
  }

  isMember(id: NodeId): boolean {
    return this.conf.voters.includes(id) || this.conf.learners.includes(id);
  }

  members(): NodeId[] {
    return [...this.conf.voters, ...this.conf.learners];
  }

  /** Fresh progress for every member: nothing known, next = lastIndex + 1 (probe from the leader's end). */
  resetProgress(lastIndex: number): void {
    this.progress.clear();
    for (const id of this.members()) {
      this.progress.set(id, new Progress(lastIndex + 1, this.maxInflight, !this.isVoter(id)));
    }
  }

  /** Switches to a new configuration, keeping the progress of members that stay. */
  setConf(conf: ConfState, lastIndex: number): void {
    this.conf = { voters: [...conf.voters], learners: [...conf.learners] };
    for (const id of [...this.progress.keys()]) if (!this.isMember(id)) this.progress.delete(id);
    for (const id of this.members()) {
      const pr = this.progress.get(id);
      if (pr) {
        pr.learner = !this.isVoter(id);
      } else {
        const fresh = new Progress(lastIndex + 1, this.maxInflight, !this.isVoter(id));
        fresh.recentActive = true; // a new member gets a grace period before check-quorum counts it as silent
        this.progress.set(id, fresh);
      }
    }
    for (const id of [...this.votes.keys()]) if (!this.isVoter(id)) this.votes.delete(id);
  }

  committed(): number {
    return committedIndex(this.conf.voters, (id) => this.progress.get(id)?.match);
  }

  resetVotes(): void {
    this.votes.clear();
  }

  /** Records a vote; the first answer of each voter counts. */
  recordVote(id: NodeId, granted: boolean): void {
    if (!this.votes.has(id)) this.votes.set(id, granted);
  }

  tallyVotes(): VoteResult {
    return voteResult(this.conf.voters, this.votes);
  }

  /** Whether the voters among `acks` form a majority (ReadIndex confirmation). */
  tallyVotesOf(acks: ReadonlyMap<NodeId, boolean>): VoteResult {
    return voteResult(this.conf.voters, acks);
  }

  quorumActive(): boolean {
    return quorumActive(this.conf.voters, (id) => this.progress.get(id)?.recentActive === true);
  }
}
