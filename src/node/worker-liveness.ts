// The leader's liveness decision: given when it last heard each member, since when it leads, and the table's
// registered workers, which "worker up" / "worker dead" / "worker removed" commands to propose now. Pure: the node
// (leader-duties.ts, on the wall clock) and the simulator (test/sim/scheduler-model.ts, on its ticks) both call it,
// so the simulator's checkers judge the production rule.
//
// The rule:
//   - A worker no longer in the membership gives its tasks back at once: it will never report again. Unless the
//     latest configuration in the leader's log (applied or not) holds it again: a worker removed and re-added by a
//     later entry is not released (rejoin-leave-decision.ts).
//   - A member heard within workerTimeoutMs, and actually contacted during this leadership, is registered alive (or
//     its capacity updated). The grace period below keeps a silent member from being declared dead, but only real
//     contact registers one as alive: a member added and never started must not be given work.
//   - A member registered alive and silent for workerTimeoutMs is declared dead, but never within the first
//     workerTimeoutMs of a leadership: a new leader grants everyone one full timeout of grace (hashicorp/nomad
//     resets heartbeat TTLs after an election for the same reason), so leadership moving causes no mass
//     reassignment. A member never heard during this leadership counts as heard when it began.
import type { WorkerUpCommand } from "../scheduler/commands.js";
import type { LivenessDecision } from "./liveness-decision.js";
import type { WorkerInfo } from "../scheduler/types.js";
import type { ExternalPresence } from "./external-presence.js";
import { decideExternalLiveness, isExternal } from "./external-worker-liveness.js";

export interface LivenessInput {
  readonly selfId: string;
  readonly nowMs: number;
  readonly workerTimeoutMs: number;
  /** When this node became leader (the start of the grace period). */
  readonly leaderSinceMs: number;
  /** Members that run tasks, with their capacity, in the order decisions are made. */
  readonly members: ReadonlyMap<string, number>;
  /** The workers the leader's table registers. */
  readonly registered: readonly WorkerInfo[];
  /** When the member was last heard (undefined: not since this node leads). */
  readonly lastHeardMs: (id: string) => number | undefined;
  /** Whether the member was actually heard from during this leadership. */
  readonly contacted: (id: string) => boolean;
  /** A decision about this worker is already being proposed: make no other until it is settled. */
  readonly inFlight: (id: string) => boolean;
  /** Whether the latest configuration in the leader's log (applied or not) holds `id`. */
  readonly inLatestConf: (id: string) => boolean;
  /** The member's tags, sorted (the cluster file's); absent: none. A change is registered like a capacity's. */
  readonly memberTags?: (id: string) => readonly string[];
  /** External workers (not members) that registered with this leader (external-worker-liveness.ts). */
  readonly externals?: ReadonlyMap<string, ExternalPresence>;
  /** How long a dead external worker stays listed (default 10 × workerTimeoutMs). */
  readonly forgetDeadExternalAfterMs?: number;
}

export type { LivenessCommand, LivenessDecision } from "./liveness-decision.js";

/** The liveness commands to propose now, removals first, then members in `members` order, then external workers
 *  (external-worker-liveness.ts: they are not members, so the membership rule above never removes them). */
export function decideWorkerLiveness(i: LivenessInput): LivenessDecision[] {
  const decisions: LivenessDecision[] = [];
  const registered = new Map(i.registered.map((w) => [w.id, w]));
  for (const w of registered.values()) {
    if (!isExternal(w) && !i.members.has(w.id) && w.id !== i.selfId && !i.inFlight(w.id) && (w.alive || w.active > 0) && !i.inLatestConf(w.id)) {
      decisions.push({ worker: w.id, command: { type: "workerRemoved", worker: w.id } });
    }
  }
  const inGrace = i.nowMs - i.leaderSinceMs < i.workerTimeoutMs;
  for (const [id, capacity] of i.members) {
    if (i.inFlight(id)) continue;
    const w = registered.get(id);
    const self = id === i.selfId;
    const silentMs = self ? 0 : i.nowMs - (i.lastHeardMs(id) ?? i.leaderSinceMs);
    const heardRecently = silentMs < i.workerTimeoutMs;
    const tags = i.memberTags?.(id) ?? [];
    const changed = !w || !w.alive || w.capacity !== capacity || !sameTags(w.tags, tags);
    if (changed && heardRecently && (self || i.contacted(id))) {
      const up: WorkerUpCommand = { type: "workerUp", worker: id, capacity, nowMs: i.nowMs, ...(tags.length > 0 ? { tags } : {}) };
      decisions.push({ worker: id, command: up });
    } else if (w && w.alive && !heardRecently && !inGrace) {
      decisions.push({ worker: id, command: { type: "workerDead", worker: id, nowMs: i.nowMs }, silentMs });
    }
  }
  if (i.externals !== undefined) {
    const externals = decideExternalLiveness({
      nowMs: i.nowMs,
      workerTimeoutMs: i.workerTimeoutMs,
      leaderSinceMs: i.leaderSinceMs,
      registered: i.registered,
      externals: i.externals,
      ...(i.forgetDeadExternalAfterMs !== undefined ? { forgetDeadAfterMs: i.forgetDeadExternalAfterMs } : {}),
      inFlight: i.inFlight,
      isMember: (id) => id === i.selfId || i.members.has(id) || i.inLatestConf(id),
    });
    decisions.push(...externals);
  }
  return decisions;
}

function sameTags(a: readonly string[] | undefined, b: readonly string[]): boolean {
  const have = a ?? [];
  return have.length === b.length && have.every((tag, i) => tag === b[i]);
}
