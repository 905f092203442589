// The replica's leader duties and task executor, built from what they read of the replica at each use. Apart from
// node.ts so the replica's file holds the order of its start and its state machine hooks, not two long option
// objects; everything is read through functions because a snapshot restore replaces the table.
import type { Logger } from "pino";
import { findNode, type ClusterFile } from "../config/cluster-file.js";
import { makePrng } from "../raft/prng.js";
import type { RaftNode } from "../raft/raft.js";
import type { Command } from "../scheduler/commands.js";
import type { TaskTable } from "../scheduler/table.js";
import type { ApplyResult } from "../scheduler/types.js";
import { LeaderDuties } from "./leader-duties.js";
import type { RaftRunner } from "./raft-runner.js";
import { isMember } from "./rejoin-leave-decision.js";
import { memberTags } from "./member-facts.js";
import type { ReplicaHooks } from "./replica-hooks.js";
import type { ReplicaMembership } from "./replica-membership.js";
import { TaskExecutor } from "./task-executor.js";

/** How long one "is my table current?" question to the leader may take before the executor asks again. */
const CONFIRM_COMMIT_TIMEOUT_MS = 2000;

export interface ReplicaInsides {
  readonly id: string;
  readonly cfg: ClusterFile;
  readonly logger: Logger;
  readonly hooks: ReplicaHooks;
  readonly members: ReplicaMembership;
  table(): TaskTable;
  core(): RaftNode;
  runner(): RaftRunner;
  /** The role as announced by the last Ready. */
  isLeader(): boolean;
  propose(cmd: Command): Promise<ApplyResult>;
}

export function createDuties(r: ReplicaInsides, seed: number): LeaderDuties {
  return new LeaderDuties({
    selfId: r.id,
    logger: r.logger,
    table: r.table,
    workerTimeoutMs: r.cfg.workerTimeoutMs,
    strategy: r.cfg.strategy,
    rng: makePrng(seed ^ 0x9e3779b9),
    workerMembers: () => r.members.workerCapacities(),
    memberTags: (id) => memberTags(id, r.cfg.nodes, r.members.facts),
    inLatestConf: (id) => isMember(r.members.latestAfter(r.members.applied(), r.runner().appliedIndex), id),
    propose: r.propose,
    retention: r.cfg.retention,
    // Duties start only after becameLeader() granted the grace period.
    isLeader: r.isLeader,
  });
}

export function createExecutor(r: ReplicaInsides): TaskExecutor {
  return new TaskExecutor({
    selfId: r.id,
    // Read at every scheduling pass: a capacity given when this node was added at runtime wins over the file's.
    get capacity() {
      return r.members.facts.get(r.id)?.capacity ?? findNode(r.cfg, r.id).capacity;
    },
    logger: r.logger,
    assignedToMe: () => r.table().listTasks({ worker: r.id, state: "assigned", limit: 1000 }).tasks,
    lookup: (id) => r.table().getTask(id),
    report: (id, attempt, outcome) => r.hooks.reportOutcome(id, attempt, outcome),
    reportProgress: async (id, attempt, value) => void (await r.hooks.reportProgress?.(id, attempt, value)),
    // Attempts wait until the leader confirmed a commit index this node has applied (attempt-start-gate.ts).
    confirmCommit: async () => {
      const term = r.core().status().term;
      return { term, index: await r.runner().readIndex(CONFIRM_COMMIT_TIMEOUT_MS) };
    },
    currentTerm: () => r.core().status().term,
    appliedIndex: () => r.runner().appliedIndex,
    lingeringTo: { leader: () => r.runner()?.knownLeader ?? null, send: async (count) => void (await r.hooks.reportLingering?.(count)) },
  });
}
