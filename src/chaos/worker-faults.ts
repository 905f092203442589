// The nemesis's faults on external workers (`raftsched chaos --workers N`), one worker at a time:
//   worker-kill        kill -9 a worker, start it again (same id) after 0.5-2.5 × workerTimeoutMs: sometimes
//                      before the leader declares it dead (it gets its assignments back), mostly after (its tasks
//                      were reassigned with attempt + 1)
//   worker-pause       SIGSTOP a worker past workerTimeoutMs, then SIGCONT: it is declared dead meanwhile, its
//                      late reports must be refused and its attempts aborted
//   worker-disconnect  the worker drops its socket (SIGUSR2 through the chaos fault hook) and reconnects
// Which worker and how long come from the nemesis's seeded stream.
import type { ChaosWorkers } from "./chaos-workers.js";
import type { FaultRecord, WorkerFaultKind } from "./fault-kinds.js";
import { sleep } from "./http.js";
import type { ReassignmentWatch } from "./reassignment-watch.js";

/** What a worker fault needs of the nemesis. */
export interface WorkerFaultContext {
  readonly workers: ChaosWorkers;
  readonly workerTimeoutMs: number;
  readonly rng: () => number;
  readonly clock: () => number;
  readonly watch: ReassignmentWatch;
  /** Records the fault (and logs it); `endMs` is set when it is healed. */
  readonly startRecord: (workerIds: string[], detail: string) => FaultRecord;
  readonly faultIndex: (rec: FaultRecord) => number;
}

export async function injectWorkerFault(kind: WorkerFaultKind, x: WorkerFaultContext): Promise<void> {
  const w = x.workerTimeoutMs;
  const between = (lo: number, hi: number): number => lo + x.rng() * (hi - lo);
  const id = x.workers.ids[Math.floor(x.rng() * x.workers.ids.length)]!;
  if (kind === "worker-disconnect") {
    const rec = x.startRecord([id], `${id} drops its connection`);
    if (!x.workers.disconnect(id)) x.workers.start(id);
    await sleep(between(300, 1000)); // it reconnects meanwhile
    rec.endMs = x.clock();
    return;
  }
  const holdMs = kind === "worker-kill" ? between(0.5 * w, 2.5 * w) : between(1.5 * w, 3 * w);
  const assigned = await x.watch.assignedTo(id, null);
  const rec = x.startRecord([id], `${id} ${kind === "worker-kill" ? "killed, down" : "frozen"} ${Math.round(holdMs)} ms`);
  if (kind === "worker-kill") await x.workers.kill(id);
  else x.workers.pause(id);
  x.watch.watch(x.faultIndex(rec), rec.startMs, id, null, assigned);
  await sleep(holdMs);
  if (kind === "worker-kill") x.workers.start(id);
  else x.workers.resume(id);
  rec.endMs = x.clock();
}
