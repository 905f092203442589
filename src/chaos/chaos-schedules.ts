// Recurring schedules in a chaos run (issue 13): a few short-period schedules created before the faults start, a
// planned downtime after them (the leader and enough others paused that no leader can commit, for several
// periods: what README's missed-slot policy is about), then, once the faults are healed, each schedule read (its
// last fired slot) and removed so the cluster can reach quiescence. The check is schedule-check.ts's; this file
// gathers its inputs: the schedules, the nodes' leadership changes from their logs, the faults on the wall clock.
import { readFileSync } from "node:fs";
import type { ChaosCluster, ChaosNode } from "./cluster.js";
import { requestJson, sleep } from "./http.js";
import type { FaultRecord } from "./fault-kinds.js";
import type { CheckedSchedule, LeadershipChange, WallFault, WallSpan } from "./schedule-check.js";

/** Short periods (everyMs may not go below 1 s) and one cron schedule (every minute). Slot tasks are quick. */
export const CHAOS_SCHEDULES: ReadonlyArray<{ readonly id: string; readonly everyMs?: number; readonly cron?: string }> = [
  { id: "chaos-1s", everyMs: 1000 },
  { id: "chaos-1500ms", everyMs: 1500 },
  { id: "chaos-cron", cron: "* * * * *" },
];
const SLOT_PAYLOAD = { sleepMs: 20 };
const LONGEST_PERIOD_MS = 1500;
const REQUEST_TIMEOUT_MS = 4000;

export class ChaosSchedules {
  /** As created (the 201 or 200 answer): createdAtMs is the leader's. */
  private readonly created = new Map<string, CheckedSchedule>();
  downtime: WallSpan | null = null;

  constructor(private readonly cluster: ChaosCluster) {}

  /** Schedules created. */
  get count(): number {
    return this.created.size;
  }

  isSlotTask(id: string): boolean {
    return CHAOS_SCHEDULES.some((s) => id.startsWith(`${s.id}:`));
  }

  /** Creates every schedule (retried: the same id again answers the existing one). False when one never was. */
  async create(): Promise<boolean> {
    for (const s of CHAOS_SCHEDULES) {
      const body = { id: s.id, ...(s.everyMs ? { everyMs: s.everyMs } : { cron: s.cron }), task: { payload: SLOT_PAYLOAD } };
      const answer = await this.untilAnswered("POST", "/v1/schedules", body, (st) => st === 200 || st === 201);
      if (answer === null) return false;
      this.created.set(s.id, answer as CheckedSchedule);
    }
    return true;
  }

  /** The planned downtime: pauses the leader and as many others as it takes to leave no majority running, for
   *  three of the longest periods, then resumes them and gives the cluster two periods to fire again. */
  async downtimePhase(leader: ChaosNode | null, log: (line: string) => void): Promise<void> {
    const c = this.cluster;
    const running = c.nodes.filter((n) => c.isRunning(n));
    const majority = Math.floor(c.nodes.length / 2) + 1;
    const others = running.filter((n) => n !== leader);
    // Fewer than a majority left running: nothing can commit, whoever leads.
    const paused = [...(leader && running.includes(leader) ? [leader] : []), ...others].slice(0, Math.max(1, running.length - majority + 1));
    const fromMs = Date.now();
    for (const n of paused) c.pause(n);
    log(`chaos: planned downtime: ${paused.map((n) => n.id).join(", ")} paused (no majority) for ${(3 * LONGEST_PERIOD_MS) / 1000} s`);
    await sleep(3 * LONGEST_PERIOD_MS + 500);
    const toMs = Date.now();
    for (const n of paused) c.resume(n);
    this.downtime = { fromMs, toMs };
    await sleep(2 * LONGEST_PERIOD_MS + 1000);
  }

  /** Reads each schedule's last fired slot, then removes it. Schedules that could not be read are left out. */
  async finish(): Promise<CheckedSchedule[]> {
    const out: CheckedSchedule[] = [];
    for (const [id, made] of this.created) {
      const read = await this.untilAnswered("GET", `/v1/schedules/${id}`, undefined, (st) => st === 200);
      await this.untilAnswered("DELETE", `/v1/schedules/${id}`, undefined, (st) => st === 200 || st === 404);
      if (read === null) continue;
      out.push({ id, everyMs: made.everyMs, cron: made.cron, createdAtMs: made.createdAtMs, lastSlotMs: (read as CheckedSchedule).lastSlotMs });
    }
    return out;
  }

  private async untilAnswered(method: string, path: string, body: unknown, done: (status: number) => boolean): Promise<unknown> {
    for (let tries = 0; tries < 60; tries++) {
      const running = this.cluster.nodes.filter((n) => this.cluster.isRunning(n) && !n.paused);
      const node = running[tries % Math.max(1, running.length)] ?? this.cluster.nodes[0]!;
      const a = await requestJson(node.url + path, { method, ...(body !== undefined ? { body } : {}), token: this.cluster.token, timeoutMs: REQUEST_TIMEOUT_MS });
      if (done(a.status)) return a.body;
      await sleep(250);
    }
    return null;
  }
}

/** Every "became leader" and "stepped down" line of the nodes' logs (pino JSON: `time` is epoch ms), in time order. */
export function leadershipFromLogs(nodes: readonly ChaosNode[]): LeadershipChange[] {
  const out: LeadershipChange[] = [];
  for (const n of nodes) {
    let text = "";
    try {
      text = readFileSync(n.logFile, "utf8");
    } catch {
      continue;
    }
    for (const line of text.split("\n")) {
      if (!line.includes("became leader") && !line.includes("stepped down")) continue;
      try {
        const o = JSON.parse(line) as { time?: unknown; msg?: unknown };
        if (typeof o.time === "number" && (o.msg === "became leader" || o.msg === "stepped down")) out.push({ atMs: o.time, node: n.id, change: o.msg });
      } catch {
        // a torn last line of a killed node: nothing to learn from it
      }
    }
  }
  return out.sort((a, b) => a.atMs - b.atMs);
}

/** The nemesis's faults on the wall clock (`wallAtClockZeroMs`: Date.now() when the run's clock read 0), each to its
 *  heal or, when it took the leader away, to the first write acknowledged after it if that came later. */
export function faultsOnWallClock(faults: ReadonlyArray<FaultRecord & { unavailabilityMs?: number | null }>, wallAtClockZeroMs: number): WallFault[] {
  return faults.map((f) => {
    const healedMs = Number.isFinite(f.endMs) ? f.endMs : Infinity;
    const recoveredMs = f.leaderLost ? f.startMs + (f.unavailabilityMs ?? Infinity) : healedMs;
    return { kind: f.kind, targets: f.targets, fromMs: wallAtClockZeroMs + f.startMs, toMs: wallAtClockZeroMs + Math.max(healedMs, recoveredMs) };
  });
}
