// One child process of `npm run bench:workers` (workers.ts): hosts a share of the external workers, each an SDK
// Worker (`raftsched/worker`, src/worker) with a no-op handler, so the driver process is not what limits them.
// Talks to its parent over IPC: "ready" once every worker registered, its counts when asked, and it exits when the
// parent says "stop" or goes away (IPC disconnect), so no worker outlives the benchmark.
import { Worker } from "../../src/worker/index.js";

interface HostArgs {
  readonly urls: string[];
  readonly token: string;
  readonly ids: string[];
  readonly capacity: number;
}

const args = JSON.parse(process.argv[2] ?? "{}") as HostArgs;
const send = (m: unknown): void => void process.send?.(m);
const workers = args.ids.map(
  (id) =>
    new Worker({
      urls: args.urls,
      token: args.token,
      id,
      capacity: args.capacity,
      // BullMQ's anchor runs a no-op processor; this is the same: the task's whole cost is the system's.
      handler: () => ({ ok: true }),
    }),
);

async function main(): Promise<void> {
  const started = await Promise.allSettled(workers.map((w) => w.start()));
  const failed = started.filter((r) => r.status === "rejected").map((r) => String((r as PromiseRejectedResult).reason));
  send({ type: "ready", workers: workers.length, failed: failed.slice(0, 3), failedCount: failed.length });
}

const counts = () => workers.reduce((a, w) => ({ completed: a.completed + w.counts.completed, failed: a.failed + w.counts.failed, refused: a.refused + w.counts.refused }), { completed: 0, failed: 0, refused: 0 });

async function stop(): Promise<void> {
  await Promise.allSettled(workers.map((w) => w.close()));
  process.exit(0);
}

process.on("message", (m: { type?: string }) => {
  if (m?.type === "counts") send({ type: "counts", ...counts(), cpuMs: (process.cpuUsage().user + process.cpuUsage().system) / 1000 });
  if (m?.type === "stop") void stop();
});
process.on("disconnect", () => void stop());
main().catch((err) => {
  send({ type: "ready", workers: 0, failed: [String(err)], failedCount: workers.length });
});
