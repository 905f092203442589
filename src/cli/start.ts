// `raftsched start`: one node in the foreground until SIGINT/SIGTERM (graceful: a leader hands over first) or
// SIGKILL (a crash the node recovers from on restart).
import { findNode, loadClusterFile } from "../config/cluster-file.js";
import { startNode } from "../server.js";
import { parseArgs, stringFlag } from "./args.js";
import { RaftschedError } from "../util/errors.js";

/** How long a node that hit a fatal error may take to close before the process exits regardless. */
const FATAL_CLOSE_GRACE_MS = 5_000;

export async function startCommand(argv: readonly string[]): Promise<number> {
  const args = parseArgs(argv, { config: "string", id: "string", "data-dir": "string", join: "boolean", pretty: "boolean" }, "start");
  const configPath = stringFlag(args, "config");
  const id = stringFlag(args, "id");
  if (!configPath) throw new RaftschedError("BAD_ARGS", "start: --config <cluster-file> is required");
  if (!id) throw new RaftschedError("BAD_ARGS", "start: --id <nodeId> is required");
  const cfg = loadClusterFile(configPath);
  findNode(cfg, id);
  const node = await startNode({
    config: cfg,
    id,
    dataDir: stringFlag(args, "data-dir") ?? `data/${id}`,
    join: args.flags.join === true,
    pretty: args.flags.pretty === true,
  });
  return await new Promise<number>((resolve) => {
    let closing = false;
    const shutdown = (signal: string): void => {
      if (closing) return;
      closing = true;
      node.logger.info({ signal }, "shutting down");
      node.close({ handOver: true }).then(
        () => resolve(0),
        (err) => {
          node.logger.error({ err }, "unclean shutdown");
          resolve(1);
        },
      );
    };
    process.on("SIGINT", () => shutdown("SIGINT"));
    process.on("SIGTERM", () => shutdown("SIGTERM"));
    // SIGHUP re-reads the TLS certificates (systemd's ExecReload); without TLS it is logged and ignored, never a stop.
    process.on("SIGHUP", () => {
      if (!node.reloadTls()) node.logger.warn("SIGHUP: no TLS certificates were reloaded");
    });
    node.onRemoved(() => {
      node.logger.warn("removed from the cluster; exiting");
      node.close().then(
        () => resolve(0),
        () => resolve(0),
      );
    });
    node.onFatal(() => {
      // The runner logged the one fatal line (with its code: STORAGE_NO_SPACE, STORAGE_IO_ERROR, ...). Stop serving
      // and release the data dir, so the process exits instead of lingering as a node that answers nothing; what was
      // acknowledged is on disk already. A close that hangs (a disk that never answers) must not keep it alive.
      if (closing) return;
      closing = true;
      setTimeout(() => process.exit(70), FATAL_CLOSE_GRACE_MS).unref();
      node.close().then(
        () => resolve(70),
        () => resolve(70),
      );
    });
  });
}
