// The demo workload behind `npm start`: a steady trickle of tasks that sleep for a few seconds, so the live view
// shows work spreading over the nodes — and moving away from a node you kill.
import type { ClusterFile } from "../config/cluster-file.js";
import { httpJson } from "./http-client.js";

export interface DemoWorkload {
  stop(): void;
  summary(): string;
}

const SUBMIT_EVERY_MS = 250;
/** Keep the cluster about this busy: enough to see load move, never enough to queue forever. */
const TARGET_BUSY_FRACTION = 0.75;

/** `liveUrls` names the nodes worth trying (the live view knows which children are up). */
export function startDemoWorkload(cfg: ClusterFile, liveUrls: () => string[], rng: () => number = Math.random): DemoWorkload {
  let submitted = 0;
  let failed = 0;
  let lastError = "";
  let seq = 0;
  let stopped = false;
  const runId = Date.now().toString(36);
  const capacity = cfg.nodes.filter((n) => n.worker).reduce((s, n) => s + n.capacity, 0);
  // Sleep time is chosen so the steady state holds about TARGET_BUSY_FRACTION of capacity.
  const meanSleepMs = Math.max(500, Math.round((capacity * TARGET_BUSY_FRACTION * SUBMIT_EVERY_MS)));

  const tick = async (): Promise<void> => {
    if (stopped) return;
    const urls = liveUrls();
    if (urls.length === 0) return;
    const id = `demo-${runId}-${++seq}`;
    const sleepMs = Math.round(meanSleepMs * (0.5 + rng()));
    // Like a careful client: retry the same id (idempotent) on the other live nodes before giving up.
    const first = Math.floor(rng() * urls.length);
    for (let k = 0; k < urls.length; k++) {
      const url = urls[(first + k) % urls.length]!;
      try {
        const r = await httpJson(`${url}/v1/tasks`, { body: { id, payload: { sleepMs } }, token: cfg.token, timeoutMs: 3000 });
        if (r.status === 201 || r.status === 200) {
          submitted++;
          return;
        }
        lastError = `${r.status} ${JSON.stringify(r.body).slice(0, 80)}`;
      } catch (err) {
        lastError = (err as Error).message;
      }
    }
    failed++;
  };
  const timer = setInterval(() => void tick(), SUBMIT_EVERY_MS);
  return {
    stop() {
      stopped = true;
      clearInterval(timer);
    },
    summary() {
      return `demo workload: ${submitted} tasks submitted (sleep ~${meanSleepMs} ms each), ${failed} submit errors${failed && lastError ? ` (last: ${lastError})` : ""}`;
    },
  };
}
