// `raftsched start`: one node in the foreground until SIGINT/SIGTERM (graceful: a leader hands over first) or
// SIGKILL (a crash the node recovers from on restart).
import { findNode, loadClusterFile } from "../config/cluster-file.js";
import { startNode } from "../server.js";
import { parseArgs, stringFlag } from "./args.js";
import { RaftschedError } from "../util/errors.js";

/** How long a node that hit a fatal error may take to close before the process exits regardless. */
const FATAL_CLOSE_GRACE_MS = 5_000;
/** Once the node has closed, the process should end as soon as its last callbacks ran; a handle still open this
 *  long after (a socket or timer something forgot to release) is named in the log and the process exits anyway, so a
 *  supervisor's stop timeout never has to SIGKILL a node that already stopped cleanly. */
const EXIT_AFTER_CLOSE_MS = 1_000;

/** Sockets and servers still open, with their ports, so the log says which connection was left (Node has no public
 *  API for this; the diagnostic is best-effort and names only the kind when it cannot say more). */
function describeOpenHandles(): string[] {
  const handles = (process as unknown as { _getActiveHandles?: () => unknown[] })._getActiveHandles?.() ?? [];
  return handles.slice(0, 20).map((h) => {
    const s = h as { constructor?: { name?: string }; localPort?: number; remoteAddress?: string; remotePort?: number; fd?: number };
    const kind = s.constructor?.name ?? typeof h;
    if (s.remotePort !== undefined) return `${kind} :${s.localPort} -> ${s.remoteAddress}:${s.remotePort}`;
    return s.fd !== undefined ? `${kind} fd ${s.fd}` : kind;
  });
}

/** The process ends with `code` once the node is closed: by itself, or after EXIT_AFTER_CLOSE_MS at the latest. */
function exitOnceClosed(node: { logger: { warn(o: object, msg: string): void } }, code: number): number {
  setTimeout(() => {
    node.logger.warn({ code: "LINGERING_HANDLES", resources: process.getActiveResourcesInfo(), handles: describeOpenHandles() }, "still running after the node stopped; exiting");
    process.exit(code);
  }, EXIT_AFTER_CLOSE_MS).unref();
  return code;
}

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
        () => resolve(exitOnceClosed(node, 0)),
        (err) => {
          node.logger.error({ err }, "unclean shutdown");
          resolve(exitOnceClosed(node, 1));
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
        () => resolve(exitOnceClosed(node, 0)),
        () => resolve(exitOnceClosed(node, 0)),
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
