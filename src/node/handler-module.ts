// The task handler a node runs when it is given none in code: the cluster file's `handler` module (its default
// export), resolved against the cluster file's directory. A module that cannot load refuses the start with
// BAD_HANDLER before the node talks to any peer.
import path from "node:path";
import { pathToFileURL } from "node:url";
import type { ClusterFile } from "../config/cluster-file.js";
import { RaftschedError, errorMessage } from "../util/errors.js";
import type { TaskHandler } from "./task-executor.js";

/** The cluster file's handler, or null when it names none (the executor keeps its built-in sleep/fail handler). */
export async function loadHandlerModule(cfg: ClusterFile): Promise<TaskHandler | null> {
  if (!cfg.handler) return null;
  const base = cfg.path ? path.dirname(cfg.path) : process.cwd();
  return await importHandlerFunction<TaskHandler>(path.resolve(base, cfg.handler));
}

/** The default export of the module at `file`, which must be a function (a node's or an external worker's handler). */
export async function importHandlerFunction<F>(file: string): Promise<F> {
  let mod: { default?: unknown };
  try {
    mod = (await import(pathToFileURL(file).href)) as { default?: unknown };
  } catch (err) {
    throw new RaftschedError("BAD_HANDLER", `cannot load handler module ${file}: ${errorMessage(err)}`);
  }
  if (typeof mod.default !== "function") throw new RaftschedError("BAD_HANDLER", `${file} has no default export function`);
  return mod.default as F;
}
