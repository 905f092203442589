// A tiny, strict argument parser: `--flag value`, `--flag=value`, boolean `--flag`. Unknown flags are errors
// with one clear line, as an operator would expect from etcdctl or consul.
import { existsSync } from "node:fs";
import path from "node:path";
import { fileURLToPath } from "node:url";
import { RaftschedError } from "../util/errors.js";

/** The cluster file commands use without --config: ./cluster-configs/local-3.json where the command runs (a clone
 *  of the repository), else the copy shipped in the package, so `raftsched status` works from any directory. */
export const DEFAULT_CONFIG = "cluster-configs/local-3.json";

export function configPathOr(given: string | undefined): string {
  if (given !== undefined) return given;
  if (existsSync(DEFAULT_CONFIG)) return DEFAULT_CONFIG;
  const shipped = path.resolve(path.dirname(fileURLToPath(import.meta.url)), "../..", DEFAULT_CONFIG);
  return existsSync(shipped) ? shipped : DEFAULT_CONFIG;
}

export interface FlagSpec {
  readonly [name: string]: "string" | "boolean";
}

export interface ParsedArgs {
  readonly flags: Record<string, string | boolean>;
  readonly positional: string[];
}

export function parseArgs(argv: readonly string[], spec: FlagSpec, command: string): ParsedArgs {
  const flags: Record<string, string | boolean> = {};
  const positional: string[] = [];
  for (let i = 0; i < argv.length; i++) {
    const a = argv[i]!;
    if (!a.startsWith("--")) {
      positional.push(a);
      continue;
    }
    const eq = a.indexOf("=");
    const name = eq === -1 ? a.slice(2) : a.slice(2, eq);
    const kind = spec[name];
    if (!kind) {
      const known = Object.keys(spec).map((k) => `--${k}`).join(", ");
      throw new RaftschedError("BAD_ARGS", `${command}: unknown flag --${name} (known: ${known || "none"})`);
    }
    if (kind === "boolean") {
      if (eq !== -1) throw new RaftschedError("BAD_ARGS", `${command}: --${name} takes no value`);
      flags[name] = true;
      continue;
    }
    let value: string | undefined;
    if (eq !== -1) value = a.slice(eq + 1);
    else {
      value = argv[i + 1];
      i++;
    }
    if (value === undefined || value === "") throw new RaftschedError("BAD_ARGS", `${command}: --${name} needs a value`);
    flags[name] = value;
  }
  return { flags, positional };
}

export function stringFlag(args: ParsedArgs, name: string): string | undefined {
  const v = args.flags[name];
  return typeof v === "string" ? v : undefined;
}

/** Durations as the contract writes them: "30s", "2m", "500ms" or plain seconds. */
export function parseDurationMs(text: string, flag: string): number {
  const m = /^(\d+(?:\.\d+)?)(ms|s|m|h)?$/.exec(text.trim());
  if (!m) throw new RaftschedError("BAD_ARGS", `${flag}: "${text}" is not a duration (use 30s, 2m, 500ms or seconds)`);
  const n = Number(m[1]);
  const unit = m[2] ?? "s";
  const factor = unit === "ms" ? 1 : unit === "s" ? 1000 : unit === "m" ? 60_000 : 3_600_000;
  return Math.round(n * factor);
}
