// The narrow, typed handle through which the layers above (src/api, the metrics, the composition root in
// src/server.ts) see one replica. Read-only views of the runner, the table, the executor and the duties, plus the
// few calls the HTTP API needs: nothing above src/node reaches into the replica's fields.
import type { ClusterFile } from "../config/cluster-file.js";
import type { RaftStatus } from "../raft/api.js";
import type { NodeId } from "../raft/types.js";
import type { Command } from "../scheduler/commands.js";
import type { TaskTable } from "../scheduler/table.js";
import type { ApplyResult } from "../scheduler/types.js";
import type { LeaderDuties } from "./leader-duties.js";
import type { RaftRunner } from "./raft-runner.js";
import type { TaskExecutor } from "./task-executor.js";

export interface NodeStatus {
  readonly id: string;
  readonly role: "leader" | "follower" | "candidate" | "learner";
  readonly term: number;
  readonly leaderId: string | null;
  readonly commitIndex: number;
  readonly appliedIndex: number;
}

/** The state machine captured at `index` (applied here) in `term`, serialized as a node snapshot's data. */
export interface StateCapture {
  readonly index: number;
  readonly term: number;
  readonly data: Promise<Uint8Array>;
}

/** The cluster-file settings the API reads. */
export type ReplicaSettings = Readonly<Pick<ClusterFile, "cluster" | "token" | "electionTimeoutMs" | "workerTimeoutMs" | "tls" | "readToken" | "authReads">>;
export type RunnerView = Readonly<
  Pick<RaftRunner, "isLeader" | "knownLeader" | "appliedIndex" | "pendingProposals" | "counters" | "waitForLeader" | "readIndex" | "proposeConfChange" | "transferLeadership">
>;
export type TableView = Pick<TaskTable, "getTask" | "listTasks" | "counts" | "workers" | "schedules">;
export type WorkView = Readonly<Pick<TaskExecutor, "active" | "completedCount" | "failedCount">>;
/** The leader's view of the members: silence, and the lingering handlers the workers told it of. */
export type SilenceView = Pick<LeaderDuties, "silenceMs" | "heardSilenceMs" | "lingering" | "lingeringOf" | "progress" | "externals" | "placementCounts">;

export interface ReplicaHandle {
  readonly id: string;
  readonly cfg: ReplicaSettings;
  readonly runner: RunnerView;
  /** The table as applied now (a snapshot restore replaces it: read it at each use, do not keep it). */
  readonly table: TableView;
  readonly executor: WorkView;
  readonly duties: SilenceView;
  /** This node knows it is no longer a member. */
  readonly removed: boolean;
  status(): NodeStatus;
  raftStatus(): RaftStatus;
  /** The state machine as of the last applied entry (captured during the call; the bytes follow). Backups. */
  captureState(): StateCapture;
  /** Members that run tasks, with their capacity. */
  workerMembers(): Map<string, number>;
  memberUrl(id: string): string | undefined;
  /** The known leader's url, null when none is known or this node leads. */
  leaderUrl(): string | null;
  newTaskId(): string;
  retryAt(failedAttempt: number): number;
  /** Proposes on this node (which must be the leader) and returns the state machine's answer. */
  proposeCommand(cmd: Command, timeoutMs?: number): Promise<ApplyResult>;
}

/** The link filter of the peer transport (chaos fault hooks): false drops a message from `from` to `to`. */
export type LinkFilter = ((from: NodeId, to: NodeId) => boolean) | null;
