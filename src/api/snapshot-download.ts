// GET /v1/snapshot (admin token): the leader streams a backup file (src/node/backup-file.ts) of a FRESH snapshot of
// its state machine. It first completes a ReadIndex round, so the state it captures is at or past every write
// acknowledged before the request arrived, then captures the table as applied at that moment (a committed index)
// and streams it with its checksum. The cluster keeps working meanwhile: the table serializes in slices, and the
// Raft log and the node's own snapshots are not touched. A follower answers NOT_LEADER with the leader's id.
import { createHash } from "node:crypto";
import type { ServerResponse } from "node:http";
import { once } from "node:events";
import type { ReplicaHandle } from "../node/replica-handle.js";
import { backupPrefix, type BackupHeader } from "../node/backup-file.js";
import { RaftschedError } from "../util/errors.js";

const READ_INDEX_TIMEOUT_MS = 5000;
/** The data goes out in slices of this size, each waiting for the socket to drain. */
const WRITE_SLICE_BYTES = 1024 * 1024;

export class SnapshotDownloads {
  /** One download at a time per node: each holds a copy of the whole table in memory. */
  private busy = false;

  constructor(private readonly n: ReplicaHandle) {}

  async serve(res: ServerResponse): Promise<void> {
    const n = this.n;
    if (!n.runner.isLeader) {
      throw new RaftschedError("NOT_LEADER", "only the leader takes a backup; ask it", { leaderId: n.runner.knownLeader });
    }
    if (this.busy) throw new RaftschedError("OVERLOADED", "a backup is already being taken on this node; try again when it is done");
    this.busy = true;
    try {
      await n.runner.readIndex(READ_INDEX_TIMEOUT_MS);
      const counts = n.table.counts(); // with the capture, in the same turn
      const capture = n.captureState();
      const data = await capture.data;
      const header: BackupHeader = {
        cluster: n.cfg.cluster,
        takenBy: n.id,
        takenAt: new Date().toISOString(),
        index: capture.index,
        term: capture.term,
        tasks: Object.values(counts).reduce((a, b) => a + b, 0),
        dataBytes: data.byteLength,
      };
      const hash = createHash("sha256");
      const prefix = backupPrefix(header, hash);
      res.writeHead(200, {
        "content-type": "application/octet-stream",
        "content-length": prefix.length + data.byteLength + 32,
        "content-disposition": `attachment; filename="raftsched-${header.cluster}-${header.index}.backup"`,
        "x-raftsched-snapshot-index": String(header.index),
      });
      await write(res, prefix);
      for (let at = 0; at < data.byteLength; at += WRITE_SLICE_BYTES) {
        const slice = data.subarray(at, Math.min(data.byteLength, at + WRITE_SLICE_BYTES));
        hash.update(slice);
        await write(res, slice);
      }
      res.end(hash.digest());
    } finally {
      this.busy = false;
    }
  }
}

async function write(res: ServerResponse, bytes: Uint8Array): Promise<void> {
  if (res.destroyed) throw new RaftschedError("CLIENT_GONE", "the client closed the connection");
  if (!res.write(bytes)) await Promise.race([once(res, "drain"), once(res, "close")]);
}
