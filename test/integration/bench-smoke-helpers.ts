// What the benchmark smoke tests share: the repo root, a promisified execFile to run a bench script, and a scan of
// /proc for processes a run may have left behind.
import { execFile } from "node:child_process";
import { readdirSync, readFileSync } from "node:fs";
import path from "node:path";
import { fileURLToPath } from "node:url";
import { promisify } from "node:util";

export const ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), "..", "..");
export const execFileP = promisify(execFile);

/** PIDs of the processes whose command line contains `text`. */
export function processesMentioning(text: string): number[] {
  const out: number[] = [];
  for (const d of readdirSync("/proc")) {
    if (!/^\d+$/.test(d)) continue;
    try {
      if (readFileSync(`/proc/${d}/cmdline`, "utf8").includes(text)) out.push(Number(d));
    } catch {
      /* exited meanwhile */
    }
  }
  return out;
}
