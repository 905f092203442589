// `raftsched snapshot restore`: seeds the data dir of one node of a NEW cluster from a backup file. Run it on every
// node of the new cluster (each gets the same state), then start the nodes as usual.
//
// What the seeded data dir holds: the backup's task table as a snapshot at the backup's index, with the NEW
// cluster's membership (voters and learners from its cluster file) and member urls, a hard state in term 1 that
// has committed that index, and a new storage id (no peer is remembered: the new cluster's nodes meet afresh). The
// old cluster's urls and storage ids are not carried over, so a restored node never dials the old cluster.
//
// Safety: the whole file is checked (backup-file.ts) and its table decoded before anything is written; a data dir
// that exists and is not empty is refused (DATA_DIR_NOT_EMPTY); the store is built in a temporary sibling folder
// and renamed into place, so a failure half-way leaves no data dir behind that a node could start from.
import { closeSync, existsSync, fsyncSync, mkdirSync, openSync, readdirSync, readFileSync, renameSync, rmSync, rmdirSync, statSync } from "node:fs";
import path from "node:path";
import { findNode, type ClusterFile } from "../config/cluster-file.js";
import type { ConfState, Snapshot } from "../raft/types.js";
import { TaskTable } from "../scheduler/table.js";
import { LevelStore } from "../storage/level.js";
import { RaftschedError, errorMessage } from "../util/errors.js";
import { decodeBackup, MAX_BACKUP_BYTES, type BackupHeader } from "./backup-file.js";
import { decodeSnapshotData, encodeSnapshotData } from "./snapshot-data.js";
import { StorageIdentity } from "./storage-identity.js";

/** The term the restored cluster starts in: every restored node has the same log (only the snapshot) in it. */
const RESTORED_TERM = 1;

/** Reads and checks a backup file; nothing else is touched. */
export function readBackupFile(file: string): { header: BackupHeader; data: Buffer; sha256: string; table: TaskTable } {
  let size: number;
  try {
    size = statSync(file).size;
  } catch (err) {
    throw new RaftschedError("BACKUP_UNREADABLE", `BACKUP_UNREADABLE: cannot read ${file}: ${errorMessage(err)}`);
  }
  if (size > MAX_BACKUP_BYTES) throw new RaftschedError("BACKUP_BAD_FORMAT", `BACKUP_BAD_FORMAT: ${file} has ${size} bytes, more than a backup can`);
  const decoded = decodeBackup(readFileSync(file));
  let table: TaskTable;
  try {
    const d = decodeSnapshotData(decoded.data);
    table = d.table.byteLength > 0 ? TaskTable.restore(d.table) : new TaskTable();
  } catch (err) {
    // The checksum matched, so the writer wrote this: a bug, not damage. Still refused, with its reason.
    throw new RaftschedError("BACKUP_BAD_FORMAT", `BACKUP_BAD_FORMAT: the backup's state does not decode: ${errorMessage(err)}`);
  }
  return { ...decoded, table };
}

export interface RestoreResult {
  readonly header: BackupHeader;
  readonly sha256: string;
  readonly dataDir: string;
  readonly storageId: string;
}

/** Seeds `dataDir` for node `id` of the cluster `cfg` describes, from the backup `file`. */
export async function restoreBackup(file: string, cfg: ClusterFile, id: string, dataDir: string): Promise<RestoreResult> {
  findNode(cfg, id); // the node must be in the new cluster's file
  const target = path.resolve(dataDir);
  refuseNonEmpty(target);
  const backup = readBackupFile(file);
  const old = decodeSnapshotData(backup.data);
  const data = encodeSnapshotData({ memberUrls: new Map(cfg.nodes.map((n) => [n.id, n.url])), memberFacts: new Map(), table: old.table });
  const conf: ConfState = {
    voters: cfg.nodes.filter((n) => n.role === "voter").map((n) => n.id).sort(),
    learners: cfg.nodes.filter((n) => n.role === "learner").map((n) => n.id).sort(),
  };
  const index = backup.header.index;
  const snapshot: Snapshot = { meta: { index, term: RESTORED_TERM, conf }, data };

  const staging = `${target}.restoring-${process.pid}`;
  rmSync(staging, { recursive: true, force: true });
  mkdirSync(staging, { recursive: true });
  try {
    const store = await LevelStore.open(staging);
    try {
      await store.persist({ entries: [], snapshot, hardState: { term: RESTORED_TERM, vote: null, commit: index } });
    } finally {
      await store.close();
    }
    const storageId = StorageIdentity.open(staging).selfStorageId;
    refuseNonEmpty(target); // again: someone may have started a node there meanwhile
    if (existsSync(target)) rmdirSync(target); // empty (checked): rename needs the name free
    renameSync(staging, target);
    fsyncDir(path.dirname(target));
    return { header: backup.header, sha256: backup.sha256, dataDir: target, storageId };
  } catch (err) {
    rmSync(staging, { recursive: true, force: true });
    throw err;
  }
}

function refuseNonEmpty(dir: string): void {
  if (!existsSync(dir)) return;
  if (!statSync(dir).isDirectory()) throw new RaftschedError("DATA_DIR_NOT_EMPTY", `DATA_DIR_NOT_EMPTY: ${dir} exists and is not a directory`);
  if (readdirSync(dir).length > 0) {
    throw new RaftschedError("DATA_DIR_NOT_EMPTY", `DATA_DIR_NOT_EMPTY: ${dir} is not empty: restore seeds a new node only (move the old data dir away first)`);
  }
}

function fsyncDir(dir: string): void {
  const fd = openSync(dir, "r");
  try {
    fsyncSync(fd);
  } finally {
    closeSync(fd);
  }
}
