// What the composition root (src/server.ts) gives a replica: the HTTP server in front, the way a local attempt's
// outcome and progress reach the leader, and the observers of what it applies (metrics, watch, dashboard).
import type { Role } from "../raft/types.js";
import type { ApplyResult, JsonValue } from "../scheduler/types.js";
import type { ReplicaObserver } from "./replica-observer.js";
import type { ReplicaWiring } from "./replica-wiring.js";
import type { Outcome } from "./task-executor.js";

export interface ReplicaHooks {
  /** Called once during start(), after the transport exists and before the runner starts: put the HTTP server in
   *  front (the transport shares its port through `wiring.attach`), listening, and return how to close it. */
  serve(wiring: ReplicaWiring): Promise<{ close(): Promise<void> }>;
  /** Reports a local task attempt's outcome (through the leader, as any client's report). */
  reportOutcome(id: string, attempt: number, outcome: Outcome): Promise<void>;
  /** Tells the leader this node's count of aborted handlers still running (POST /v1/workers/<id>/lingering). */
  reportLingering?(count: number): Promise<void>;
  onApplied?(result: ApplyResult, index: number): void;
  onRestored?(index: number): void; // the table became a snapshot's at `index` (at start, or the leader's)
  /** Tells the leader a running attempt's progress (POST /v1/tasks/<id>/progress; src/node/task-progress.ts). */
  reportProgress?(id: string, attempt: number, progress: JsonValue): Promise<void>;
  onRoleChange?(role: Role, term: number): void;
  /** The metrics' timings from the runner and the store (replica-observer.ts). */
  readonly observer?: ReplicaObserver;
}
