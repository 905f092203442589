// Builds a replica's ReplicaHandle: getters that read the replica's parts at each use (a snapshot restore replaces
// the table), and the few calls the HTTP API makes. Kept apart from node.ts so the replica's file holds only its
// wiring and its state machine hooks.
import type { ClusterFile } from "../config/cluster-file.js";
import type { RaftStatus } from "../raft/api.js";
import type { Command } from "../scheduler/commands.js";
import type { TaskTable } from "../scheduler/table.js";
import type { ApplyResult } from "../scheduler/types.js";
import { RaftschedError } from "../util/errors.js";
import type { LeaderDuties } from "./leader-duties.js";
import type { RaftRunner } from "./raft-runner.js";
import type { NodeStatus, ReplicaHandle, StateCapture } from "./replica-handle.js";
import type { TaskExecutor } from "./task-executor.js";

/** What the handle reads from the replica, at each use. */
export interface ReplicaParts {
  readonly id: string;
  settings(): ClusterFile;
  runner(): RaftRunner;
  table(): TaskTable;
  executor(): TaskExecutor;
  duties(): LeaderDuties;
  removed(): boolean;
  memberUrl(id: string): string | undefined;
  status(): NodeStatus;
  raftStatus(): RaftStatus;
  captureState(): StateCapture;
  workerMembers(): Map<string, number>;
  leaderUrl(): string | null;
  newTaskId(): string;
  retryAt(failedAttempt: number): number;
  proposeCommand(cmd: Command, timeoutMs?: number): Promise<ApplyResult>;
}

export function replicaHandleOf(parts: ReplicaParts): ReplicaHandle {
  return {
    id: parts.id,
    get cfg() {
      return parts.settings();
    },
    get runner() {
      return parts.runner();
    },
    get table() {
      return parts.table();
    },
    get executor() {
      return parts.executor();
    },
    get duties() {
      return parts.duties();
    },
    get removed() {
      return parts.removed();
    },
    status: () => parts.status(),
    raftStatus: () => parts.raftStatus(),
    captureState: () => parts.captureState(),
    workerMembers: () => parts.workerMembers(),
    memberUrl: (id) => parts.memberUrl(id),
    leaderUrl: () => parts.leaderUrl(),
    newTaskId: () => parts.newTaskId(),
    retryAt: (failedAttempt) => parts.retryAt(failedAttempt),
    proposeCommand: (cmd, timeoutMs) => parts.proposeCommand(cmd, timeoutMs),
  };
}

/** Maps core errors to API errors a client can act on. */
export function translateRaftError(err: unknown): Error {
  const e = err as { code?: string; leaderId?: string | null; message?: string };
  if (e?.code === "NOT_LEADER") return new RaftschedError("NOT_LEADER", e.message ?? "not the leader", { leaderId: e.leaderId ?? null });
  return err instanceof Error ? err : new Error(String(err));
}
