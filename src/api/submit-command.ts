// The submit entry the leader proposes for a checked submit body: every decision made here, once, on the leader's
// clock (its age, and delayMs turned into an absolute runAt), so every replica applies the same task and a new
// leader honours the same runAt.
import type { SubmitCommand } from "../scheduler/commands.js";
import { resolveRunAt } from "../scheduler/task-fields.js";
import type { SubmitInput } from "./request-input.js";

export function submitCommand(id: string, input: SubmitInput, leaderNowMs: number): SubmitCommand {
  const runAt = resolveRunAt(input, leaderNowMs);
  return {
    type: "submit",
    id,
    payload: input.payload,
    priority: input.priority,
    maxAttempts: input.maxAttempts,
    nowMs: leaderNowMs,
    ...(input.requires !== undefined && input.requires.length > 0 ? { requires: input.requires } : {}),
    ...(input.timeoutMs !== undefined ? { timeoutMs: input.timeoutMs } : {}),
    ...(runAt !== undefined ? { runAt } : {}),
  };
}
