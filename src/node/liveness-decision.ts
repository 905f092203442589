// What the leader's liveness rules decide (worker-liveness.ts for members, external-worker-liveness.ts for external
// workers): a command to propose about one worker. In a file of its own so both rules can name it.
import type { WorkerDeadCommand, WorkerRemovedCommand, WorkerUpCommand } from "../scheduler/commands.js";

export type LivenessCommand = WorkerUpCommand | WorkerDeadCommand | WorkerRemovedCommand;

export interface LivenessDecision {
  readonly worker: string;
  readonly command: LivenessCommand;
  /** How long the worker was silent (set for workerDead). */
  readonly silentMs?: number;
}
