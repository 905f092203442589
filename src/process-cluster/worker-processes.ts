// External worker processes (`raftsched worker`, or any command speaking the worker protocol) for the integration
// tests and the demo: spawned through NodeProcess (log file, PID tracking, signals by PID only), so the exit hook
// of src/util/child-pids.ts covers them as it covers nodes.
import path from "node:path";
import { NodeProcess, RAFTSCHED_BIN, type NodeExit } from "./node-process.js";

export interface WorkerSpec {
  readonly capacity?: number;
  readonly tags?: readonly string[];
  /** A handler module (default export `async (task) => result`). */
  readonly handler?: string;
  /** Instead of `raftsched worker`: the whole command line (a Python worker). */
  readonly argv?: readonly string[];
}

export interface WorkerFleetOptions {
  readonly configPath: string;
  /** Log files go here: <dir>/<id>.log. */
  readonly dir: string;
  readonly env?: NodeJS.ProcessEnv;
  readonly cwd?: string;
  readonly onPid?: (pid: number, event: "spawned" | "exited") => void;
}

export class WorkerFleet {
  private readonly procs = new Map<string, NodeProcess>();

  constructor(private readonly o: WorkerFleetOptions) {}

  /** The argv of `raftsched worker` for `id`. */
  argvOf(id: string, spec: WorkerSpec = {}): string[] {
    const argv = [process.execPath, RAFTSCHED_BIN, "worker", "--config", this.o.configPath, "--id", id];
    if (spec.capacity !== undefined) argv.push("--capacity", String(spec.capacity));
    if (spec.tags !== undefined && spec.tags.length > 0) argv.push("--tags", spec.tags.join(","));
    if (spec.handler !== undefined) argv.push("--handler", spec.handler);
    return argv;
  }

  start(id: string, spec: WorkerSpec = {}): NodeProcess {
    const before = this.procs.get(id);
    if (before?.running) throw new Error(`worker ${id} is already running`);
    const proc = NodeProcess.spawn({
      id,
      configPath: this.o.configPath,
      dataDir: path.join(this.o.dir, "workers", id),
      logFile: this.logPath(id),
      argv: spec.argv ?? this.argvOf(id, spec),
      ...(this.o.env ? { env: this.o.env } : {}),
      ...(this.o.cwd ? { cwd: this.o.cwd } : {}),
      ...(this.o.onPid ? { onPid: this.o.onPid } : {}),
      banner: `--- worker ${id} started at ${new Date().toISOString()} ---`,
    });
    this.procs.set(id, proc);
    return proc;
  }

  get(id: string): NodeProcess {
    const p = this.procs.get(id);
    if (p === undefined) throw new Error(`no worker ${id}`);
    return p;
  }

  logPath(id: string): string {
    return path.join(this.o.dir, "workers", `${id}.log`);
  }

  ids(): string[] {
    return [...this.procs.keys()];
  }

  /** SIGTERM (a drain) and the exit, SIGKILL after graceMs. */
  stop(id: string, graceMs = 15_000): Promise<NodeExit> {
    return this.get(id).stop(graceMs);
  }

  async stopAll(): Promise<void> {
    await Promise.all([...this.procs.values()].map((p) => p.kill()));
  }
}
