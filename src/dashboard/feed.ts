// The dashboard's live stream (GET /v1/dashboard/events): one feed per node, shared by every open page. While at
// least one page listens it builds a frame every FRAME_EVERY_MS — members (joined with each member's own status,
// probed every PROBE_EVERY_MS), the leader timeline, task counts, workers, the sparklines — and sends it when it
// changed, then the task rows changed since the last frame. Nobody listening: no timer, no probes; the apply hook
// still keeps the (bounded) sparkline counts, so a page opened later shows the last minute.
import type { ServerResponse } from "node:http";
import type { ApplyResult, Task } from "../scheduler/types.js";
import type { TaskCounts } from "../scheduler/table.js";
import { RaftschedError } from "../util/errors.js";
import { ThroughputSeries } from "./feed-series.js";
import { LeaderTimeline, memberRows, type ClusterView, type MemberStatus } from "./member-rows.js";
import type { StatusProbe } from "./member-probe.js";
import { SseStream } from "./sse-stream.js";
import { TERMINAL_STATES, TaskDeltas, taskRow, touchedTaskIds } from "./task-deltas.js";

export const FRAME_EVERY_MS = 500;
export const PROBE_EVERY_MS = 1_000;
/** Open pages per node; one more is refused with 503 OVERLOADED (each costs a frame per tick). */
export const MAX_DASHBOARD_STREAMS = 32;
/** The recent tasks a new page gets in its first frame. */
export const RECENT_TASKS = 50;
/** A forwarded cluster/workers read slower than this (a paused leader) keeps the previous answer for the frame. */
const READ_WAIT_MS = 1_500;

/** What the feed reads from its node. */
export interface FeedSources {
  readonly nodeId: string;
  status(): MemberStatus;
  counts(): TaskCounts;
  getTask(id: string): Task | undefined;
  recentTasks(limit: number): readonly Task[];
  /** GET /v1/cluster's answer (the leader's view when it can be had). */
  cluster(): Promise<unknown>;
  /** GET /v1/workers' answer. */
  workers(): Promise<unknown>;
  readonly probe: StatusProbe;
  readonly nowMs?: () => number;
}

export class DashboardFeed {
  private readonly src: FeedSources;
  private readonly now: () => number;
  private readonly series = new ThroughputSeries();
  private readonly deltas = new TaskDeltas();
  private readonly timeline = new LeaderTimeline();
  private readonly streams = new Set<SseStream>();
  private statuses = new Map<string, MemberStatus | null>();
  private cluster: ClusterView = { leaderId: null, term: 0, members: [] };
  private workers: unknown = [];
  private timer: NodeJS.Timeout | null = null;
  private inFlight: Promise<void> | null = null;
  private lastProbeMs = 0;
  private lastStateJson = "";
  private seriesLive = false;
  private liveCheckQueued = false;

  constructor(src: FeedSources) {
    this.src = src;
    this.now = src.nowMs ?? Date.now;
  }

  /** The apply hook: O(1) per task the command touched. */
  onApplied(result: ApplyResult): void {
    if (!result.ok) return;
    const at = this.now();
    const counting = this.seriesLive;
    if (!counting) this.queueLiveCheck();
    if (counting && result.task && result.created === true) this.series.noteSubmitted(result.task.id, at);
    for (const id of touchedTaskIds(result)) {
      const t = id === result.task?.id ? result.task : this.src.getTask(id);
      if (t && this.deltas.note(t) && counting && TERMINAL_STATES.has(t.state)) this.series.noteFinished(t.id, at);
    }
  }

  /** The sparklines count from the moment this node has caught up (a leader known, everything committed applied),
   *  as ready() means it: a restarted node replays its log in a burst, and that burst is neither throughput nor
   *  latency. Checked in a microtask, after the apply loop that called the hook has updated the applied index. */
  private queueLiveCheck(): void {
    if (this.liveCheckQueued) return;
    this.liveCheckQueued = true;
    queueMicrotask(() => {
      this.liveCheckQueued = false;
      const s = this.src.status();
      if (s.leaderId !== null && s.appliedIndex >= s.commitIndex) this.seriesLive = true;
    });
  }

  /** The role hook (a role or known-leader change): the timeline records leaders whether or not a page is open. */
  noteLeader(): void {
    const s = this.src.status();
    this.timeline.note(s.leaderId, s.term, this.now());
  }

  /** Serves one page's stream until it goes away. */
  subscribe(res: ServerResponse): void {
    if (this.streams.size >= MAX_DASHBOARD_STREAMS) throw new RaftschedError("OVERLOADED", `this node already serves ${MAX_DASHBOARD_STREAMS} dashboard streams`);
    const stream = new SseStream(res);
    this.streams.add(stream);
    stream.onClose(() => {
      this.streams.delete(stream);
      if (this.streams.size === 0) this.stop();
    });
    // The first frame at once (what this node knows now), so a page after a failover shows something immediately.
    stream.send("state", this.state());
    stream.send("tasks", { tasks: this.src.recentTasks(RECENT_TASKS).map(taskRow), reset: true });
    if (this.timer === null) {
      this.timer = setInterval(() => void this.tick(), FRAME_EVERY_MS);
      void this.tick(); // members and workers fresh now, not one period later
    }
  }

  get streamCount(): number {
    return this.streams.size;
  }

  /** Ends every stream (the node is closing: an open stream would hold the HTTP close's grace period). */
  close(): void {
    for (const s of this.streams) s.end();
    this.streams.clear();
    this.stop();
  }

  /** One frame: refresh what is due, send what changed. A call while one is still building (waiting on a slow
   *  member) joins it: frames never pile up. Exposed for the unit tests. */
  tick(): Promise<void> {
    this.inFlight ??= this.frame().finally(() => {
      this.inFlight = null;
    });
    return this.inFlight;
  }

  private async frame(): Promise<void> {
    if (this.now() - this.lastProbeMs >= PROBE_EVERY_MS) await this.refresh();
    const state = this.state();
    const json = JSON.stringify(state);
    if (json !== this.lastStateJson) {
      this.lastStateJson = json;
      this.broadcast("state", state);
    }
    const rows = this.deltas.take();
    if (rows.length > 0) this.broadcast("tasks", { tasks: rows });
  }

  private async refresh(): Promise<void> {
    this.lastProbeMs = this.now();
    const [cluster, workers] = await Promise.all([
      withTimeout(this.src.cluster(), READ_WAIT_MS).catch(() => undefined),
      withTimeout(this.src.workers(), READ_WAIT_MS).catch(() => undefined),
    ]);
    if (isClusterView(cluster)) this.cluster = cluster;
    if (Array.isArray(workers)) this.workers = workers;
    const others = this.cluster.members.filter((m) => m.id !== this.src.nodeId && m.url !== null);
    const probed = await Promise.all(others.map(async (m) => [m.id, await this.src.probe(m.url!)] as const));
    this.statuses = new Map(probed);
  }

  /** The frame as this node knows it now (cluster and member statuses as of the last refresh). */
  private state(): unknown {
    const at = this.now();
    const self = this.src.status();
    const statuses = new Map(this.statuses);
    statuses.set(this.src.nodeId, self);
    for (const s of statuses.values()) if (s) this.timeline.note(s.leaderId, s.term, at);
    return {
      node: this.src.nodeId,
      self,
      leaderId: self.leaderId,
      term: self.term,
      members: memberRows(this.cluster, statuses),
      timeline: this.timeline.list(),
      counts: this.src.counts(),
      workers: this.workers,
      series: this.series.view(at),
    };
  }

  private broadcast(event: string, data: unknown): void {
    for (const s of this.streams) if (!s.send(event, data)) this.streams.delete(s);
    if (this.streams.size === 0) this.stop();
  }

  private stop(): void {
    if (this.timer !== null) clearInterval(this.timer);
    this.timer = null;
  }
}

function isClusterView(v: unknown): v is ClusterView {
  return typeof v === "object" && v !== null && Array.isArray((v as ClusterView).members);
}

function withTimeout<T>(p: Promise<T>, ms: number): Promise<T | undefined> {
  let timer: NodeJS.Timeout | undefined;
  const late = new Promise<undefined>((resolve) => {
    timer = setTimeout(() => resolve(undefined), ms);
  });
  return Promise.race([p, late]).finally(() => clearTimeout(timer));
}
