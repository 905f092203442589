// The dashboard's member table and leader timeline, from what the node knows: the leader's view of the
// configuration (GET /v1/cluster: role, match index, liveness) joined with each member's own /v1/status (its Raft
// role, term, commit and applied index) as this node could fetch it. Pure: the feed does the fetching.

/** One member as GET /v1/cluster lists it. */
export interface ClusterMember {
  readonly id: string;
  readonly url: string | null;
  readonly role: "voter" | "learner";
  readonly matchIndex: number | null;
  readonly alive: boolean | null;
}

export interface ClusterView {
  readonly leaderId: string | null;
  readonly term: number;
  readonly members: readonly ClusterMember[];
}

/** A member's own GET /v1/status (the contract's fields). */
export interface MemberStatus {
  readonly id: string;
  readonly role: string;
  readonly term: number;
  readonly leaderId: string | null;
  readonly commitIndex: number;
  readonly appliedIndex: number;
}

export interface MemberRow {
  readonly id: string;
  readonly url: string | null;
  /** voter or learner (the configuration). */
  readonly member: "voter" | "learner";
  /** What the member says it is (leader, follower, candidate, learner), null when it did not answer. */
  readonly role: string | null;
  readonly term: number | null;
  readonly commitIndex: number | null;
  readonly appliedIndex: number | null;
  readonly matchIndex: number | null;
  /** How far its commit index trails the highest one heard (entries), null when it did not answer. */
  readonly commitLag: number | null;
  /** Entries committed there but not yet applied there. */
  readonly applyLag: number | null;
  /** The leader's failure detector (null: this view is not the leader's). */
  readonly alive: boolean | null;
  /** It answered this node's last status probe. */
  readonly reachable: boolean;
}

export function memberRows(cluster: ClusterView, statuses: ReadonlyMap<string, MemberStatus | null>): MemberRow[] {
  let highestCommit = 0;
  for (const s of statuses.values()) if (s) highestCommit = Math.max(highestCommit, s.commitIndex);
  return cluster.members.map((m) => {
    const s = statuses.get(m.id) ?? null;
    return {
      id: m.id,
      url: m.url,
      member: m.role,
      role: s?.role ?? null,
      term: s?.term ?? null,
      commitIndex: s?.commitIndex ?? null,
      appliedIndex: s?.appliedIndex ?? null,
      matchIndex: m.matchIndex,
      commitLag: s ? highestCommit - s.commitIndex : null,
      applyLag: s ? Math.max(0, s.commitIndex - s.appliedIndex) : null,
      alive: m.alive,
      reachable: s !== null,
    };
  });
}

export interface LeaderChange {
  readonly term: number;
  readonly leaderId: string;
  /** When this node first heard of it, epoch ms. */
  readonly atMs: number;
}

export const MAX_LEADER_CHANGES = 50;

/** The leaders this node has heard of, one entry per (term, leader), oldest first, the last MAX_LEADER_CHANGES. */
export class LeaderTimeline {
  private readonly changes: LeaderChange[] = [];

  /** A leader as some member reports it; older terms than the newest known are ignored (a stale member). */
  note(leaderId: string | null, term: number, atMs: number): void {
    if (leaderId === null) return;
    const last = this.changes[this.changes.length - 1];
    if (last && (term < last.term || (term === last.term && leaderId === last.leaderId))) return;
    this.changes.push({ term, leaderId, atMs });
    if (this.changes.length > MAX_LEADER_CHANGES) this.changes.shift();
  }

  list(): readonly LeaderChange[] {
    return this.changes;
  }
}
