// `raftsched worker`: one external worker in the foreground (CONTRACT, "Workers outside the cluster"). It connects
// to the nodes of the cluster file (RAFTSCHED_TOKEN overrides the file's token as for nodes), runs its assignments
// with --handler's default export (else the built-in { sleepMs?, fail? } handler) and reports back.
// SIGINT/SIGTERM drain it: nothing new is taken, what runs finishes (or, past the grace period, is given back:
// the leader reassigns it once the worker is gone) and it exits 0.
import { importHandlerFunction } from "../node/handler-module.js";
import path from "node:path";
import pino from "pino";
import { loadClusterFile } from "../config/cluster-file.js";
import { faultsEnabled } from "../api/fault-hooks.js";
import { defaultHandler, type TaskContext } from "../node/task-executor.js";
import type { JsonValue } from "../scheduler/types.js";
import { RaftschedError, errorMessage } from "../util/errors.js";
import { Worker, type WorkerHandler } from "../worker/index.js";
import { parseArgs, parseDurationMs, stringFlag } from "./args.js";

const SPEC = { config: "string", id: "string", capacity: "string", tags: "string", handler: "string", "drain-grace": "string" } as const;

export async function workerCommand(argv: readonly string[]): Promise<number> {
  const args = parseArgs(argv, SPEC, "worker");
  const configPath = stringFlag(args, "config");
  const id = stringFlag(args, "id");
  if (!configPath) throw new RaftschedError("BAD_ARGS", "worker: --config <cluster-file> is required");
  if (!id) throw new RaftschedError("BAD_ARGS", "worker: --id <workerId> is required");
  const capacityText = stringFlag(args, "capacity") ?? "1";
  const capacity = Number(capacityText);
  if (!Number.isSafeInteger(capacity) || capacity < 1 || capacity > 1000) throw new RaftschedError("BAD_ARGS", "worker: --capacity must be an integer in 1..1000");
  const tags = (stringFlag(args, "tags") ?? "").split(",").map((t) => t.trim()).filter((t) => t.length > 0);
  const drainText = stringFlag(args, "drain-grace");
  const cfg = loadClusterFile(configPath);
  const handlerPath = stringFlag(args, "handler");
  const handler = handlerPath ? await loadHandler(handlerPath) : builtInHandler;
  const logger = pino({ base: { worker: id }, level: process.env.RAFTSCHED_LOG_LEVEL ?? "info" });
  const worker = new Worker({
    urls: cfg.nodes.map((n) => n.url),
    token: cfg.token,
    id,
    capacity,
    tags,
    handler,
    ...(drainText ? { drainGraceMs: parseDurationMs(drainText, "--drain-grace") } : {}),
    log: (level, message, fields) => logger[level](fields ?? {}, message),
  });
  const exit = new Promise<number>((resolve) => {
    let closing = false;
    const shutdown = (signal: string): void => {
      if (closing) return;
      closing = true;
      logger.info({ signal, active: worker.active }, "draining");
      worker.close({ drain: true }).then(
        () => {
          logger.info({ counts: worker.counts }, "worker stopped");
          resolve(0);
        },
        (err) => {
          logger.error({ err: errorMessage(err) }, "unclean stop");
          resolve(1);
        },
      );
    };
    process.on("SIGINT", () => shutdown("SIGINT"));
    process.on("SIGTERM", () => shutdown("SIGTERM"));
  });
  // `raftsched chaos --workers` (fault worker-disconnect): SIGUSR2 drops the connection as a network failure would.
  // Only with the chaos fault hooks enabled; a production worker keeps SIGUSR2's default.
  if (faultsEnabled()) process.on("SIGUSR2", () => worker.dropConnection());
  // start() resolves on the first registration and rejects on a refusal no retry fixes (wrong token, a member's id).
  await worker.start();
  logger.info({ capacity, tags }, "worker started");
  return await exit;
}

/** The node's built-in handler, for a worker: `{ sleepMs?, fail? }`. */
const builtInHandler: WorkerHandler = (task) =>
  defaultHandler({ id: task.id, attempt: task.attempt, payload: task.payload as JsonValue, priority: 0, maxAttempts: 1, signal: task.signal,
    progress: (value) => task.progress(value) } satisfies TaskContext);

async function loadHandler(file: string): Promise<WorkerHandler> {
  return await importHandlerFunction<WorkerHandler>(path.resolve(file));
}
