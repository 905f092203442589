// Prometheus metrics for one node, following the Prometheus conventions (prom-client: the standard registry and text
// format). Counters are counters and end in _total; nothing else does; units are in names (_seconds, _bytes); task
// counts are one family, raftsched_tasks{state}. README "Metrics and alerts worth setting" lists them.
//   metrics-collected.ts   gauges and counters read from the live components at each scrape
//   metrics-task-timing.ts submit→assignment and run-time intervals, from applied entries
//   metrics-event-loop.ts  event-loop delay since the previous scrape
// The histograms here are fed as things happen: the runner and the store through ReplicaObserver, the HTTP server
// through timeRequest, applied commands through onApplied.
import type { IncomingMessage, ServerResponse } from "node:http";
import client from "prom-client";
import type { Role } from "../raft/types.js";
import type { ApplyResult } from "../scheduler/types.js";
import type { ReplicaHandle } from "./replica-handle.js";
import type { ReplicaObserver } from "./replica-observer.js";
import { registerCollectedMetrics } from "./metrics-collected.js";
import { EventLoopDelayMetrics } from "./metrics-event-loop.js";
import { TaskTiming } from "./metrics-task-timing.js";
import type { TransportStats } from "../transport/ws-transport.js";

/** Sub-millisecond to seconds: request, commit and fsync latencies. */
const LATENCY_BUCKETS = [0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10];
/** Applying one entry: microseconds, with room for a slow one. */
const APPLY_BUCKETS = [0.00001, 0.000025, 0.00005, 0.0001, 0.00025, 0.0005, 0.001, 0.0025, 0.005, 0.01, 0.05, 0.25];
/** Task waits and runs: milliseconds to an hour. */
const TASK_BUCKETS = [0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60, 300, 900, 3600];

/** prom-client's default metrics that are gauges named _total (promtool flags them); not exposed. */
const DEFAULT_GAUGES_NAMED_TOTAL = ["nodejs_active_handles_total", "nodejs_active_requests_total", "nodejs_active_resources_total"];

export class NodeMetrics {
  private readonly registry = new client.Registry();
  private readonly node: ReplicaHandle;
  private transportStats: (() => TransportStats) | null = null;
  private readonly timing = new TaskTiming();
  private readonly eventLoop: EventLoopDelayMetrics;
  private wasLeader = false;
  private lastLeaderId: string | null = null;
  private readonly roleChanges: client.Counter;
  private readonly elections: client.Counter;
  private readonly leaderChanges: client.Counter;
  private readonly applied: client.Counter<"result">;
  private readonly snapshotsInstalled: client.Counter;
  private readonly submitSeconds: client.Histogram<"code">;
  private readonly assignDelaySeconds: client.Histogram;
  private readonly runSeconds: client.Histogram<"outcome">;
  private readonly commitSeconds: client.Histogram;
  private readonly fsyncSeconds: client.Histogram;
  private readonly applySeconds: client.Histogram;

  constructor(node: ReplicaHandle) {
    this.node = node;
    const r = this.registry;
    // Every series names its node and its cluster (the cluster file's "cluster"), so one Prometheus can hold several.
    r.setDefaultLabels({ node: node.id, cluster: node.cfg.cluster });
    client.collectDefaultMetrics({ register: r });
    for (const name of DEFAULT_GAUGES_NAMED_TOTAL) r.removeSingleMetric(name);
    registerCollectedMetrics(r, node, () => this.transportStats?.() ?? null);
    this.eventLoop = new EventLoopDelayMetrics(r);
    const counter = (name: string, help: string) => new client.Counter({ name, help, registers: [r] });
    this.roleChanges = counter("raftsched_role_changes_total", "Role changes of this node (follower, candidate, leader)");
    this.elections = counter("raftsched_leader_elections_total", "Elections this node won (summed over the nodes: the cluster's elections)");
    this.leaderChanges = counter("raftsched_leader_changes_seen_total", "Changes of the leader this node saw (to another node, or to none)");
    this.snapshotsInstalled = counter("raftsched_snapshots_installed_total", "Snapshots from the leader that replaced this node's state machine");
    this.applied = new client.Counter({ name: "raftsched_commands_applied_total", help: "Scheduler commands applied, by outcome", labelNames: ["result"], registers: [r] });
    const histogram = <L extends string>(name: string, help: string, buckets: number[], labelNames: L[] = []) =>
      new client.Histogram<L>({ name, help, buckets, labelNames, registers: [r] });
    this.submitSeconds = histogram("raftsched_submit_duration_seconds", "POST /v1/tasks: request to answer on the node that took it (the ack latency), by status code", LATENCY_BUCKETS, ["code"]);
    this.assignDelaySeconds = histogram("raftsched_task_assign_delay_seconds", "A task's submit to its first assignment, both as applied (reported by the leader)", TASK_BUCKETS);
    this.runSeconds = histogram("raftsched_task_run_duration_seconds", "An attempt's assignment to its complete/fail, both as applied (reported by the leader)", TASK_BUCKETS, ["outcome"]);
    this.commitSeconds = histogram("raftsched_raft_commit_duration_seconds", "A proposal of this node (the leader), proposed to applied", LATENCY_BUCKETS);
    this.fsyncSeconds = histogram("raftsched_fsync_duration_seconds", "One synced storage batch (LevelDB write with sync)", LATENCY_BUCKETS);
    this.applySeconds = histogram("raftsched_apply_duration_seconds", "Applying one committed entry to the state machine", APPLY_BUCKETS);
  }

  /** What the runner and the store report to (ReplicaHooks.observer). */
  readonly observer: ReplicaObserver = {
    fsync: (s) => this.fsyncSeconds.observe(s),
    apply: (s) => this.applySeconds.observe(s),
    commit: (s) => this.commitSeconds.observe(s),
    snapshotInstalled: () => this.snapshotsInstalled.inc(),
  };

  /** The peer transport's counters, once the replica serves (ReplicaWiring.transportStats). */
  useTransportStats(read: () => TransportStats): void {
    this.transportStats = read;
  }

  onRoleChange(role: Role, _term: number): void {
    this.roleChanges.inc();
    const isLeader = role === "leader";
    if (isLeader && !this.wasLeader) this.elections.inc();
    this.wasLeader = isLeader;
    const leaderId = this.node.status().leaderId;
    if (leaderId !== this.lastLeaderId) this.leaderChanges.inc();
    this.lastLeaderId = leaderId;
  }

  onApplied(result: ApplyResult): void {
    this.applied.inc({ result: result.ok ? "ok" : result.code });
    const seen = this.timing.onApplied(result, performance.now());
    // Every replica notes the times; the leader alone reports, so each task counts once in a cluster-wide sum.
    if (!this.node.runner.isLeader) return;
    for (const s of seen.assignDelays) this.assignDelaySeconds.observe(s);
    for (const run of seen.runs) this.runSeconds.observe({ outcome: run.outcome }, run.seconds);
  }

  /** Times a submit (POST /v1/tasks) from its arrival to the end of its answer. */
  timeRequest(req: IncomingMessage, res: ServerResponse): void {
    if (req.method !== "POST" || (req.url ?? "").split("?")[0] !== "/v1/tasks") return;
    const startedMs = performance.now();
    res.once("finish", () => this.submitSeconds.observe({ code: String(res.statusCode) }, (performance.now() - startedMs) / 1000));
  }

  async render(): Promise<{ contentType: string; body: string }> {
    return { contentType: this.registry.contentType, body: await this.registry.metrics() };
  }

  stop(): void {
    this.eventLoop.stop();
  }
}
