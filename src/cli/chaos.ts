// `raftsched chaos`: a Jepsen-style run on this machine — a fresh loopback cluster shaped like the cluster file
// (free ports, temp data dirs: never the user's data), a concurrent client workload, seeded faults, and a
// verdict that begins (and ends) with "linearizable: yes|no". Exit 0 only when nothing was violated.
import { rmSync } from "node:fs";
import path from "node:path";
import { loadClusterFile } from "../config/cluster-file.js";
import { RaftschedError } from "../util/errors.js";
import { configPathOr, parseArgs, parseDurationMs, stringFlag, type ParsedArgs } from "./args.js";
import { FAULT_KINDS, OPT_IN_FAULT_KINDS, WORKER_FAULT_KINDS, type FaultKind } from "../chaos/fault-kinds.js";
import { MAX_CHAOS_WORKERS } from "../chaos/chaos-workers.js";
import { runChaos } from "../chaos/run.js";
import { netnsUnavailableReason } from "../chaos/netns.js";
import { verdictText, writeReport } from "../chaos/report.js";
import type { ChaosCluster } from "../chaos/cluster.js";

const MAX_DURATION_MS = 24 * 3_600_000;

const SPEC = {
  config: "string",
  duration: "string",
  faults: "string",
  seed: "string",
  report: "string",
  clients: "string",
  workers: "string",
  netns: "boolean",
  "keep-data": "boolean",
} as const;

export async function chaosCommand(argv: readonly string[]): Promise<number> {
  const args = parseArgs(argv, SPEC, "chaos");
  const { netns, configPath, config, durationMs, faults, seed, clients, workers } = chaosRunOptions(args);
  const reportDir = stringFlag(args, "report");
  const command = ["raftsched", "chaos", ...argv].join(" ");
  if (netns) {
    const why = await netnsUnavailableReason();
    if (why !== null) {
      process.stderr.write(`raftsched chaos: --netns is unavailable: ${why}; run without --netns to cut links through the nodes' fault hook\n`);
      return 2;
    }
  }

  const tty = process.stderr.isTTY === true;
  let lastProgressAt = 0;
  const log = (line: string): void => {
    process.stderr.write(tty ? `\r\x1b[2K${line}\n` : `${line}\n`);
  };
  const progress = (line: string): void => {
    if (tty) process.stderr.write(`\r\x1b[2K${line.slice(0, (process.stderr.columns ?? 120) - 1)}`);
    else if (Date.now() - lastProgressAt >= 5000) {
      lastProgressAt = Date.now();
      process.stderr.write(`${line}\n`);
    }
  };

  // Ctrl-C / SIGTERM: stop, kill every node by PID, leave no temp data behind.
  let cluster: ChaosCluster | null = null;
  let interrupted = false;
  const onSignal = (sig: NodeJS.Signals): void => {
    if (interrupted) return;
    interrupted = true;
    log(`chaos: ${sig}: stopping every node`);
    void (async () => {
      await cluster?.shutdown();
      if (cluster && !args.flags["keep-data"]) rmSync(cluster.root, { recursive: true, force: true });
      process.exit(130);
    })();
  };
  process.on("SIGINT", onSignal);
  process.on("SIGTERM", onSignal);

  const shape = `${clients} clients${workers > 0 ? `, ${workers} external workers` : ""}, cluster shaped like ${configPath}${netns ? ", one network namespace per node" : ""}`;
  log(`chaos: seed ${seed}, ${Math.round(durationMs / 1000)} s, faults ${faults.join(",")}, ${shape}`);
  try {
    const result = await runChaos(
      { config, configPath, durationMs, faults, seed, clients, workers, netns, log, progress, aborted: () => interrupted },
      (c) => {
        cluster = c;
      },
    );
    await result.cluster.shutdown();
    if (interrupted) return 130;
    const r = result.report;
    const text = verdictText(r);
    process.stdout.write(`\n${text}\n`);
    if (reportDir) {
      writeReport(reportDir, r, result.history.events(), command);
      log(`chaos: report written to ${path.resolve(reportDir)} (history.jsonl, report.json, report.md)`);
    }
    const failed = r.violations.length > 0 || r.linearizable !== "yes";
    if (failed || args.flags["keep-data"]) log(`chaos: node data and logs kept in ${result.cluster.root}`);
    else rmSync(result.cluster.root, { recursive: true, force: true });
    return failed ? 1 : 0;
  } finally {
    await (cluster as ChaosCluster | null)?.shutdown();
    process.off("SIGINT", onSignal);
    process.off("SIGTERM", onSignal);
  }
}

/** The run's shape from the flags (usage errors are BAD_ARGS, exit 2). */
function chaosRunOptions(args: ParsedArgs) {
  if (args.positional.length > 0) throw new RaftschedError("BAD_ARGS", `chaos: unexpected argument "${args.positional[0]}"`);
  const configPath = configPathOr(stringFlag(args, "config"));
  const config = loadClusterFile(configPath);
  const durationMs = parseDurationMs(stringFlag(args, "duration") ?? "60s", "--duration");
  if (durationMs < 1000 || durationMs > MAX_DURATION_MS) throw new RaftschedError("BAD_ARGS", "chaos: --duration must be from 1s to 24h");
  const workers = parseIntFlag(stringFlag(args, "workers") ?? "0", "--workers", 0, MAX_CHAOS_WORKERS);
  const faults = parseFaults(stringFlag(args, "faults"), workers > 0);
  const seedText = stringFlag(args, "seed");
  const seed = seedText === undefined ? Math.floor(Math.random() * 2 ** 31) : parseIntFlag(seedText, "--seed", 0, 2 ** 32 - 1);
  const clients = parseIntFlag(stringFlag(args, "clients") ?? "8", "--clients", 1, 64);
  return { netns: args.flags.netns === true, configPath, config, durationMs, faults, seed, clients, workers };
}

/** Named kinds, or the default set: every node fault, and the worker faults when there are external workers. */
function parseFaults(text: string | undefined, withWorkers: boolean): FaultKind[] {
  if (text === undefined) return withWorkers ? [...FAULT_KINDS, ...WORKER_FAULT_KINDS] : [...FAULT_KINDS];
  const kinds = text
    .split(",")
    .map((s) => s.trim())
    .filter((s) => s.length > 0);
  if (kinds.length === 0) throw new RaftschedError("BAD_ARGS", `chaos: --faults needs at least one of ${FAULT_KINDS.join(",")}`);
  const known: readonly string[] = [...FAULT_KINDS, ...OPT_IN_FAULT_KINDS, ...WORKER_FAULT_KINDS];
  for (const k of kinds) {
    if (!known.includes(k)) throw new RaftschedError("BAD_ARGS", `chaos: unknown fault "${k}" (known: ${known.join(",")})`);
    if (!withWorkers && (WORKER_FAULT_KINDS as readonly string[]).includes(k)) throw new RaftschedError("BAD_ARGS", `chaos: fault "${k}" needs --workers N`);
  }
  return [...new Set(kinds)] as FaultKind[];
}

function parseIntFlag(text: string, flag: string, min: number, max: number): number {
  const n = Number(text);
  if (!/^\d+$/.test(text) || !Number.isSafeInteger(n) || n < min || n > max) {
    throw new RaftschedError("BAD_ARGS", `chaos: ${flag} must be an integer from ${min} to ${max}`);
  }
  return n;
}
