// The liveness rule for external workers (not Raft members), part of the leader's liveness decision
// (worker-liveness.ts calls it, so the node and the simulator run the same rule). Pure.
//
// The rule, per worker the table registers as external and per worker connected to this leader:
//   - connected, heard within workerTimeoutMs, and new, dead, or offering another capacity or tags: workerUp (one
//     log entry; an unchanged re-registration, say after a leader change, writes nothing);
//   - registered alive and silent for workerTimeoutMs (never heard by this leader counts as heard when it began to
//     lead: the same grace as members get), or said goodbye after draining: workerDead, and its tasks are requeued;
//   - dead, not connected, holding nothing, and dead for forgetDeadAfterMs: workerRemoved, so workers that come and
//     go do not accumulate.
import type { WorkerInfo } from "../scheduler/types.js";
import type { ExternalPresence } from "./external-presence.js";
import type { LivenessDecision } from "./liveness-decision.js";

/** How long a dead external worker stays listed, in workerTimeoutMs (the contract asks for at least 10). */
export const FORGET_DEAD_EXTERNAL_AFTER_TIMEOUTS = 10;

export interface ExternalLivenessInput {
  readonly nowMs: number;
  readonly workerTimeoutMs: number;
  readonly leaderSinceMs: number;
  readonly registered: readonly WorkerInfo[];
  /** The external workers that registered with this leader (connected now or before). */
  readonly externals: ReadonlyMap<string, ExternalPresence>;
  /** Default FORGET_DEAD_EXTERNAL_AFTER_TIMEOUTS × workerTimeoutMs. */
  readonly forgetDeadAfterMs?: number;
  readonly inFlight: (id: string) => boolean;
  /** Member ids are never external workers (the hub refuses them; checked again here). */
  readonly isMember: (id: string) => boolean;
}

export function isExternal(w: WorkerInfo): boolean {
  return w.extras?.kind === "external";
}

export function decideExternalLiveness(i: ExternalLivenessInput): LivenessDecision[] {
  const decisions: LivenessDecision[] = [];
  const forgetAfterMs = i.forgetDeadAfterMs ?? FORGET_DEAD_EXTERNAL_AFTER_TIMEOUTS * i.workerTimeoutMs;
  const inGrace = i.nowMs - i.leaderSinceMs < i.workerTimeoutMs;
  const known = new Set<string>();
  for (const w of i.registered) {
    known.add(w.id);
    if (!isExternal(w) || i.inFlight(w.id)) continue;
    const p = i.externals.get(w.id);
    const silentMs = i.nowMs - (p?.lastHeardMs ?? i.leaderSinceMs);
    const offering = p !== undefined && p.connected && !p.leaving && silentMs < i.workerTimeoutMs;
    if (offering && (!w.alive || w.capacity !== p.capacity || !sameTags(w.extras?.tags ?? [], p.tags))) {
      decisions.push(up(w.id, p, i.nowMs));
    } else if (w.alive && (p?.leaving === true || (silentMs >= i.workerTimeoutMs && !inGrace))) {
      decisions.push({ worker: w.id, command: { type: "workerDead", worker: w.id, nowMs: i.nowMs }, silentMs });
    } else if (!w.alive && p?.connected !== true && w.active === 0 && i.nowMs - w.changedAtMs >= forgetAfterMs) {
      decisions.push({ worker: w.id, command: { type: "workerRemoved", worker: w.id } });
    }
  }
  for (const [id, p] of i.externals) {
    if (known.has(id) || i.inFlight(id) || i.isMember(id)) continue;
    if (p.connected && !p.leaving && i.nowMs - p.lastHeardMs < i.workerTimeoutMs) decisions.push(up(id, p, i.nowMs));
  }
  return decisions;
}

function up(id: string, p: ExternalPresence, nowMs: number): LivenessDecision {
  return { worker: id, command: { type: "workerUp", worker: id, capacity: p.capacity, nowMs, kind: "external", tags: [...p.tags] } };
}

function sameTags(a: readonly string[], b: readonly string[]): boolean {
  return a.length === b.length && a.every((t, k) => t === b[k]);
}
