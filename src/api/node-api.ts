// What each API call does on this node, over the replica's narrow handle (src/node/replica-handle.ts). Writes go through the leader: on the leader they are proposed and
// answered once applied; a follower forwards them to the leader it knows (one hop, never more). Reads are
// linearizable through ReadIndex unless the caller asks for stale local state.
import { jsonField, parseSubmit, submitBodyWithId, type ApiBackend, type ListQuery, type RequestContext, type SubmitInput } from "./router.js";
import type { ServerResponse } from "node:http";
import type { ApplyResult, JsonValue, Task } from "../scheduler/types.js";
import type { Command } from "../scheduler/commands.js";
import type { MemberFacts } from "../raft/types.js";
import { RaftschedError, errorCode } from "../util/errors.js";
import { renderDashboard } from "../dashboard/page.js";
import type { ReplicaHandle } from "../node/replica-handle.js";
import { yieldIfLarge } from "../node/large-request-yield.js";
import { refuseReusedId } from "../node/id-reuse.js";
import { TransferHold, proposeThroughHandOver, readBeforeHeldWrite } from "../node/transfer-hold.js";
import { submitLeaderWaitMs } from "../node/leader-wait.js";
import { parseLingeringCount } from "../node/lingering-handlers.js";
import { workerRows } from "../node/worker-rows.js";
import { submitCommand } from "./submit-command.js";
import { pageWithProgress, progressShown } from "../node/task-progress.js";
import { reportProgressOn } from "./progress-report.js";
import { LeaderForwarder, forwardedSubmit, type Forwarded } from "./leader-forward.js";
import { SnapshotDownloads } from "./snapshot-download.js";
import { TaskWatchApi } from "./task-watch-api.js";
import { accessRulesOf, type AccessRules } from "./access-rules.js";
import { TaskLifecycleApi } from "./task-lifecycle-api.js";
import { MembershipOnLeader } from "./membership-on-leader.js";
import { timedStage } from "../util/loop-block-trace.js";

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
  readonly lifecycle: TaskLifecycleApi;
  /** Membership changes and leadership transfer as the leader does them (membership-on-leader.ts). */
  private readonly membership: MembershipOnLeader; // DELETE, retry and schedules (task-lifecycle-api.ts)

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
    this.membership = new MembershipOnLeader(node, {
      cluster: () => this.cluster({ forwarded: true }),
      transferLeader: (to) => this.transferLeader(to),
      forwardTo: (leaderId, method, path) => this.forwarder.forwardTo(leaderId, method, path),
    });
    const w = extras.watch && new TaskWatchApi(extras.watch, () => node.status().commitIndex, (id, stale) => this.getTask(id, stale), (id) => node.table.getTask(id));
    if (w) [this.watch, this.waitTask] = [w.watch, w.waitTask];
    // DELETE, retry and schedule writes are held through a leader hand-over as submits are (transfer-hold.ts).
    const held = (method: string, path: string, body: unknown, ctx: RequestContext | undefined, onLeader: () => Promise<Forwarded>) =>
      proposeThroughHandOver(this.transferHold, onLeader, () => this.forwarder.forward(method, path, body, ctx));
    const write = (method: string, path: string, body: unknown, ctx: RequestContext | undefined, onLeader: () => Promise<Forwarded>) =>
      this.awaitLeader(ctx).then(() => this.leaderOrForward({ method, path, body }, ctx, (r) => r, () => held(method, path, body, ctx, onLeader)));
    this.lifecycle = new TaskLifecycleApi({ getTask: (id) => node.table.getTask(id), schedules: () => node.table.schedules(), write, propose: (cmd) => node.proposeCommand(cmd), linearize: () => this.linearize(), linearizeWrite: () => readBeforeHeldWrite(() => this.linearize(), this.transferHold.view) });
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

  async submit(unchecked: SubmitInput, ctx?: RequestContext): Promise<{ created: boolean; task: Task; answerText?: string }> {
    // Checked here too, not only by the router: the embedding API calls in directly. Input that can never succeed
    // is refused (400) on this node before any forward, so it never looks like an unreachable leader (503).
    // A large body yields between its CPU-heavy stages, so the leader's heartbeats keep going out.
    const bodyBytes = ctx?.body?.length;
    await yieldIfLarge(bodyBytes);
    const input = timedStage("parseSubmit", () => parseSubmit(unchecked), bodyBytes);
    await yieldIfLarge(bodyBytes);
    // The id is fixed where the request arrives, so a forward that is retried cannot create a second task.
    const id = input.id ?? this.n.newTaskId();
    await this.awaitLeader(ctx);
    const body = ctx?.body !== undefined ? submitBodyWithId(ctx.body, input.id, id) : { ...input, id };
    return await this.leaderOrForward({ method: "POST", path: "/v1/tasks", body }, ctx, (r) => forwardedSubmit(r), () =>
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
    return await this.leaderOrForward(request, ctx, (r) => ({ created: r.status === 201, body: r.body }), () => this.membership.addMember(id, url, role, facts));
  }

  async removeMember(id: string, ctx?: RequestContext): Promise<unknown> {
    const request = { method: "DELETE", path: `/v1/cluster/members/${encodeURIComponent(id)}`, body: undefined };
    return await this.leaderOrForward(request, ctx, (r) => r.body, () => this.membership.removeMember(id));
  }

  async transferLeader(to: string | undefined, ctx?: RequestContext): Promise<unknown> {
    const request = { method: "POST", path: "/v1/cluster/transfer-leader", body: to ? { to } : {} };
    return await this.leaderOrForward(request, ctx, (r) => r.body, () => this.membership.transferLeader(to));
  }

  /** The voter most caught up with our log: the one that can win at once. */
  bestTransferTarget(): string | null {
    return this.membership.bestTransferTarget();
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
