// The metrics read from the live components at each scrape: Raft positions, task counts, this node's own work, and
// the peer transport's counters. Values the components already count (fsyncs, messages, bytes) are exposed as
// counters (TYPE counter, name ending _total) set from the component's running count at collect time: they only
// grow for the life of the process, which is what Prometheus' rate() expects of a counter (a restart resets them).
import client from "prom-client";
import type { TransportStats } from "../transport/ws-transport.js";
import { TASK_STATES } from "../scheduler/types.js";
import type { ReplicaHandle } from "./replica-handle.js";

/** The transport's counters, once the replica has handed them over (ReplicaWiring.transportStats). */
export type TransportStatsSource = () => TransportStats | null;

export function registerCollectedMetrics(r: client.Registry, node: ReplicaHandle, transport: TransportStatsSource): void {
  const gauge = (name: string, help: string, read: () => number): void => {
    new client.Gauge({ name, help, registers: [r], collect() { this.set(read()); } });
  };
  const counter = (name: string, help: string, read: () => number): void => {
    new client.Counter({ name, help, registers: [r], collect() { this.reset(); this.inc(read()); } });
  };
  gauge("raftsched_term", "Current Raft term", () => node.raftStatus().term);
  gauge("raftsched_is_leader", "1 when this node is the leader", () => (node.raftStatus().role === "leader" ? 1 : 0));
  gauge("raftsched_commit_index", "Raft commit index", () => node.raftStatus().commit);
  gauge("raftsched_applied_index", "Last applied index", () => node.runner.appliedIndex);
  gauge("raftsched_last_log_index", "Last log index", () => node.raftStatus().lastIndex);
  gauge("raftsched_pending_proposals", "Proposals of this node waiting for their commit", () => node.runner.pendingProposals);
  gauge("raftsched_tasks_running", "Task attempts running on this node", () => node.executor.active);
  counter("raftsched_fsyncs_total", "Synced storage batches", () => node.runner.counters.fsyncs);
  counter("raftsched_entries_persisted_total", "Log entries persisted", () => node.runner.counters.entriesPersisted);
  counter("raftsched_messages_sent_total", "Raft messages handed to the transport", () => node.runner.counters.messagesSent);
  // Placement (leader-duties.ts): how often the leader planned, and how many assignments each command carried.
  counter("raftsched_placement_rounds_total", "Placement rounds this node planned as leader", () => node.duties.placementCounts.rounds);
  counter("raftsched_placement_rounds_skipped_total", "Placement rounds skipped because an assign command was still in flight", () => node.duties.placementCounts.skippedInFlight);
  counter("raftsched_assign_commands_total", "Assign commands this node proposed as leader", () => node.duties.placementCounts.commands);
  counter("raftsched_assignments_proposed_total", "Assignments in the assign commands this node proposed as leader", () => node.duties.placementCounts.assignments);
  new client.Gauge({
    name: "raftsched_tasks",
    help: "Tasks by state, in this replica's table",
    labelNames: ["state"],
    registers: [r],
    collect() {
      const counts = node.table.counts();
      for (const state of TASK_STATES) this.set({ state }, counts[state]);
    },
  });
  new client.Counter({
    name: "raftsched_local_attempts_total",
    help: "Task attempts this node's executor finished, by outcome",
    labelNames: ["outcome"],
    registers: [r],
    collect() {
      this.reset();
      this.inc({ outcome: "completed" }, node.executor.completedCount);
      this.inc({ outcome: "failed" }, node.executor.failedCount);
    },
  });
  registerTransportMetrics(r, transport);
}

type PeerField = "bytesSent" | "bytesReceived" | "snapshotsSent" | "dropped";

function registerTransportMetrics(r: client.Registry, transport: TransportStatsSource): void {
  const perPeer = (name: string, help: string, field: PeerField): void => {
    new client.Counter({
      name,
      help,
      labelNames: ["peer"],
      registers: [r],
      collect() {
        this.reset();
        for (const [peer, s] of Object.entries(transport()?.peers ?? {})) this.inc({ peer }, s[field]);
      },
    });
  };
  perPeer("raftsched_peer_sent_bytes_total", "Bytes of peer frames written to the outbound connection to each peer", "bytesSent");
  perPeer("raftsched_peer_received_bytes_total", "Bytes of peer frames received from each peer", "bytesReceived");
  perPeer("raftsched_snapshots_sent_total", "Snapshot transfers to each peer that it acknowledged", "snapshotsSent");
  perPeer("raftsched_peer_frames_dropped_total", "Frames to each peer dropped (queue full, oversize, link lost)", "dropped");
  new client.Counter({
    name: "raftsched_peer_connections_refused_total",
    help: "Peer connections refused (bad token, unknown node, replaced storage, ...)",
    registers: [r],
    collect() {
      this.reset();
      this.inc(transport()?.refusedUpgrades ?? 0);
    },
  });
  new client.Gauge({
    name: "raftsched_peer_connected",
    help: "1 while this node's outbound connection to the peer is open",
    labelNames: ["peer"],
    registers: [r],
    collect() {
      this.reset();
      for (const [peer, s] of Object.entries(transport()?.peers ?? {})) this.set({ peer }, s.connected ? 1 : 0);
    },
  });
}
