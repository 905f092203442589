// Fault profiles: how often and which faults a seed injects during its fault phase. A seed picks one at random
// (or a test forces one). "churn" crashes leaders right after they are elected and restarts them quickly
// under a lossy network, the schedule that makes Figure 8 (§5.4.2) likely.
import type { NetworkConditions } from "./network.js";
import type { Rng } from "./prng.js";

export type FaultKind =
  | "crash"
  | "crashLeader"
  /** Crash a node while a Ready's fsync is in flight: its batch is lost and its messages never leave. */
  | "crashUnsynced"
  | "restart"
  | "partition"
  | "isolate"
  | "asymmetric"
  | "heal"
  | "network";

export type ProfileName = "calm" | "mixed" | "partitions" | "churn";

export interface FaultProfile {
  readonly name: ProfileName;
  /** Chance per tick that a fault is injected. */
  readonly faultRate: number;
  readonly weights: Readonly<Record<FaultKind, number>>;
  /** A crashed node restarts by itself after this many ticks (uniform). */
  readonly restartAfterTicks: readonly [number, number];
  /** Chance that a newly elected leader is crashed within `leaderCrashWithinTicks`. */
  readonly crashNewLeaderRate: number;
  readonly leaderCrashWithinTicks: number;
  /** Chance that a node crashes right after taking a Ready that must be synced (usually before the sync ends). */
  readonly crashMidSyncRate: number;
  /** Draws new network conditions. */
  network(rng: Rng): NetworkConditions;
}

function lossy(rng: Rng, maxDrop: number, maxDelay: number): NetworkConditions {
  const minDelayTicks = rng.int(0, 1);
  return {
    minDelayTicks,
    maxDelayTicks: minDelayTicks + rng.int(0, maxDelay),
    dropRate: rng.chance(0.3) ? 0 : rng.next() * maxDrop,
    duplicateRate: rng.chance(0.5) ? 0 : rng.next() * 0.05,
  };
}

export const PROFILES: Readonly<Record<ProfileName, FaultProfile>> = {
  calm: {
    name: "calm",
    crashMidSyncRate: 0,
    faultRate: 1 / 300,
    weights: { crash: 1, crashLeader: 1, crashUnsynced: 1, restart: 1, partition: 1, isolate: 1, asymmetric: 0, heal: 2, network: 2 },
    restartAfterTicks: [20, 150],
    crashNewLeaderRate: 0,
    leaderCrashWithinTicks: 0,
    network: (rng) => lossy(rng, 0.02, 3),
  },
  mixed: {
    name: "mixed",
    crashMidSyncRate: 1 / 200,
    faultRate: 1 / 60,
    weights: { crash: 3, crashLeader: 2, crashUnsynced: 3, restart: 2, partition: 2, isolate: 2, asymmetric: 1, heal: 3, network: 2 },
    restartAfterTicks: [10, 200],
    crashNewLeaderRate: 0.1,
    leaderCrashWithinTicks: 20,
    network: (rng) => lossy(rng, 0.15, 8),
  },
  partitions: {
    name: "partitions",
    crashMidSyncRate: 1 / 400,
    faultRate: 1 / 40,
    weights: { crash: 1, crashLeader: 1, crashUnsynced: 1, restart: 1, partition: 4, isolate: 3, asymmetric: 3, heal: 4, network: 1 },
    restartAfterTicks: [10, 100],
    crashNewLeaderRate: 0.05,
    leaderCrashWithinTicks: 20,
    network: (rng) => lossy(rng, 0.1, 6),
  },
  churn: {
    name: "churn",
    crashMidSyncRate: 1 / 100,
    faultRate: 1 / 50,
    weights: { crash: 2, crashLeader: 4, crashUnsynced: 3, restart: 3, partition: 1, isolate: 2, asymmetric: 1, heal: 2, network: 2 },
    restartAfterTicks: [5, 60],
    crashNewLeaderRate: 0.6,
    leaderCrashWithinTicks: 8,
    network: (rng) => lossy(rng, 0.4, 4),
  },
};

export function pickProfile(rng: Rng): FaultProfile {
  return PROFILES[rng.weighted<ProfileName>({ calm: 1, mixed: 5, partitions: 2, churn: 2 })];
}
