// The chaos nemesis's fault kinds and what it records of each fault injected (nemesis.ts injects them; the worker
// faults are worker-faults.ts's).
export const FAULT_KINDS = ["kill-leader", "kill-random", "pause", "partition", "isolate-leader", "restart"] as const;
/** Kinds only run when named in --faults: the default set (and so every seed's schedule) stays as it was. */
export const OPT_IN_FAULT_KINDS = ["disk-stall"] as const;
/** Faults on external workers: in the default set only with --workers N (the schedule without stays as it was). */
export const WORKER_FAULT_KINDS = ["worker-kill", "worker-pause", "worker-disconnect"] as const;
export type WorkerFaultKind = (typeof WORKER_FAULT_KINDS)[number];
export type FaultKind = (typeof FAULT_KINDS)[number] | (typeof OPT_IN_FAULT_KINDS)[number] | WorkerFaultKind;

export function isWorkerFault(kind: string): kind is WorkerFaultKind {
  return (WORKER_FAULT_KINDS as readonly string[]).includes(kind);
}

export interface FaultRecord {
  readonly kind: FaultKind;
  readonly targets: readonly string[];
  readonly detail: string;
  readonly startMs: number;
  endMs: number;
  /** The leader when the fault began (null: none known). */
  readonly leaderAtStart: string | null;
  /** The fault took the leader away (killed, frozen, isolated): a failover the clients must ride out. */
  readonly leaderLost: boolean;
}
