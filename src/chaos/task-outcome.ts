// How an HTTP answer becomes an observation of the task model (task-model.ts): which answers say something about
// the task, which certainly changed nothing, and which leave the outcome unknown. Apart from the model so the model
// file holds only the model.
import type { OutcomeClass } from "./history.js";
import type { TaskInput, TaskOutput, TaskStatus, TaskView } from "./task-model.js";

export interface TaskOutcomeClassifierOptions {
  /** Error codes of 503 answers given before anything was proposed (e.g. no leader known, so nothing was
   *  forwarded). Such answers are dropped; every other 503 may follow a proposal and counts as unknown. */
  readonly notExecuted503Codes?: readonly string[];
}

/**
 * Which answers are observations. 400, 401 and 413 are refused before anything is proposed: dropped.
 * No answer (status 0), 5xx and statuses the contract does not name: unknown. The rest are observations.
 */
export function taskOutcomeClassifier(
  options: TaskOutcomeClassifierOptions = {},
): (input: TaskInput, output: TaskOutput) => OutcomeClass {
  const notExecuted503 = new Set(options.notExecuted503Codes ?? []);
  return (_input, output) => {
    const status = output.status;
    if (status === 400 || status === 401 || status === 413) return "drop";
    if (status === 503 && output.code !== undefined && notExecuted503.has(output.code)) return "drop";
    if (status === 200 || status === 201 || status === 404 || status === 409) return "observed";
    return "unknown";
  };
}

/** The default classifier: every 503 is unknown. */
export const classifyTaskOutcome = taskOutcomeClassifier();

/** Builds a TaskOutput from an HTTP status and parsed JSON body (status 0: no answer). */
export function taskOutputFromResponse(
  status: number,
  body: unknown,
  options: { readonly includePayload?: boolean } = {},
): TaskOutput {
  if (typeof body !== "object" || body === null) return { status };
  const b = body as Record<string, unknown>;
  if (typeof b.state === "string" && typeof b.attempt === "number") {
    const task: { -readonly [K in keyof TaskView]: TaskView[K] } = { state: b.state as TaskStatus, attempt: b.attempt };
    if (typeof b.worker === "string" || b.worker === null) task.worker = b.worker;
    if ((options.includePayload ?? true) && "payload" in b) task.payload = b.payload;
    if (typeof b.createdIndex === "number") task.createdIndex = b.createdIndex;
    if (typeof b.updatedIndex === "number") task.updatedIndex = b.updatedIndex;
    if (typeof b.maxAttempts === "number") task.maxAttempts = b.maxAttempts;
    if (typeof b.runAt === "number" || b.runAt === null) task.runAt = b.runAt;
    return { status, task };
  }
  const error = b.error;
  if (typeof error === "object" && error !== null && typeof (error as { code?: unknown }).code === "string") {
    const { code, message } = error as { code: string; message?: unknown };
    return typeof message === "string" ? { status, code, message } : { status, code };
  }
  return { status };
}
