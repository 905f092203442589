// `raftsched up`'s external workers: with --demo it starts two (`raftsched worker` processes, logs beside the
// nodes'), and the live view lists every external worker the leader knows, in one line under the node table.
import { WorkerFleet } from "../process-cluster/worker-processes.js";

export const DEMO_WORKER_IDS = ["demo-worker-1", "demo-worker-2"] as const;
const DEMO_WORKER_CAPACITY = 2;

/** Starts the demo's external workers; `stop()` drains them (SIGTERM) and waits for their exit. */
export function startDemoWorkers(configPath: string, dataRoot: string): { stop(): Promise<void> } {
  const fleet = new WorkerFleet({ configPath, dir: dataRoot });
  for (const id of DEMO_WORKER_IDS) fleet.start(id, { capacity: DEMO_WORKER_CAPACITY, tags: ["demo"] });
  return {
    stop: async () => {
      await Promise.all(DEMO_WORKER_IDS.map((id) => fleet.stop(id, 10_000)));
    },
  };
}

interface WorkerRow {
  readonly id: string;
  readonly kind?: string;
  readonly alive: boolean;
  readonly active: number;
  readonly capacity: number;
}

/** "external workers: demo-worker-1 alive 1/2, demo-worker-2 dead 0/2", or null when there is none. */
export function externalWorkersLine(workers: readonly WorkerRow[]): string | null {
  const external = workers.filter((w) => w.kind === "external");
  if (external.length === 0) return null;
  const shown = external.slice(0, 8).map((w) => `${w.id} ${w.alive ? "alive" : "dead"} ${w.active}/${w.capacity}`);
  const more = external.length > shown.length ? ` (+${external.length - shown.length} more)` : "";
  return `external workers: ${shown.join(", ")}${more}`;
}
