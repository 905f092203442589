// One `raftsched start` child process: the single place that spawns a node of this project, for the integration
// and fuzz harnesses, chaos, and the benchmarks. It appends the node's stdout and stderr to a log file, tracks the
// PID (so the exit hook of src/util/child-pids.ts SIGKILLs it if this process dies first), and signals it only
// by that PID: stop (SIGTERM, then SIGKILL after a grace period), kill (SIGKILL), pause/resume (SIGSTOP/SIGCONT).
import { spawn, type ChildProcess } from "node:child_process";
import { closeSync, createWriteStream, mkdirSync, openSync, writeSync } from "node:fs";
import path from "node:path";
import { fileURLToPath } from "node:url";
import { trackChildPid, untrackChildPid } from "../util/child-pids.js";

/** The compiled CLI every node runs (dist/… → ../../bin/raftsched.js, src/… under tsx/vitest → the same). */
export const RAFTSCHED_BIN = path.resolve(path.dirname(fileURLToPath(import.meta.url)), "../../bin/raftsched.js");

/** How long a graceful stop waits before SIGKILL, unless told otherwise. */
export const DEFAULT_STOP_GRACE_MS = 3_000;

export interface NodeExit {
  readonly code: number | null;
  readonly signal: NodeJS.Signals | null;
}

export interface NodeProcessSpec {
  readonly id: string;
  readonly configPath: string;
  readonly dataDir: string;
  /** stdout and stderr are appended here. */
  readonly logFile: string;
  /** Start with --join (an empty data dir waits to be added by a member). */
  readonly join?: boolean;
  /** The child's whole environment (default: this process's). */
  readonly env?: NodeJS.ProcessEnv;
  readonly cwd?: string;
  /** A line written to the log file before the node's own output (which start this is, for a reader of the log). */
  readonly banner?: string;
  /** Runs the node under a wrapper (chaos --netns: `ip netns exec …`), given the plain argv. */
  readonly wrap?: (argv: readonly string[]) => { cmd: string; args: string[] };
  /** Sees what the node writes to stderr (it still goes to the log file too): `up` shows why a node failed. */
  readonly onStderr?: (text: string) => void;
  /** Told the PID after the spawn and again at the exit (the test harness's reaper process). */
  readonly onPid?: (pid: number, event: "spawned" | "exited") => void;
  /** Flags for node itself before the CLI script (the benchmark's `--cpu-prof …`). */
  readonly nodeArgs?: readonly string[];
  /** Another command instead of `raftsched start …` (an external worker: worker-processes.ts). */
  readonly argv?: readonly string[];
}

export class NodeProcess {
  readonly id: string;
  readonly pid: number;
  readonly child: ChildProcess;
  /** Resolves once the process has exited (or could not be spawned: code null, signal null). */
  readonly exited: Promise<NodeExit>;
  exitInfo: NodeExit | null = null;
  paused = false;

  private constructor(id: string, child: ChildProcess, pid: number, onPid: NodeProcessSpec["onPid"]) {
    this.id = id;
    this.child = child;
    this.pid = pid;
    this.exited = new Promise<NodeExit>((resolve) => {
      const done = (info: NodeExit): void => {
        if (this.exitInfo !== null) return;
        untrackChildPid(pid);
        onPid?.(pid, "exited");
        this.exitInfo = info;
        this.paused = false;
        resolve(info);
      };
      child.once("exit", (code, signal) => done({ code, signal }));
      child.once("error", () => done({ code: null, signal: null }));
    });
  }

  /** Spawns the node. Throws when the OS gives no PID (the command could not be started). */
  static spawn(spec: NodeProcessSpec): NodeProcess {
    mkdirSync(path.dirname(spec.logFile), { recursive: true });
    mkdirSync(path.dirname(spec.dataDir), { recursive: true });
    const argv = spec.argv
      ? [...spec.argv]
      : [process.execPath, ...(spec.nodeArgs ?? []), RAFTSCHED_BIN, "start", "--config", spec.configPath, "--id", spec.id, "--data-dir", spec.dataDir];
    if (spec.join && !spec.argv) argv.push("--join");
    const { cmd, args } = spec.wrap ? spec.wrap(argv) : { cmd: argv[0]!, args: argv.slice(1) };
    const child = spec.onStderr ? spawnPiped(spec, cmd, args, spec.onStderr) : spawnToFile(spec, cmd, args);
    const pid = child.pid;
    if (pid === undefined) throw new Error(`could not spawn node ${spec.id}`);
    trackChildPid(pid);
    spec.onPid?.(pid, "spawned");
    return new NodeProcess(spec.id, child, pid, spec.onPid);
  }

  get running(): boolean {
    return this.exitInfo === null;
  }

  /** Sends a signal by PID; false when the process is already gone. */
  signal(signal: NodeJS.Signals): boolean {
    if (this.exitInfo !== null) return false;
    try {
      process.kill(this.pid, signal);
      return true;
    } catch {
      return false; // exited between the check and the kill
    }
  }

  /** SIGSTOP: a GC-pause-like freeze. */
  pause(): void {
    if (this.paused || !this.signal("SIGSTOP")) return;
    this.paused = true;
  }

  resume(): void {
    if (!this.paused) return;
    this.signal("SIGCONT");
    this.paused = false;
  }

  /** SIGKILL (works on a stopped process too), and waits until the process is gone (its port is free again). */
  async kill(): Promise<NodeExit> {
    this.signal("SIGKILL");
    return await this.exited;
  }

  /** SIGCONT (a stopped process cannot shut down) and `signal` (SIGTERM: the node hands leadership over and closes
   *  its store), then SIGKILL after `graceMs`; resolves at the exit. */
  async stop(graceMs = DEFAULT_STOP_GRACE_MS, signal: NodeJS.Signals = "SIGTERM"): Promise<NodeExit> {
    if (this.exitInfo !== null) return this.exitInfo;
    this.resume();
    this.signal("SIGCONT");
    this.signal(signal);
    const hard = setTimeout(() => this.signal("SIGKILL"), graceMs);
    try {
      return await this.exited;
    } finally {
      clearTimeout(hard);
    }
  }
}

/** The child writes straight into the log file (no pipe through this process: nothing is lost if it exits). */
function spawnToFile(spec: NodeProcessSpec, cmd: string, args: readonly string[]): ChildProcess {
  const fd = openSync(spec.logFile, "a");
  try {
    if (spec.banner !== undefined) writeSync(fd, `${spec.banner}\n`);
    return spawn(cmd, args, { cwd: spec.cwd, stdio: ["ignore", fd, fd], env: spec.env ?? process.env });
  } finally {
    closeSync(fd);
  }
}

/** stdout and stderr piped through this process into the log file, stderr also shown to `onStderr`. */
function spawnPiped(spec: NodeProcessSpec, cmd: string, args: readonly string[], onStderr: (text: string) => void): ChildProcess {
  const log = createWriteStream(spec.logFile, { flags: "a" });
  if (spec.banner !== undefined) log.write(`${spec.banner}\n`);
  const child = spawn(cmd, args, { cwd: spec.cwd, stdio: ["ignore", "pipe", "pipe"], env: spec.env ?? process.env });
  child.stdout?.pipe(log);
  child.stderr?.pipe(log);
  child.stderr?.on("data", (d: Buffer) => onStderr(d.toString("utf8")));
  return child;
}
