// Prometheus metrics for one node (prom-client: the standard registry and text format, so a scrape config for any
// Node service works here too). Gauges are read at scrape time from the live components.
import client from "prom-client";
import type { Role } from "../raft/types.js";
import type { ApplyResult } from "../scheduler/types.js";
import type { ReplicaHandle } from "./replica-handle.js";

export class NodeMetrics {
  private readonly registry = new client.Registry();
  private readonly leaderChanges: client.Counter;
  private readonly applied: client.Counter<"result">;

  constructor(node: ReplicaHandle) {
    const r = this.registry;
    r.setDefaultLabels({ node: node.id });
    client.collectDefaultMetrics({ register: r });
    this.leaderChanges = new client.Counter({ name: "raftsched_role_changes_total", help: "Role changes of this node", registers: [r] });
    this.applied = new client.Counter({
      name: "raftsched_commands_applied_total",
      help: "Scheduler commands applied, by outcome",
      labelNames: ["result"],
      registers: [r],
    });
    const gauge = (name: string, help: string, read: () => number): void => {
      new client.Gauge({
        name,
        help,
        registers: [r],
        collect() {
          this.set(read());
        },
      });
    };
    gauge("raftsched_term", "Current Raft term", () => node.raftStatus().term);
    gauge("raftsched_is_leader", "1 when this node is the leader", () => (node.raftStatus().role === "leader" ? 1 : 0));
    gauge("raftsched_commit_index", "Raft commit index", () => node.raftStatus().commit);
    gauge("raftsched_applied_index", "Last applied index", () => node.runner.appliedIndex);
    gauge("raftsched_last_log_index", "Last log index", () => node.raftStatus().lastIndex);
    gauge("raftsched_fsyncs_total", "Synced storage batches", () => node.runner.counters.fsyncs);
    gauge("raftsched_entries_persisted_total", "Log entries persisted", () => node.runner.counters.entriesPersisted);
    gauge("raftsched_messages_sent_total", "Raft messages handed to the transport", () => node.runner.counters.messagesSent);
    gauge("raftsched_tasks_running", "Tasks running on this node", () => node.executor.active);
    gauge("raftsched_tasks_completed_by_node_total", "Task attempts this node completed", () => node.executor.completedCount);
    gauge("raftsched_tasks_failed_by_node_total", "Task attempts this node failed", () => node.executor.failedCount);
    const states = ["pending", "assigned", "completed", "dead", "cancelled"] as const;
    for (const s of states) {
      gauge(`raftsched_tasks_${s}`, `Tasks in state ${s} (this replica's table)`, () => node.table.counts()[s]);
    }
  }

  onRoleChange(_role: Role, _term: number): void {
    this.leaderChanges.inc();
  }

  onApplied(result: ApplyResult): void {
    this.applied.inc({ result: result.ok ? "ok" : result.code });
  }

  async render(): Promise<{ contentType: string; body: string }> {
    return { contentType: this.registry.contentType, body: await this.registry.metrics() };
  }
}
