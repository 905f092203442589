// A node's first start on an empty data dir. Without --join, the cluster file's voters and learners form the first
// configuration, persisted as the snapshot at index 0: every later start reads the membership from the store, not
// from the file (which may have changed since). With --join it waits to be added by a member.
import type { Logger } from "pino";
import type { ClusterFile } from "../config/cluster-file.js";
import type { ConfState, Snapshot } from "../raft/types.js";
import { TaskTable } from "../scheduler/table.js";
import type { LevelStore } from "../storage/level.js";
import type { MemoryStorage } from "../storage/memory.js";
import { encodeSnapshotData } from "./snapshot-data.js";

export interface FirstStart {
  readonly cfg: ClusterFile;
  readonly join: boolean;
  readonly store: LevelStore;
  readonly storage: MemoryStorage;
  readonly memberUrls: ReadonlyMap<string, string>;
  readonly logger: Logger;
}

/** Bootstraps the first configuration when the store is empty and the node is not joining; else does nothing. */
export async function bootstrapIfFresh(s: FirstStart): Promise<void> {
  const init = s.storage.initialState();
  const fresh = init.hardState.term === 0 && s.storage.lastIndex() === 0 && init.confState.voters.length === 0;
  if (!fresh) return;
  if (s.join) {
    s.logger.info("empty data dir and --join: waiting to be added by a member of the cluster");
    return;
  }
  const conf: ConfState = {
    voters: s.cfg.nodes.filter((n) => n.role === "voter").map((n) => n.id).sort(),
    learners: s.cfg.nodes.filter((n) => n.role === "learner").map((n) => n.id).sort(),
  };
  const boot: Snapshot = {
    meta: { index: 0, term: 0, conf },
    data: encodeSnapshotData({ memberUrls: new Map(s.memberUrls), table: new TaskTable().snapshot() }),
  };
  await s.store.persist({ entries: [], snapshot: boot });
  s.storage.applySnapshot(boot);
  s.logger.info({ voters: conf.voters, learners: conf.learners }, "bootstrapped the first configuration from the cluster file");
}
