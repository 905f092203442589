// Membership changes and leadership transfer as the leader carries them out (the API forwards them here from a
// follower first): one server at a time, a new member joins as a learner and is promoted once alive and caught up
// (reconfig-check.ts), a url belongs to one member, and removing the leader hands leadership over first.
import type { ConfChange, MemberFacts } from "../raft/types.js";
import { RaftschedError, errorCode } from "../util/errors.js";
import type { ReplicaHandle } from "../node/replica-handle.js";
import { memberUrlOwner } from "../node/member-url.js";
import { awaitReconfigAllowed, reconfigViewOf, type AwaitReconfigOptions } from "../node/reconfig-check.js";
import type { Forwarded } from "./leader-forward.js";

export interface MembershipDeps {
  /** GET /v1/cluster's answer, once a change is committed. */
  readonly cluster: () => Promise<unknown>;
  /** Leadership transfer through the API (a follower forwards it). */
  readonly transferLeader: (to: string | undefined) => Promise<unknown>;
  readonly forwardTo: (leaderId: string, method: string, path: string) => Promise<Forwarded>;
}

export class MembershipOnLeader {
  constructor(
    private readonly n: ReplicaHandle,
    private readonly d: MembershipDeps,
  ) {}

  async addMember(id: string, url: string, role: "voter" | "learner", facts: MemberFacts): Promise<{ created: boolean; body: unknown }> {
    const conf = this.n.raftStatus().conf;
    const isVoter = conf.voters.includes(id);
    const isLearner = conf.learners.includes(id);
    if (isVoter && role === "learner") {
      throw new RaftschedError("INVALID_CONF_CHANGE", `"${id}" is a voter; demoting a voter to learner is not supported (remove it, then add it as a learner)`);
    }
    // The facts travel in the config entries (replicated like the url); a member already in its final role would
    // get no entry, so changing its facts is refused rather than silently ignored.
    const makesEntry = (!isVoter && !isLearner) || (role === "voter" && !isVoter);
    if (!makesEntry && this.factsDiffer(id, facts)) {
      throw new RaftschedError("BAD_FIELD", `"${id}" is already a ${role}; its capacity and worker flag cannot be changed (remove it, then add it again)`);
    }
    this.refuseUrlOfAnotherMember(id, url);
    const created = !isVoter && !isLearner;
    if (created) await this.confChange({ op: "addLearner", id, url, ...facts });
    // Promoted only once alive and caught up (reconfig-check.ts); a learner added by this request may catch up first.
    if (role === "voter" && !isVoter) await this.confChange({ op: "addVoter", id, url, ...facts }, created);
    return { created, body: await this.d.cluster() };
  }

  async removeMember(id: string): Promise<unknown> {
    const conf = this.n.raftStatus().conf;
    if (!conf.voters.includes(id) && !conf.learners.includes(id)) throw new RaftschedError("NOT_FOUND", `"${id}" is not a member`);
    if (id === this.n.id) {
      // Removing the leader: hand over first, then let the new leader commit the removal.
      if (conf.voters.length === 1) throw new RaftschedError("INVALID_CONF_CHANGE", "cannot remove the last voter");
      const r = (await this.d.transferLeader(undefined)) as { leaderId: string };
      await new Promise((res) => setTimeout(res, 50));
      return (await this.d.forwardTo(r.leaderId, "DELETE", `/v1/cluster/members/${encodeURIComponent(id)}`)).body;
    }
    await this.confChange({ op: "remove", id });
    return await this.d.cluster();
  }

  /** Whether `facts` say something else than what is known of member `id` (a repeated add with the same facts is
   *  idempotent, as the add itself is). */
  private factsDiffer(id: string, facts: MemberFacts): boolean {
    const capacity = this.n.workerMembers().get(id);
    if (facts.worker !== undefined && facts.worker !== (capacity !== undefined)) return true;
    // Its tags as its worker record has them (workerUp carries a member's tags).
    const tags = this.n.table.workers().find((w) => w.id === id)?.tags ?? [];
    if (facts.tags !== undefined && capacity !== undefined && facts.tags.join(",") !== [...tags].sort().join(",")) return true;
    return facts.capacity !== undefined && capacity !== undefined && facts.capacity !== capacity;
  }

  private async confChange(cc: ConfChange, freshLearner = false): Promise<void> {
    // A change waits while another is uncommitted or the leader has not committed an entry of its term yet.
    let deadline: number | null = null;
    for (;;) {
      // The membership rule, checked again before every attempt: 409 LEARNER_NOT_READY / UNSAFE_RECONFIG.
      await awaitReconfigAllowed(cc, this.reconfigOptions(freshLearner));
      deadline ??= Date.now() + this.n.cfg.electionTimeoutMs[1] * 10;
      try {
        // Checked again in the same tick as the proposal: two adds racing for one url cannot both pass, as a
        // change is applied (and its url recorded) before the next one can be proposed.
        if (cc.op !== "remove" && cc.url !== undefined) this.refuseUrlOfAnotherMember(cc.id, cc.url);
        await this.n.runner.proposeConfChange(cc, 10_000);
        return;
      } catch (err) {
        if (errorCode(err) !== "CONF_CHANGE_IN_PROGRESS" || Date.now() > deadline) throw err;
        await new Promise((r) => setTimeout(r, 20));
      }
    }
  }

  /** Two members on one url would make every peer's links to them replace each other forever (and frames for
   *  one reach the other): a url may belong to one current member only. */
  private refuseUrlOfAnotherMember(id: string, url: string): void {
    const conf = this.n.raftStatus().conf;
    const members = [...conf.voters, ...conf.learners].map((m) => [m, this.n.memberUrl(m)] as const);
    const owner = memberUrlOwner(url, id, members);
    if (owner !== null) throw new RaftschedError("BAD_FIELD", `url ${url} is already member ${owner}'s; two members cannot share an address`);
  }

  private reconfigOptions(freshLearner: boolean): AwaitReconfigOptions {
    const electionTimeoutMs = this.n.cfg.electionTimeoutMs[1];
    return {
      view: () => reconfigViewOf(this.n.raftStatus(), (id) => this.n.duties.heardSilenceMs(id), electionTimeoutMs),
      isLeader: () => this.n.runner.isLeader,
      // A live member's answers can be late by more than an election timeout on a loaded machine: look a while.
      settleMs: electionTimeoutMs * 5,
      catchUpMs: 60_000,
      freshLearner,
    };
  }

  async transferLeader(to: string | undefined): Promise<unknown> {
    const target = to ?? this.bestTransferTarget();
    if (!target) throw new RaftschedError("NO_TARGET", "no other voter to hand leadership to");
    const st = this.n.raftStatus();
    if (!st.conf.voters.includes(target)) throw new RaftschedError("BAD_FIELD", `to: "${target}" is not a voter`);
    if (target === this.n.id) return { leaderId: this.n.id };
    this.n.runner.transferLeadership(target);
    const deadline = Date.now() + this.n.cfg.electionTimeoutMs[1] * 2;
    while (Date.now() < deadline) {
      await new Promise((r) => setTimeout(r, 10));
      const leader = this.n.runner.knownLeader;
      if (!this.n.runner.isLeader && leader && leader !== this.n.id) return { leaderId: leader };
    }
    throw new RaftschedError("TIMEOUT", `leadership did not move to ${target} within ${this.n.cfg.electionTimeoutMs[1] * 2} ms`);
  }

  /** The voter most caught up with our log: the one that can win at once. */
  bestTransferTarget(): string | null {
    const st = this.n.raftStatus();
    let best: string | null = null;
    let bestMatch = -1;
    for (const id of st.conf.voters) {
      if (id === this.n.id) continue;
      const m = st.progress?.[id]?.match ?? 0;
      if (m > bestMatch) {
        best = id;
        bestMatch = m;
      }
    }
    return best;
  }
}
