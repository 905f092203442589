// Election timing in simulated time (the Raft paper's §9.3 experiment): crash the leader 1,000 times and measure
// how long the cluster goes without one — from the crash to the first node that is leader in a higher term.
// 10 ms ticks, election timeout 150–300 ms (15..30 ticks), heartbeat 50 ms (5 ticks), instant fsync. The paper's
// worst case over 1,000 trials with 150–300 ms is ~513 ms.
//
// Two time models:
//  - "phased": 1 ms simulation steps; each node ticks every 10 ms at its own phase, as real nodes' timers do,
//    and a message takes 0–1 ms (loopback). This is what a real cluster on one machine does.
//  - "lockstep": every node ticks at the same instant and a message takes 0–1 whole ticks (0–10 ms). Timeouts
//    then collide on the 10 ms grid, and the slow network widens the split-vote window, so its tail is longer.
//
//   npx tsx scripts/election-timing.ts [--trials 1000] [--seed 1]
import { ELECTION_TICKS_MAX, ELECTION_TICKS_MIN, HEARTBEAT_TICKS, SimCluster, TICK_MS } from "../test/sim/cluster.js";
import { Rng, mixSeed } from "../test/sim/prng.js";

interface TimeModel {
  readonly name: string;
  readonly stepsPerTick: number;
  /** Message delay in simulation steps, uniform in [0, max]. */
  readonly maxDelaySteps: number;
  readonly delayText: string;
}

const MODELS: readonly TimeModel[] = [
  { name: "phased", stepsPerTick: 10, maxDelaySteps: 1, delayText: "0–1 ms" },
  { name: "lockstep", stepsPerTick: 1, maxDelaySteps: 1, delayText: `0–${TICK_MS} ms` },
];

interface Timing {
  readonly nodes: number;
  readonly samplesMs: number[];
  readonly violations: number;
}

/** Ticks allowed for one recovery before the trial counts as a failure (10 s: far beyond any sane election). */
const GIVE_UP_TICKS = 1000;

function measure(model: TimeModel, nodes: 3 | 5, trials: number, seed: number): Timing {
  const sim = new SimCluster({
    seed,
    nodes,
    scripted: true,
    network: { minDelayTicks: 0, maxDelayTicks: model.maxDelaySteps, dropRate: 0, duplicateRate: 0 },
    maxFsyncTicks: 0,
    stepsPerTick: model.stepsPerTick,
  });
  const stepMs = TICK_MS / model.stepsPerTick;
  const giveUpSteps = GIVE_UP_TICKS * model.stepsPerTick;
  const rng = new Rng(mixSeed(seed, 99));
  sim.start();
  const samplesMs: number[] = [];
  const everyoneFollows = () => {
    const l = sim.leader();
    if (!l) return false;
    const term = l.core!.status().term;
    return sim.nodes.every((n) => {
      const st = n.core?.status();
      return st !== undefined && st.term === term && st.leaderId === l.id;
    });
  };
  for (let trial = 0; trial < trials && !sim.halted; trial++) {
    if (!sim.runUntil(everyoneFollows, giveUpSteps)) throw new Error(`trial ${trial}: no stable leader`);
    // Crash at a random point of the heartbeat cycle, after the cluster has been quiet for a while.
    sim.runUntil(() => false, (10 + rng.int(0, 4 * HEARTBEAT_TICKS)) * model.stepsPerTick + rng.int(0, model.stepsPerTick - 1));
    const old = sim.leader()!;
    const oldTerm = old.core!.status().term;
    const crashTick = sim.tick;
    sim.crashNode(old.id, "(election timing)");
    const elected = sim.runUntil(() => {
      const l = sim.leader();
      return l !== null && l.core!.status().term > oldTerm;
    }, giveUpSteps);
    if (!elected) throw new Error(`trial ${trial}: no new leader within ${GIVE_UP_TICKS} ticks`);
    samplesMs.push((sim.tick - crashTick) * stepMs);
    sim.restartNode(old.id);
  }
  return { nodes, samplesMs, violations: sim.result().violations.length };
}

function percentile(sorted: readonly number[], p: number): number {
  const k = Math.min(sorted.length - 1, Math.max(0, Math.ceil((p / 100) * sorted.length) - 1));
  return sorted[k]!;
}

function main(): void {
  const args = process.argv.slice(2);
  const flag = (name: string, dflt: number) => {
    const i = args.indexOf(name);
    const v = i >= 0 ? Number(args[i + 1]) : dflt;
    if (!Number.isSafeInteger(v) || v <= 0) throw new Error(`${name} needs a positive integer`);
    return v;
  };
  const trials = flag("--trials", 1000);
  const seed = flag("--seed", 1);

  const rows: string[] = [];
  let violations = 0;
  for (const model of MODELS) {
    for (const nodes of [3, 5] as const) {
      const t = measure(model, nodes, trials, seed);
      violations += t.violations;
      const s = t.samplesMs.slice().sort((a, b) => a - b);
      const mean = s.reduce((a, b) => a + b, 0) / s.length;
      const ms = (x: number) => `${Math.round(x)} ms`;
      rows.push(
        `| ${nodes} nodes | ${model.name} ticks, delay ${model.delayText} | ${s.length} | ${ms(s[0]!)} | ${ms(percentile(s, 50))} | ${ms(mean)} | ${ms(percentile(s, 99))} | ${ms(s[s.length - 1]!)} |`,
      );
    }
  }
  const electionMs = `${ELECTION_TICKS_MIN * TICK_MS}–${ELECTION_TICKS_MAX * TICK_MS} ms`;
  console.log(
    `Leader crash to new leader, simulated time: ${TICK_MS} ms tick, election timeout ${electionMs}, ` +
      `heartbeat ${HEARTBEAT_TICKS * TICK_MS} ms, instant fsync, pre-vote and check-quorum on, seed ${seed}.`,
  );
  console.log("");
  console.log("| cluster | time model | crashes | min | median | mean | p99 | max |");
  console.log("| --- | --- | --- | --- | --- | --- | --- | --- |");
  for (const r of rows) console.log(r);
  console.log("");
  console.log(`Raft paper §9.3 (150–300 ms timeouts, 1,000 trials): worst case ~513 ms. Safety violations during the runs: ${violations}.`);
  if (violations > 0) process.exitCode = 1;
}

main();
