// Every process the benchmark starts is registered here and killed by its PID when the driver exits, however it
// exits (normal end, error, Ctrl-C, SIGTERM). Nothing is ever killed by name.
import { spawn, type ChildProcess } from "node:child_process";
import { openSync, closeSync, rmSync } from "node:fs";

const live = new Set<ChildProcess>();
const tempDirs = new Set<string>();

/** A data dir removed at exit unless released earlier (the backend's stop() removes it and releases it). */
export function trackTempDir(dir: string): void {
  tempDirs.add(dir);
}

/** BENCH_KEEP_DATA=1 keeps the members' data dirs and logs, to look into a failed run. */
const keepData = process.env.BENCH_KEEP_DATA === "1";

export function removeTempDir(dir: string): void {
  tempDirs.delete(dir);
  if (!keepData) rmSync(dir, { recursive: true, force: true });
}

export interface SpawnLoggedOptions {
  readonly logFile: string;
  readonly env?: NodeJS.ProcessEnv;
  readonly cwd?: string;
}

/** Starts a child with stdout and stderr appended to logFile, and tracks it until it exits. */
export function spawnTracked(cmd: string, args: readonly string[], opts: SpawnLoggedOptions): ChildProcess {
  const fd = openSync(opts.logFile, "a");
  try {
    const child = spawn(cmd, args, { stdio: ["ignore", fd, fd], env: opts.env ?? process.env, cwd: opts.cwd });
    live.add(child);
    child.once("exit", () => live.delete(child));
    child.once("error", () => live.delete(child));
    return child;
  } finally {
    closeSync(fd); // the child holds its own copy of the descriptor
  }
}

/** Tracks a child started elsewhere (a fork with IPC), so that it is killed by PID at exit like the others. */
export function trackChild(child: ChildProcess): void {
  live.add(child);
  child.once("exit", () => live.delete(child));
  child.once("error", () => live.delete(child));
}

export function isRunning(child: ChildProcess): boolean {
  return child.pid !== undefined && child.exitCode === null && child.signalCode === null;
}

/** SIGKILL one tracked child by PID and resolve once it has exited. */
export async function killChild(child: ChildProcess): Promise<void> {
  if (!isRunning(child)) return;
  const exited = new Promise<void>((r) => child.once("exit", () => r()));
  try {
    process.kill(child.pid!, "SIGKILL");
  } catch {
    return; // already gone
  }
  await exited;
}

/** SIGTERM one tracked child by PID; resolves once it exited or after graceMs (the caller then SIGKILLs it). */
export async function stopGracefully(child: ChildProcess, graceMs: number): Promise<void> {
  if (!isRunning(child)) return;
  const exited = new Promise<void>((r) => child.once("exit", () => r()));
  try {
    process.kill(child.pid!, "SIGTERM");
  } catch {
    return;
  }
  await Promise.race([exited, new Promise((r) => setTimeout(r, graceMs).unref())]);
}

export function killAllTracked(): void {
  for (const c of live) {
    if (isRunning(c)) {
      try {
        process.kill(c.pid!, "SIGKILL");
      } catch {
        /* already gone */
      }
    }
  }
  live.clear();
}

let installed = false;
/** Kill all tracked children on exit and on SIGINT/SIGTERM (then exit with the conventional code). */
export function installExitCleanup(extra: () => void = () => {}): void {
  if (installed) return;
  installed = true;
  const cleanup = (): void => {
    killAllTracked();
    // SIGKILLed processes cannot write any more, so their dirs can go right away.
    for (const d of tempDirs) if (!keepData) rmSync(d, { recursive: true, force: true });
    tempDirs.clear();
    extra();
  };
  process.on("exit", cleanup);
  for (const [sig, code] of [["SIGINT", 130], ["SIGTERM", 143]] as const) {
    process.on(sig, () => {
      cleanup();
      process.exit(code);
    });
  }
}
