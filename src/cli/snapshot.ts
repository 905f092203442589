// `raftsched snapshot save <file> [--config <cluster-file>]`: asks the leader for a backup (GET /v1/snapshot, admin
// token) and writes it to <file>: streamed to <file>.part, checked as restore will check it, then renamed, so
// <file> is always a whole, verified backup (or the one that was there before).
// `raftsched snapshot restore <file> --config <cluster-file> --id <id> --data-dir <dir>`: seeds a new cluster's
// node from a backup (src/node/backup-restore.ts). README "Backup and restore".
import { createWriteStream, renameSync, rmSync } from "node:fs";
import { Readable } from "node:stream";
import { pipeline } from "node:stream/promises";
import { loadClusterFile, type ClusterFile } from "../config/cluster-file.js";
import { readBackupFile, restoreBackup } from "../node/backup-restore.js";
import { RaftschedError, errorMessage } from "../util/errors.js";
import { configPathOr, parseArgs, stringFlag } from "./args.js";
import { nodesInCallOrder } from "./node-order.js";
import { clusterFetch } from "../tls/cluster-fetch.js";

/** A backup of a large table takes a while to serialize and send; past this the save gives up. */
const SAVE_TIMEOUT_MS = 10 * 60_000;

const USAGE = "snapshot save <file> [--config <cluster-file>] | snapshot restore <file> --config <cluster-file> --id <id> --data-dir <dir>";

export async function snapshotCommand(argv: readonly string[]): Promise<number> {
  const args = parseArgs(argv, { config: "string", id: "string", "data-dir": "string" }, "snapshot");
  const [action, file, extra] = args.positional;
  if (!file || extra !== undefined) throw new RaftschedError("BAD_ARGS", `usage: ${USAGE}`);
  if (action === "save") {
    if (args.flags.id !== undefined || args.flags["data-dir"] !== undefined) throw new RaftschedError("BAD_ARGS", "snapshot save takes only <file> and --config");
    return save(loadClusterFile(configPathOr(stringFlag(args, "config"))), file);
  }
  if (action === "restore") {
    const config = stringFlag(args, "config");
    const id = stringFlag(args, "id");
    const dataDir = stringFlag(args, "data-dir");
    // No defaults here: restoring into the wrong cluster file or data dir is not a mistake to make by omission.
    if (!config || !id || !dataDir) throw new RaftschedError("BAD_ARGS", "snapshot restore needs --config, --id and --data-dir");
    const r = await restoreBackup(file, loadClusterFile(config), id, dataDir);
    process.stdout.write(
      `restored ${r.header.tasks} tasks (index ${r.header.index} of cluster "${r.header.cluster}", taken ${r.header.takenAt}, sha256 ${r.sha256}) ` +
        `into ${r.dataDir} for node ${id}, storage id ${r.storageId}\n` +
        `start it with: raftsched start --config ${config} --id ${id} --data-dir ${dataDir}\n`,
    );
    return 0;
  }
  throw new RaftschedError("BAD_ARGS", `usage: ${USAGE}`);
}

async function save(cfg: ClusterFile, file: string): Promise<number> {
  const part = `${file}.part`;
  let last = "no node answered";
  for (const node of await nodesInCallOrder(cfg)) {
    try {
      const res = await clusterFetch(`${node.url}/v1/snapshot`, {
        headers: { authorization: `Bearer ${cfg.token}` },
        signal: AbortSignal.timeout(SAVE_TIMEOUT_MS),
      });
      if (res.status !== 200 || !res.body) {
        const body = (await res.json().catch(() => null)) as { error?: { code?: string; message?: string } } | null;
        const code = body?.error?.code ?? `HTTP_${res.status}`;
        if (code === "UNAUTHORIZED") throw new RaftschedError(code, `${node.id}: ${body?.error?.message ?? "refused the token"}`);
        last = `${node.id}: ${code}: ${body?.error?.message ?? res.statusText}`;
        continue; // a follower (NOT_LEADER), a node mid-election: the next one
      }
      await pipeline(Readable.fromWeb(res.body as import("node:stream/web").ReadableStream), createWriteStream(part));
      const b = readBackupFile(part); // exactly the checks restore makes: a file saved is a file restore takes
      renameSync(part, file);
      process.stdout.write(`saved ${b.header.tasks} tasks at index ${b.header.index} from ${b.header.takenBy} to ${file} (${b.data.byteLength} bytes of state, sha256 ${b.sha256})\n`);
      return 0;
    } catch (err) {
      rmSync(part, { force: true });
      // A download cut short (the leader died, lost its leadership) is tried on the next node; a wrong token is not.
      if (err instanceof RaftschedError && err.code === "UNAUTHORIZED") throw err;
      last = `${node.id}: ${errorMessage(err)}`;
    }
  }
  throw new RaftschedError("UNREACHABLE", `no leader gave a backup (${last})`);
}
