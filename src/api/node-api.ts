// What each API call does on this node, over the replica's narrow handle (src/node/replica-handle.ts). Writes go through the leader: on the leader they are proposed and
// answered once applied; a follower forwards them to the leader it knows (one hop, never more). Reads are
// linearizable through ReadIndex unless the caller asks for stale local state.
import { jsonField, parseSubmit, submitBodyWithId, type ApiBackend, type ListQuery, type RequestContext, type SubmitInput } from "./router.js";
import type { ServerResponse } from "node:http";
import type { ApplyResult, JsonValue, Task } from "../scheduler/types.js";
import type { Command } from "../scheduler/commands.js";
import type { ConfChange, MemberFacts } from "../raft/types.js";
import { RaftschedError, errorCode } from "../util/errors.js";
import { renderDashboard } from "../dashboard/page.js";
import type { ReplicaHandle } from "../node/replica-handle.js";
import { memberUrlOwner } from "../node/member-url.js";
import { yieldIfLarge } from "../node/large-request-yield.js";
import { refuseReusedId } from "../node/id-reuse.js";
import { awaitReconfigAllowed, reconfigViewOf, type AwaitReconfigOptions } from "../node/reconfig-check.js";
import { TransferHold, proposeThroughHandOver } from "../node/transfer-hold.js";
import { submitLeaderWaitMs } from "../node/leader-wait.js";
import { parseLingeringCount } from "../node/lingering-handlers.js";
import { workerRows } from "../node/worker-rows.js";
import { submitCommand } from "./submit-command.js";
import { pageWithProgress, progressShown } from "../node/task-progress.js";
import { reportProgressOn } from "./progress-report.js";
import { LeaderForwarder, type Forwarded } from "./leader-forward.js";
import { SnapshotDownloads } from "./snapshot-download.js";
import { TaskWatchApi } from "./task-watch-api.js";
import { accessRulesOf, type AccessRules } from "./access-rules.js";
import { TaskLifecycleApi } from "./task-lifecycle-api.js";

const READ_TIMEOUT_MS = 3000;

/** What the node's API serves beside the replica: the metrics text (src/server.ts wires them). */
export interface NodeApiExtras {
  readonly metrics?: () => Promise<{ contentType: string; body: string }>;
  readonly watch?: import("../node/watch-history.js").WatchHistory;
  /** Serves one dashboard stream (src/dashboard/feed.ts). */
  readonly dashboardEvents?: (res: ServerResponse) => void;
}

export class NodeApi implements ApiBackend {
  private readonly n: ReplicaHandle;
  private readonly extras: NodeApiExtras;
  private readonly forwarder: LeaderForwarder;

  readonly dashboardEvents?: (res: ServerResponse) => void;
  /** Writes held while leadership is handed over (transfer-hold.ts). */
  readonly transferHold: TransferHold;
  /** GET /v1/snapshot: a backup streamed from this leader (snapshot-download.ts). */
  readonly snapshots: SnapshotDownloads;
  /** GET /v1/watch and ?wait=terminal (task-watch-api.ts), when the composition root gives the watch history. */
  readonly watch?: ApiBackend["watch"];
  readonly waitTask?: ApiBackend["waitTask"];

  /** Who may call what (access-rules.ts) and the scheme of member urls (https: with tls), from the cluster file. */
  readonly access: AccessRules;
  readonly urlScheme: "http:" | "https:";
  readonly lifecycle: TaskLifecycleApi; // DELETE, retry and schedules (task-lifecycle-api.ts)

  constructor(node: ReplicaHandle, extras: NodeApiExtras = {}) {
    this.n = node;
    [this.access, this.urlScheme] = [accessRulesOf(node.cfg), node.cfg.tls ? "https:" : "http:"];
    this.extras = extras;
    if (extras.dashboardEvents) this.dashboardEvents = extras.dashboardEvents;
    this.transferHold = new TransferHold({
      selfId: node.id,
      view: () => ({ isLeader: node.runner.isLeader, transferring: (node.raftStatus().transferee ?? null) !== null, knownLeader: node.runner.knownLeader }),
      // About eight election timeouts (2.4 s by default): a hand-over on a loaded machine took over a second.
      maxHoldMs: () => node.cfg.electionTimeoutMs[1] * 8,
    });
    this.forwarder = new LeaderForwarder(node, this.transferHold);
    this.snapshots = new SnapshotDownloads(node);
    const w = extras.watch && new TaskWatchApi(extras.watch, () => node.status().commitIndex, (id, stale) => this.getTask(id, stale), (id) => node.table.getTask(id));
    if (w) [this.watch, this.waitTask] = [w.watch, w.waitTask];
    const write = (method: string, path: string, body: unknown, ctx: RequestContext | undefined, onLeader: () => Promise<Forwarded>) => this.awaitLeader(ctx).then(() => this.leaderOrForward({ method, path, body }, ctx, (r) => r, onLeader));
    this.lifecycle = new TaskLifecycleApi({ getTask: (id) => node.table.getTask(id), schedules: () => node.table.schedules(), write, propose: (cmd) => node.proposeCommand(cmd), linearize: () => this.linearize() });
  }

  /** Proposes a write on this leader, held through a hand-over and then sent on to the new leader if it moved. */
  private proposeWrite(cmd: Command, method: string, path: string, body: unknown, ctx?: RequestContext): Promise<ApplyResult> {
    return proposeThroughHandOver(
      this.transferHold,
      () => this.n.proposeCommand(cmd),
      async (): Promise<ApplyResult> => {
        const r = await this.forwarder.forward(method, path, body, ctx);
        return { ok: true, task: r.body as Task, created: r.status === 201 };
      },
    );
  }

  get token(): string {
    return this.n.cfg.token;
  }

  status(): unknown {
    return {
      ...this.n.status(),
      // Beyond the contract's fields: this node's own work, and its replica's task counts (for `raftsched up`), and
      // its pid, so a node restarted by hand is recognised as a new process.
      pid: process.pid,
      activeTasks: this.n.executor.active,
      completedTasks: this.n.executor.completedCount,
      failedTasks: this.n.executor.failedCount,
      tasks: this.n.table.counts(),
      removed: this.n.removed,
    };
  }

  /** /healthz: a node that knows it was removed is not healthy, so a supervisor notices it (issue #18). */
  health(): { ok: boolean; removed?: true } {
    return this.n.removed ? { ok: false, removed: true } : { ok: true };
  }

  // ---- writes ----

  async submit(unchecked: SubmitInput, ctx?: RequestContext): Promise<{ created: boolean; task: Task }> {
    // Checked here too, not only by the router: the embedding API calls in directly. Input that can never succeed
    // is refused (400) on this node before any forward, so it never looks like an unreachable leader (503).
    // A large body yields between its CPU-heavy stages, so the leader's heartbeats keep going out.
    const bodyBytes = ctx?.body?.length;
    await yieldIfLarge(bodyBytes);
    const input = parseSubmit(unchecked);
    await yieldIfLarge(bodyBytes);
    // The id is fixed where the request arrives, so a forward that is retried cannot create a second task.
    const id = input.id ?? this.n.newTaskId();
    await this.awaitLeader(ctx);
    const body = ctx?.body !== undefined ? submitBodyWithId(ctx.body, input.id, id) : { ...input, id };
    return await this.leaderOrForward({ method: "POST", path: "/v1/tasks", body }, ctx, (r) => ({ created: r.status === 201, task: r.body as Task }), () =>
      this.submitOnLeader(input, id, body, ctx),
    );
  }

  private async submitOnLeader(input: SubmitInput, id: string, body: unknown, ctx?: RequestContext): Promise<{ created: boolean; task: Task }> {
    const bodyBytes = ctx?.body?.length;
    // Already applied here means already committed, but this table may be stale if we were deposed without
    // knowing it yet: confirm leadership with a ReadIndex, as GET does, then answer without a trip through the log.
    if (this.n.table.getTask(id)) {
      await this.linearize();
      const existing = this.n.table.getTask(id);
      if (existing) {
        if (input.onIdReuse === "reject") refuseReusedId(existing, input);
        return { created: false, task: existing };
      }
    }
    const res = await this.proposeWrite(submitCommand(id, input, Date.now()), "POST", "/v1/tasks", body, ctx);
    // An id in the dedupe window of deleted tasks answers as a duplicate (task-lifecycle.ts): 200 { id, deleted }.
    if (res.ok && res.deleted !== undefined) return { created: false, task: { id, deleted: true } as unknown as Task };
    const task = expectTask(res);
    await yieldIfLarge(bodyBytes); // the answer's JSON.stringify runs in its own turn, not in the apply's
    const created = res.ok && res.created === true;
    if (!created && input.onIdReuse === "reject") refuseReusedId(task, input); // another submit of this id was applied first
    return { created, task };
  }

  async complete(id: string, attempt: number, result: JsonValue | undefined, ctx?: RequestContext): Promise<Task> {
    if (result !== undefined) jsonField("result", result);
    await this.awaitLeader(ctx);
    const body = ctx?.body ?? { attempt, ...(result !== undefined ? { result } : {}) };
    return await this.writeTask(`/v1/tasks/${encodeURIComponent(id)}/complete`, body, ctx, () => ({ type: "complete", id, attempt, ...(result !== undefined ? { result } : {}), nowMs: Date.now() }));
  }

  async fail(id: string, attempt: number, error: JsonValue | undefined, ctx?: RequestContext): Promise<Task> {
    if (error !== undefined) jsonField("error", error);
    await this.awaitLeader(ctx);
    const body = ctx?.body ?? { attempt, ...(error !== undefined ? { error } : {}) };
    // The retry time is fixed on the leader, when it proposes.
    return await this.writeTask(`/v1/tasks/${encodeURIComponent(id)}/fail`, body, ctx, () => ({ type: "fail", id, attempt, ...(error !== undefined ? { error } : {}), retryAtMs: this.n.retryAt(attempt), nowMs: Date.now() }));
  }

  async reportLingering(worker: string, body: unknown, ctx?: RequestContext): Promise<unknown> {
    const count = parseLingeringCount(body);
    if (!this.n.runner.isLeader) return (await this.forwarder.forward("POST", `/v1/workers/${encodeURIComponent(worker)}/lingering`, { count }, ctx)).body;
    this.n.duties.lingering.set(worker, count);
    return { worker, count };
  }

  reportProgress(id: string, body: unknown, ctx?: RequestContext): Promise<unknown> {
    return reportProgressOn(this.n, id, body, () => this.awaitLeader(ctx), async (path, b) => (await this.forwarder.forward("POST", path, b, ctx)).body);
  }

  async cancel(id: string, ctx?: RequestContext): Promise<Task> {
    return await this.writeTask(`/v1/tasks/${encodeURIComponent(id)}/cancel`, undefined, ctx, () => ({ type: "cancel", id, nowMs: Date.now() }));
  }

  /** A write of one task's state: waits for a leader, then proposes it here (the leader) or forwards it. */
  private async writeTask(path: string, body: unknown, ctx: RequestContext | undefined, command: () => Command): Promise<Task> {
    await this.awaitLeader(ctx);
    return await this.leaderOrForward({ method: "POST", path, body }, ctx, (r) => r.body as Task, async () =>
      expectTask(await this.proposeWrite(command(), "POST", path, body, ctx)),
    );
  }

  /** The one leader-or-forward decision: on the leader `onLeader` runs here; a follower sends the request on to
   *  the leader it knows (one hop, never more) and answers with what the leader answered. */
  private async leaderOrForward<T>(
    request: { readonly method: string; readonly path: string; readonly body: unknown },
    ctx: RequestContext | undefined,
    fromLeader: (answer: Forwarded) => T,
    onLeader: () => Promise<T>,
  ): Promise<T> {
    if (!this.n.runner.isLeader) return fromLeader(await this.forwarder.forward(request.method, request.path, request.body, ctx));
    return await onLeader();
  }

  /** Right after a start or during an election no leader is known: wait a few elections for one rather than
   *  fail at once (what etcd's clients do too). A request that was already forwarded never waits. */
  private async awaitLeader(ctx?: RequestContext): Promise<void> {
    if (ctx?.forwarded || this.n.runner.knownLeader !== null) return;
    await this.n.runner.waitForLeader(submitLeaderWaitMs(this.n.cfg.electionTimeoutMs[1]));
  }

  // ---- reads ----

  async getTask(id: string, stale: boolean): Promise<Task | undefined> {
    if (!stale) await this.linearize();
    return progressShown(this.n.table.getTask(id), this.n.duties.progress, this.n.runner.isLeader);
  }

  async listTasks(q: ListQuery, stale: boolean): Promise<{ tasks: Task[]; next: string | null }> {
    if (!stale) await this.linearize();
    return pageWithProgress(this.n.table.listTasks(q), this.n.duties.progress, this.n.runner.isLeader);
  }

  private async linearize(): Promise<void> {
    await this.awaitLeader();
    try {
      await this.n.runner.readIndex(READ_TIMEOUT_MS);
    } catch (err) {
      if (errorCode(err) === "NOT_LEADER") throw new RaftschedError("NO_LEADER", "no leader is known yet; retry shortly (or pass ?stale=true)");
      throw err;
    }
  }

  async workers(ctx?: RequestContext): Promise<unknown> {
    if (!this.n.runner.isLeader && !ctx?.forwarded && this.n.leaderUrl()) {
      try {
        return (await this.forwarder.forward("GET", "/v1/workers", undefined, ctx)).body;
      } catch {
        /* fall back to the local view below */
      }
    }
    return workerRows(this.n.table.workers(), this.n.workerMembers(), this.n.runner.isLeader ? this.n.duties : null);
  }

  async cluster(ctx?: RequestContext): Promise<unknown> {
    if (!this.n.runner.isLeader && !ctx?.forwarded && this.n.leaderUrl()) {
      try {
        return (await this.forwarder.forward("GET", "/v1/cluster", undefined, ctx)).body;
      } catch {
        /* local view below */
      }
    }
    const st = this.n.raftStatus();
    const members = [
      ...st.conf.voters.map((id) => ({ id, role: "voter" as const })),
      ...st.conf.learners.map((id) => ({ id, role: "learner" as const })),
    ].map(({ id, role }) => {
      const progress = st.progress?.[id];
      const silence = this.n.duties.silenceMs(id);
      return {
        id,
        url: this.n.memberUrl(id) ?? null,
        role,
        matchIndex: id === this.n.id ? st.lastIndex : (progress?.match ?? null),
        alive: id === this.n.id ? true : st.role === "leader" ? silence !== null && silence < this.n.cfg.workerTimeoutMs : null,
      };
    });
    return { leaderId: st.leaderId, term: st.term, members };
  }

  // ---- membership (one server at a time; a new member joins as a learner and is promoted once caught up) ----

  async addMember(id: string, url: string, role: "voter" | "learner", ctx?: RequestContext, facts: MemberFacts = {}): Promise<{ created: boolean; body: unknown }> {
    const request = { method: "POST", path: "/v1/cluster/members", body: { id, url, role, ...facts } };
    return await this.leaderOrForward(request, ctx, (r) => ({ created: r.status === 201, body: r.body }), () => this.addMemberOnLeader(id, url, role, facts));
  }

  private async addMemberOnLeader(id: string, url: string, role: "voter" | "learner", facts: MemberFacts): Promise<{ created: boolean; body: unknown }> {
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
    return { created, body: await this.cluster({ forwarded: true }) };
  }

  async removeMember(id: string, ctx?: RequestContext): Promise<unknown> {
    const request = { method: "DELETE", path: `/v1/cluster/members/${encodeURIComponent(id)}`, body: undefined };
    return await this.leaderOrForward(request, ctx, (r) => r.body, () => this.removeMemberOnLeader(id));
  }

  private async removeMemberOnLeader(id: string): Promise<unknown> {
    const conf = this.n.raftStatus().conf;
    if (!conf.voters.includes(id) && !conf.learners.includes(id)) throw new RaftschedError("NOT_FOUND", `"${id}" is not a member`);
    if (id === this.n.id) {
      // Removing the leader: hand over first, then let the new leader commit the removal.
      if (conf.voters.length === 1) throw new RaftschedError("INVALID_CONF_CHANGE", "cannot remove the last voter");
      const r = (await this.transferLeader(undefined)) as { leaderId: string };
      await new Promise((res) => setTimeout(res, 50));
      return (await this.forwarder.forwardTo(r.leaderId, "DELETE", `/v1/cluster/members/${encodeURIComponent(id)}`)).body;
    }
    await this.confChange({ op: "remove", id });
    return await this.cluster({ forwarded: true });
  }

  /** Whether `facts` say something else than what is known of member `id` (a repeated add with the same facts is
   *  idempotent, as the add itself is). */
  private factsDiffer(id: string, facts: MemberFacts): boolean {
    const capacity = this.n.workerMembers().get(id);
    if (facts.worker !== undefined && facts.worker !== (capacity !== undefined)) return true;
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

  async transferLeader(to: string | undefined, ctx?: RequestContext): Promise<unknown> {
    const request = { method: "POST", path: "/v1/cluster/transfer-leader", body: to ? { to } : {} };
    return await this.leaderOrForward(request, ctx, (r) => r.body, () => this.transferLeaderOnLeader(to));
  }

  private async transferLeaderOnLeader(to: string | undefined): Promise<unknown> {
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

  /** Graceful shutdown of a leader: hand over first, so clients see no failed writes. */
  async handOver(): Promise<void> {
    if (!this.n.runner.isLeader) return;
    const target = this.bestTransferTarget();
    if (!target) return;
    await this.transferLeader(target);
  }

  async metrics(): Promise<{ contentType: string; body: string }> {
    return this.extras.metrics ? await this.extras.metrics() : { contentType: "text/plain; version=0.0.4", body: "" };
  }

  dashboard(): string {
    return renderDashboard(this.n.id);
  }
}

function expectTask(res: ApplyResult): Task {
  if (!res.ok) throw new RaftschedError(res.code, res.message);
  if (!res.task) throw new RaftschedError("INTERNAL", "the state machine answered without a task");
  return res.task;
}
