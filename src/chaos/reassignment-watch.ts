// How fast a lost worker's tasks move on: before a fault takes a worker away (a member killed, frozen or cut off,
// or an external worker killed or frozen), the tasks assigned to it are read; then, in the background, the table
// is polled until each of them has left that worker (reassigned with a new attempt, or finished). The samples feed
// the verdict's "worker-loss reassignment" line. Measurement only: nothing here is a check.
import type { ChaosCluster, ChaosNode } from "./cluster.js";
import { requestJson, sleep } from "./http.js";

export interface ReassignmentSample {
  readonly faultIndex: number;
  readonly worker: string;
  readonly tasks: number;
  /** Per task: ms from the fault to the task leaving the lost worker (reassigned or finished); missing ones
   *  had not moved when the watch ended. */
  readonly movedMs: number[];
}

export interface ReassignmentWatchOptions {
  readonly cluster: ChaosCluster;
  readonly clock: () => number;
  /** The current leader (waiting up to `timeoutMs`), or null. */
  readonly findLeader: (timeoutMs: number) => Promise<ChaosNode | null>;
}

export class ReassignmentWatch {
  readonly samples: ReassignmentSample[] = [];
  private readonly watches: Promise<void>[] = [];

  constructor(private readonly o: ReassignmentWatchOptions) {}

  /** Tasks assigned to `worker` (attempt by id), read from a node's local table; `lost` (a member that is the
   *  worker) is not asked. Null when no node answered. */
  async assignedTo(worker: string, lost: ChaosNode | null): Promise<Map<string, number> | null> {
    const c = this.o.cluster;
    for (const n of c.nodes.filter((x) => x !== lost && c.isRunning(x) && !x.paused)) {
      const tasks = await this.assignedOn(n, worker);
      if (tasks !== null) return tasks;
    }
    return null;
  }

  /** In the background: when does each of `assigned` leave `worker`? (The fault began at `startMs`.) */
  watch(faultIndex: number, startMs: number, worker: string, lost: ChaosNode | null, assigned: Map<string, number> | null): void {
    if (assigned === null || assigned.size === 0) return;
    const sample: ReassignmentSample = { faultIndex, worker, tasks: assigned.size, movedMs: [] };
    this.samples.push(sample);
    const c = this.o.cluster;
    const limitMs = 3 * c.workerTimeoutMs + 10_000;
    this.watches.push(
      (async () => {
        const remaining = new Map(assigned);
        while (remaining.size > 0 && this.o.clock() - startMs < limitMs) {
          await sleep(50);
          const leader = await this.o.findLeader(0);
          const from = leader && leader !== lost ? leader : c.nodes.find((n) => n !== lost && c.isRunning(n) && !n.paused);
          const still = from ? await this.assignedOn(from, worker) : null;
          if (still === null) continue;
          const now = this.o.clock();
          for (const [id, attempt] of remaining) {
            if (still.get(id) !== attempt) {
              remaining.delete(id);
              sample.movedMs.push(now - startMs);
            }
          }
        }
      })(),
    );
  }

  /** Waits for the background watches. */
  async settle(): Promise<void> {
    await Promise.all(this.watches);
  }

  private async assignedOn(n: ChaosNode, worker: string): Promise<Map<string, number> | null> {
    const r = await requestJson(`${n.url}/v1/tasks?worker=${encodeURIComponent(worker)}&state=assigned&stale=true&limit=1000`, { timeoutMs: 500 });
    const tasks = (r.body as { tasks?: Array<{ id: string; attempt: number }> } | null)?.tasks;
    return r.status === 200 && Array.isArray(tasks) ? new Map(tasks.map((t) => [t.id, t.attempt])) : null;
  }
}
