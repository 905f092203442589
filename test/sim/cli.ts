// The simulator's command line.
//
//   npm run sim -- --seeds 200           seeds 1..200 (or --start S: S..S+199)
//   npm run sim -- --seed 1234           replay one seed exactly; --trace prints every event
//   npm run sim -- --seeds 20000 --workers 4   the range split over 4 child processes (default 1)
//   options: --nodes 3|5, --profile calm|mixed|partitions|churn, --ticks <fault-phase ticks>,
//            --broken grantTwoVotesPerTerm,commitOldTermEntries,... (prove the checkers fire)
//            --membership on|off, --snapshots on|off (default: the seed decides; on in most seeds)
//            --scenario figure8 | add-down-member | removed-rejoins | wiped-voter (targeted schedules instead of
//              random faults: Figure 8, etcd-io/etcd#6420 on 1 and 3 nodes, hashicorp/raft#502 on 3 and 5 nodes, a
//              voter that lost its disk and is refused by its peers)
//
// Ends with exactly `sim: N seeds, V violations` and exits 1 when V > 0.
import { spawn } from "node:child_process";
import { availableParallelism } from "node:os";
import { createInterface } from "node:readline";
import type { BrokenRules } from "../../src/raft/api.js";
import { type SimOptions, type SimResult, runSeed } from "./cluster.js";
import { PROFILES, type ProfileName } from "./faults.js";
import { runFigure8, runQuorumLossWhileAdding, runRemovedVoterRejoins, runWipedVoter } from "./scenarios.js";

interface CliArgs {
  seeds: number;
  start: number;
  single: number | null;
  trace: boolean;
  nodes?: 3 | 5;
  profile?: ProfileName;
  faultTicks?: number;
  brokenRules?: BrokenRules;
  scenario?: ScenarioName;
  membership?: boolean;
  snapshots?: boolean;
  /** Issue 13's retention and a recurring schedule (lifecycle-sim.ts). */
  lifecycle?: boolean;
  externalWorkers?: boolean;
  workers: number;
}

const SCENARIOS = ["figure8", "add-down-member", "removed-rejoins", "wiped-voter"] as const;
type ScenarioName = (typeof SCENARIOS)[number];

const BROKEN_RULES = ["grantTwoVotesPerTerm", "commitOldTermEntries", "skipLogConsistencyCheck", "skipUpToDateCheck"] as const;

function usage(problem: string): never {
  process.stderr.write(
    `sim: ${problem}\nusage: sim [--seeds N] [--start S] [--workers N|auto] [--seed S] [--trace] [--nodes 3|5] [--profile ${Object.keys(PROFILES).join("|")}] [--ticks N] [--broken ${BROKEN_RULES.join(",")}] [--membership on|off] [--snapshots on|off] [--lifecycle] [--external-workers] [--scenario ${SCENARIOS.join("|")}]\n`,
  );
  process.exit(2);
}

function positiveInt(flag: string, v: string | undefined): number {
  const n = Number(v);
  if (!Number.isSafeInteger(n) || n < 0) usage(`${flag} needs a non-negative integer, got ${v ?? "nothing"}`);
  return n;
}

function parseArgs(argv: readonly string[]): CliArgs {
  const args: CliArgs = { seeds: 200, start: 1, single: null, trace: false, workers: 1 };
  for (let i = 0; i < argv.length; i++) {
    const flag = argv[i]!;
    const value = () => argv[++i];
    switch (flag) {
      case "--seeds":
        args.seeds = positiveInt(flag, value());
        break;
      case "--start":
        args.start = positiveInt(flag, value());
        break;
      case "--seed":
        args.single = positiveInt(flag, value());
        break;
      case "--trace":
        args.trace = true;
        break;
      case "--workers": {
        const v = value();
        args.workers = v === "auto" ? availableParallelism() : positiveInt(flag, v);
        if (args.workers < 1 || args.workers > 64) usage(`--workers must be 1..64 or auto, got ${v ?? "nothing"}`);
        break;
      }
      case "--nodes": {
        const n = value();
        if (n !== "3" && n !== "5") usage(`--nodes must be 3 or 5, got ${n ?? "nothing"}`);
        args.nodes = n === "3" ? 3 : 5;
        break;
      }
      case "--profile": {
        const p = value();
        if (!p || !(p in PROFILES)) usage(`unknown profile ${p ?? "(none)"}`);
        args.profile = p as ProfileName;
        break;
      }
      case "--ticks":
        args.faultTicks = positiveInt(flag, value());
        break;
      case "--broken": {
        const rules: Record<string, boolean> = {};
        for (const r of (value() ?? "").split(",")) {
          if (!(BROKEN_RULES as readonly string[]).includes(r)) usage(`unknown broken rule ${r}`);
          rules[r] = true;
        }
        args.brokenRules = rules as BrokenRules;
        break;
      }
      case "--scenario": {
        const name = value();
        if (!(SCENARIOS as readonly (string | undefined)[]).includes(name)) usage(`unknown scenario ${name ?? "(none)"}`);
        args.scenario = name as ScenarioName;
        break;
      }
      case "--membership":
      case "--snapshots": {
        const v = value();
        if (v !== "on" && v !== "off") usage(`${flag} must be on or off, got ${v ?? "nothing"}`);
        if (flag === "--membership") args.membership = v === "on";
        else args.snapshots = v === "on";
        break;
      }
      case "--lifecycle":
        args.lifecycle = true;
        break;
      case "--external-workers":
        args.externalWorkers = true;
        break;
      default:
        usage(`unknown argument ${flag}`);
    }
  }
  return args;
}

function optionsFor(args: CliArgs, seed: number): SimOptions {
  return {
    seed,
    trace: args.trace,
    ...(args.nodes ? { nodes: args.nodes } : {}),
    ...(args.profile ? { profile: args.profile } : {}),
    ...(args.faultTicks !== undefined ? { faultTicks: args.faultTicks } : {}),
    ...(args.brokenRules ? { brokenRules: args.brokenRules } : {}),
    ...(args.membership !== undefined ? { membership: args.membership } : {}),
    ...(args.snapshots !== undefined ? { snapshots: args.snapshots } : {}),
    ...(args.lifecycle ? { lifecycle: true } : {}),
    ...(args.externalWorkers ? { externalWorkers: true } : {}),
  };
}

function runOne(args: CliArgs, seed: number): SimResult {
  if (args.scenario === "figure8") return runFigure8(seed, args.brokenRules, { trace: args.trace });
  // The membership scenarios alternate their cluster size with the seed: odd seeds the small one.
  if (args.scenario === "add-down-member") return runQuorumLossWhileAdding(seed, { nodes: seed % 2 === 1 ? 1 : 3, learnerFirst: true, trace: args.trace }).result;
  // The wiped voter as the real transport handles it: refused by its peers (committedEntryLost is the wipe itself).
  if (args.scenario === "wiped-voter") {
    const r = runWipedVoter(seed, { refused: true, trace: args.trace });
    return { ...r, violations: r.violations.filter((v) => v.checker !== "committedEntryLost") };
  }
  if (args.scenario === "removed-rejoins") return runRemovedVoterRejoins(seed, { nodes: seed % 2 === 1 ? 3 : 5, trace: args.trace }).result;
  return runSeed(optionsFor(args, seed));
}

/** The command that replays seed `seed` with the same forced options. */
function replayCommand(args: CliArgs, seed: number): string {
  const parts = ["npm run sim --", `--seed ${seed}`];
  if (args.nodes) parts.push(`--nodes ${args.nodes}`);
  if (args.profile) parts.push(`--profile ${args.profile}`);
  if (args.faultTicks !== undefined) parts.push(`--ticks ${args.faultTicks}`);
  if (args.brokenRules) parts.push(`--broken ${Object.keys(args.brokenRules).join(",")}`);
  if (args.scenario) parts.push(`--scenario ${args.scenario}`);
  if (args.membership !== undefined) parts.push(`--membership ${args.membership ? "on" : "off"}`);
  if (args.snapshots !== undefined) parts.push(`--snapshots ${args.snapshots ? "on" : "off"}`);
  if (args.lifecycle) parts.push("--lifecycle");
  if (args.externalWorkers) parts.push("--external-workers");
  return `${parts.join(" ")} --trace`;
}

function printFailure(args: CliArgs, r: SimResult): void {
  const out = process.stdout;
  out.write(`\nFAIL seed ${r.seed} (${r.nodes} nodes, profile ${r.profile}); replay: ${replayCommand(args, r.seed)}\n`);
  for (const v of r.violations) out.write(`  ${v.checker} at tick ${v.tick}: ${v.detail}\n`);
  out.write(`  trace (${r.trace.length} events):\n`);
  for (const line of r.trace) out.write(`    ${line}\n`);
}

function main(): void {
  const args = parseArgs(process.argv.slice(2));
  if (args.single !== null) {
    // Replay: output depends on the seed alone (no timings), so two runs print the same bytes.
    const r = runOne(args, args.single);
    const s = r.stats;
    process.stdout.write(
      `seed ${r.seed}: ${r.nodes} nodes, profile ${r.profile}, ${s.ticks} ticks, ${s.leaders} leaders up to term ${s.maxTerm}, ` +
        `${s.proposals} proposals, ${s.committed} committed, ${s.reads} reads, ${s.crashes} crashes, ` +
        `${s.messagesSent} messages (${s.messagesDropped} lost), ${s.confChanges} membership changes, ${s.nodesCreated} nodes ever, ` +
        `${s.snapshotsTaken} snapshots taken, ${s.snapshotsInstalled} installed` +
        (s.tasks
          ? `; tasks: ${s.tasks.acknowledged} submits acknowledged, ${s.tasks.completed} completions acknowledged, ${s.tasks.failedAttempts} failed attempts, ` +
            `${s.tasks.requeued} requeued from dead workers, ${s.tasks.staleReportsRefused} stale reports fenced, ${s.tasks.tableComparisons} table comparisons, ${s.tasks.tablesRestored} tables restored`
          : "") +
        "\n",
    );
    if (args.trace) for (const line of r.trace) process.stdout.write(`${line}\n`);
    if (r.violations.length > 0) printFailure(args, r);
    process.stdout.write(`sim: 1 seeds, ${r.violations.length} violations\n`);
    process.exitCode = r.violations.length > 0 ? 1 : 0;
    return;
  }

  if (args.workers > 1 && args.seeds > 1) {
    runInWorkers(args);
    return;
  }

  let violations = 0;
  let failedSeeds = 0;
  const started = performance.now();
  const progressEvery = Math.max(1, Math.min(500, Math.ceil(args.seeds / 10)));
  for (let k = 0; k < args.seeds; k++) {
    const seed = args.start + k;
    const r = runOne(args, seed);
    if (r.violations.length > 0) {
      violations += r.violations.length;
      failedSeeds++;
      printFailure(args, r);
    }
    if ((k + 1) % progressEvery === 0 || k + 1 === args.seeds) {
      const elapsedS = (performance.now() - started) / 1000;
      process.stdout.write(
        `  ${k + 1}/${args.seeds} seeds, ${failedSeeds} failing, ${elapsedS.toFixed(1)} s (${((elapsedS * 1000) / (k + 1)).toFixed(0)} ms/seed)\n`,
      );
    }
  }
  process.stdout.write(`sim: ${args.seeds} seeds, ${violations} violations\n`);
  process.exitCode = violations > 0 ? 1 : 0;
}

/** Splits the seed range into contiguous slices, one child process each (this same command with --start/--seeds
 *  of its slice), passes their output through (progress lines tagged with the slice) and sums their verdicts into
 *  the one `sim: N seeds, V violations` line. */
function runInWorkers(args: CliArgs): void {
  const workers = Math.min(args.workers, args.seeds);
  const argv = process.argv.slice(2);
  const passThrough: string[] = [];
  for (let i = 0; i < argv.length; i++) {
    const flag = argv[i]!;
    if (flag === "--seeds" || flag === "--start" || flag === "--workers") i++;
    else passThrough.push(flag);
  }
  let violations = 0;
  let seedsDone = 0;
  let running = workers;
  let broken = false;
  const started = performance.now();
  for (let w = 0; w < workers; w++) {
    const first = args.start + Math.floor((w * args.seeds) / workers);
    const end = args.start + Math.floor(((w + 1) * args.seeds) / workers);
    const child = spawn(process.execPath, [...process.execArgv, process.argv[1]!, ...passThrough, "--start", String(first), "--seeds", String(end - first)], {
      stdio: ["ignore", "pipe", "inherit"],
    });
    const tag = `[${first}..${end - 1}]`;
    createInterface({ input: child.stdout }).on("line", (line) => {
      const verdict = /^sim: (\d+) seeds, (\d+) violations$/.exec(line);
      if (verdict) {
        seedsDone += Number(verdict[1]);
        violations += Number(verdict[2]);
      } else process.stdout.write(line.startsWith("  ") && line.includes(" seeds, ") ? `${tag}${line}\n` : `${line}\n`);
    });
    child.on("close", (code) => {
      if (code !== 0 && code !== 1) broken = true;
      if (--running > 0) return;
      const elapsedS = (performance.now() - started) / 1000;
      process.stdout.write(`  ${workers} workers, ${elapsedS.toFixed(1)} s\n`);
      if (broken || seedsDone !== args.seeds) {
        process.stderr.write(`sim: a worker ended without a verdict (${seedsDone} of ${args.seeds} seeds reported)\n`);
        process.exitCode = 2;
      }
      process.stdout.write(`sim: ${args.seeds} seeds, ${violations} violations\n`);
      if (process.exitCode !== 2) process.exitCode = violations > 0 ? 1 : 0;
    });
  }
}

// `npm run sim -- --seed 1 --trace | head` closes the pipe early; that is not a failure of the run.
process.stdout.on("error", (err: NodeJS.ErrnoException) => {
  if (err.code === "EPIPE") process.exit(process.exitCode ?? 0);
  throw err;
});

main();
