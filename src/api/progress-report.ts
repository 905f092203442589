// POST /v1/tasks/:id/progress on a node: checked here, kept by the leader (src/node/task-progress.ts), forwarded
// by a follower (one hop, as every write).
import { acceptProgress, parseProgressBody } from "../node/task-progress.js";
import type { ReplicaHandle } from "../node/replica-handle.js";

export async function reportProgressOn(
  n: ReplicaHandle,
  id: string,
  body: unknown,
  awaitLeader: () => Promise<void>,
  forward: (path: string, body: unknown) => Promise<unknown>,
): Promise<unknown> {
  const report = parseProgressBody(body);
  await awaitLeader();
  if (n.runner.isLeader) return acceptProgress(n.table.getTask(id), id, report, n.duties.progress);
  return await forward(`/v1/tasks/${encodeURIComponent(id)}/progress`, report);
}
