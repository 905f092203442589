// `raftsched chaos --workers N`: N external worker processes (the real `raftsched worker` CLI, capacity 2) against
// the chaos cluster, started with the chaos fault hook on (SIGUSR2 drops a worker's connection) and killed by PID
// when the run ends. After the run their logs are read for the check of worker-attempts.ts.
import { existsSync, readFileSync } from "node:fs";
import { FAULTS_ENV } from "../api/fault-hooks.js";
import { WorkerFleet } from "../process-cluster/worker-processes.js";
import type { ChaosCluster } from "./cluster.js";
import { attemptsOnTwoWorkers, readWorkerLog, type AttemptOnTwoWorkers, type AttemptStart } from "./worker-attempts.js";

export const MAX_CHAOS_WORKERS = 64;
const WORKER_CAPACITY = 2;

export interface WorkerFindings {
  readonly count: number;
  readonly attemptsStarted: number;
  /** Reports the leader refused as stale (a worker frozen past workerTimeoutMs reporting late): fencing at work. */
  readonly reportsRefused: number;
  readonly attemptsOnTwoWorkers: AttemptOnTwoWorkers[];
}

export class ChaosWorkers {
  readonly ids: readonly string[];
  private readonly fleet: WorkerFleet;
  private readonly paused = new Set<string>();

  constructor(cluster: ChaosCluster, count: number) {
    this.ids = Array.from({ length: count }, (_, i) => `chaos-w${i + 1}`);
    this.fleet = new WorkerFleet({
      configPath: cluster.configPath,
      dir: cluster.root,
      env: { ...process.env, RAFTSCHED_TOKEN: cluster.token, [FAULTS_ENV]: "1" },
    });
  }

  startAll(): void {
    for (const id of this.ids) this.start(id);
  }

  start(id: string): void {
    if (!this.isRunning(id)) this.fleet.start(id, { capacity: WORKER_CAPACITY });
  }

  isRunning(id: string): boolean {
    return this.fleet.ids().includes(id) && this.fleet.get(id).running;
  }

  async kill(id: string): Promise<void> {
    this.paused.delete(id);
    if (this.fleet.ids().includes(id)) await this.fleet.get(id).kill();
  }

  pause(id: string): void {
    if (!this.isRunning(id)) return;
    this.fleet.get(id).pause();
    this.paused.add(id);
  }

  resume(id: string): void {
    if (this.isRunning(id)) this.fleet.get(id).resume();
    this.paused.delete(id);
  }

  /** The worker drops its connection (SIGUSR2, honoured with the fault hook on); false when it is not running. */
  disconnect(id: string): boolean {
    return this.isRunning(id) && !this.paused.has(id) && this.fleet.get(id).signal("SIGUSR2");
  }

  /** Every worker resumed and running again. */
  healAll(): void {
    for (const id of this.ids) {
      this.resume(id);
      this.start(id);
    }
  }

  async shutdown(): Promise<void> {
    this.paused.clear();
    await this.fleet.stopAll();
  }

  /** Stops every worker, then reads their logs. */
  async finish(): Promise<WorkerFindings> {
    await this.shutdown();
    const starts: AttemptStart[] = [];
    let refused = 0;
    for (const id of this.ids) {
      const file = this.fleet.logPath(id);
      const log = readWorkerLog(id, existsSync(file) ? readFileSync(file, "utf8") : "");
      starts.push(...log.starts);
      refused += log.refused;
    }
    return { count: this.ids.length, attemptsStarted: starts.length, reportsRefused: refused, attemptsOnTwoWorkers: attemptsOnTwoWorkers(starts) };
  }
}
