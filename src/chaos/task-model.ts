// The sequential specification of one raftsched task, for the linearizability checker.
//
// Clients act on a task through submit, get (a linearizable read), complete, fail and cancel. The cluster
// also changes a task on its own, at any time: it assigns a pending task (attempt + 1), reassigns it
// (attempt + 1), sends it back to pending when its worker dies (attempt kept), and its worker completes or
// fails it. Those internal transitions are not in the history, so the model treats them as silent steps that
// may happen between any two operations: a model state stands for "this, or anything the cluster can reach
// from it on its own", and an observation is legal when it is reachable that way (`reachable` below).
//
// The silent transitions (attempt written after the state; w = worker):
//   pending a      -> assigned a+1 (any worker)
//   assigned a, w  -> assigned a+1 (reassignment) | pending a (worker dead) | completed a, w | dead a, w
//   pending a      -> dead a (attempts exhausted)
//   completed, dead, cancelled: final. A new task is pending 0 ("0 before the first assignment").
// Hence from pending a one can reach pending >=a, assigned >=a+1, completed >=a+1, dead >=a; from assigned
// a, w: assigned a with the same worker or >a with any, pending >=a, completed/dead >=a (same worker at a).
// Cancelled is reached only by a client's cancel. Clients also delete a finished task (it reads 404 from then on)
// and retry a dead or cancelled one (pending again, attempt kept): task-model-lifecycle.ts.
//
// Anomalies this model catches (per task id):
//  - a lost task: a read answers 404 after a submit was acknowledged (or after anything saw the task), unless a
//    delete came between; a deleted task read back as present (with no submit creating it anew since);
//  - a duplicated task: two submits answered 201, or 201 after the task was already seen (and not deleted);
//  - a retry applied twice, or a retry of a task that was not dead or cancelled (or refused although it was);
//  - a wrong payload: a read or a 200-submit shows a payload other than the creating submit's (when recorded);
//  - a stale completion or failure accepted: complete/fail with attempt a answered 200 when the task can no
//    longer be assigned at attempt a (someone already saw a later attempt or a final state);
//  - two current attempts: the same attempt seen assigned to two different workers;
//  - time going backwards: a read showing a smaller attempt than one already seen, a final state followed by
//    another state, an assignment that did not increase the attempt, a cancelled task nobody cancelled;
//  - a refused current completion: complete/fail answered 409 although the task was (and stayed) assigned at
//    that attempt (a read before and after both saw it assigned at that attempt with the same worker);
//  - any stale (non-linearizable) read of the above.
// Not checked: how fast the cluster moves (assignment latency, worker timeouts), maxAttempts bounds,
// priorities, results and errors, ?stale=true reads (keep them out of the history), and tasks whose
// submits are not in the history.
// Lenient on purpose, where the HTTP API (README, "Task lifecycle") leaves a choice to the implementation: a repeated complete of the
// attempt that already completed, or a repeated fail of the attempt that made the task dead, may answer 200 or 409; cancel of a finished task may answer 200 (showing
// it unchanged) or 409; a submit's answer may already show the task assigned.

import { createHash } from "node:crypto";
import type { Operation, OutcomeClass } from "./history.js";
import type { Model } from "./linearizability.js";
import { stepDelete, stepRetry } from "./task-model-lifecycle.js";

// The model's inputs, outputs and states live in task-model-types.ts (task-model-lifecycle.ts reads them too).
export type { KnownTask, TaskInput, TaskModelState, TaskOutput, TaskStatus, TaskView } from "./task-model-types.js";
import type { KnownTask, TaskInput, TaskModelState, TaskOutput, TaskStatus, TaskView } from "./task-model-types.js";

export class TaskModelError extends Error {
  constructor(
    readonly code: "UNCLASSIFIED_OUTPUT",
    message: string,
  ) {
    super(message);
    this.name = "TaskModelError";
  }
}

const FINAL: ReadonlySet<TaskStatus> = new Set(["completed", "dead", "cancelled"]);
const isFinal = (status: TaskStatus): boolean => FINAL.has(status);

export const taskModel: Model<TaskModelState, TaskInput, TaskOutput> = {
  init: () => null,
  step: stepTask,
  hash: hashTask,
  partition: partitionByTaskId,
  describeOperation: describeTaskOperation,
};


// ---------------------------------------------------------------------------------------------------------

/** Whether the cluster can take `from` to (a state shown as) `view` on its own, in zero or more steps. */
export function reachable(from: KnownTask, view: TaskView): boolean {
  if (!payloadAgrees(from.payloadKey, view.payload)) return false;
  const k = view.attempt;
  const a = from.attempt;
  if (!Number.isSafeInteger(k) || k < 0) return false;
  const sameWorker = workersAgree(from.worker, view.worker);
  if (isFinal(from.status)) {
    if (view.state !== from.status) return false;
    return from.attemptExact ? k === a && sameWorker : k >= a;
  }
  if (from.status === "pending") {
    switch (view.state) {
      case "pending":
      case "dead":
        return k >= a;
      case "assigned":
      case "completed":
        return k >= a + 1;
      case "cancelled":
        return false;
    }
  }
  // assigned at a
  switch (view.state) {
    case "pending":
      return k >= a;
    case "assigned":
    case "completed":
    case "dead":
      return k > a || (k === a && sameWorker);
    case "cancelled":
      return false;
  }
  return false;
}

function stepTask(state: TaskModelState, input: TaskInput, output: TaskOutput | undefined): TaskModelState[] {
  if (output !== undefined) rejectUnclassified(input, output);
  switch (input.type) {
    case "submit":
      return stepSubmit(state, input.payload, output);
    case "get":
      return stepGet(state, output);
    case "complete":
      return stepComplete(state, input.attempt, output);
    case "fail":
      return stepFail(state, input.attempt, output);
    case "cancel":
      return stepCancel(state, output);
    case "delete":
      return stepDelete(state, output);
    case "retry":
      return stepRetry(state, output, reachable);
  }
}

function stepSubmit(state: TaskModelState, payload: unknown, output: TaskOutput | undefined): TaskModelState[] {
  const created: KnownTask = {
    status: "pending",
    attempt: 0,
    attemptExact: true,
    worker: null,
    payloadKey: payload === undefined ? null : payloadDigest(payload),
  };
  // Unknown: if it took effect on an existing task it changed nothing, which is the same as not at all.
  if (output === undefined) return state === null ? [created] : [];
  if (output.status === 201) return state === null ? observe(created, output.task) : [];
  if (output.status === 200) return state === null ? [] : observe(state, output.task);
  return [];
}

function stepGet(state: TaskModelState, output: TaskOutput | undefined): TaskModelState[] {
  if (output === undefined) return []; // a read with no answer changes nothing
  if (output.status === 404) return state === null ? [null] : [];
  if (output.status === 200 && state !== null) return observe(state, output.task);
  return [];
}

function stepComplete(state: TaskModelState, attempt: number, output: TaskOutput | undefined): TaskModelState[] {
  if (state === null) return output?.status === 404 ? [null] : [];
  const assignedThen = canBeAssignedAt(state, attempt);
  const done = finishedAt(state, "completed", attempt);
  if (output === undefined) return assignedThen ? [done] : [];
  switch (output.status) {
    case 200: {
      if (assignedThen) return observe(done, output.task);
      // A retried completion of the attempt that already completed (lenient: see the header).
      if (state.status === "completed" && (state.attemptExact ? state.attempt === attempt : attempt >= state.attempt)) {
        return observe({ ...state, attempt, attemptExact: true }, output.task);
      }
      return [];
    }
    case 409:
      return refusedAttempt(state, attempt);
    default:
      return [];
  }
}

function stepFail(state: TaskModelState, attempt: number, output: TaskOutput | undefined): TaskModelState[] {
  if (state === null) return output?.status === 404 ? [null] : [];
  if (output?.status === 409) return refusedAttempt(state, attempt);
  if (output !== undefined && output.status !== 200) return [];
  if (!canBeAssignedAt(state, attempt)) {
    // A retried failure of the attempt that made the task dead (lenient, like a retried completion).
    if (output !== undefined && state.status === "dead" && (state.attemptExact ? state.attempt === attempt : attempt >= state.attempt)) {
      return observe({ ...state, attempt, attemptExact: true }, output.task);
    }
    return [];
  }
  // A failure either goes back to pending for a retry (attempt kept until the next assignment) or is final.
  const retried: KnownTask = { status: "pending", attempt, attemptExact: true, worker: null, payloadKey: state.payloadKey };
  const dead = finishedAt(state, "dead", attempt);
  if (output === undefined) return [retried, dead];
  return [...observe(retried, output.task), ...observe(dead, output.task)];
}

function stepCancel(state: TaskModelState, output: TaskOutput | undefined): TaskModelState[] {
  if (state === null) return output?.status === 404 ? [null] : [];
  // Cancelled at whatever attempt the task had reached by then: at least the current one.
  const cancelled: KnownTask = { status: "cancelled", attempt: state.attempt, attemptExact: false, worker: null, payloadKey: state.payloadKey };
  if (output === undefined) return isFinal(state.status) ? [] : [cancelled];
  if (output.status === 200) {
    const view = output.task;
    if (view === undefined) return isFinal(state.status) ? [state] : [cancelled];
    if (view.state === "cancelled") {
      if (state.status === "cancelled") return observe(state, view);
      if (isFinal(state.status)) return [];
      return observe(cancelled, view);
    }
    // Cancelling a task that had already finished (on its own, unseen, or seen) shows it unchanged.
    if (isFinal(view.state) && reachable(state, view)) return [toKnown(state, view)];
    return [];
  }
  if (output.status === 409) {
    // Refused because the task had already finished: it had reached a final state other than cancelled.
    if (isFinal(state.status)) return [state];
    const base = { attemptExact: false, worker: null, payloadKey: state.payloadKey } as const;
    const firstCompletable = state.status === "pending" ? state.attempt + 1 : state.attempt;
    return [
      { ...base, status: "completed", attempt: firstCompletable },
      { ...base, status: "dead", attempt: state.attempt },
    ];
  }
  return [];
}

/** A 409 to complete/fail at `attempt`: at that moment the task was not assigned at that attempt. */
function refusedAttempt(state: KnownTask, attempt: number): TaskModelState[] {
  if (state.status !== "assigned" || state.attempt !== attempt) {
    // The current state itself (or one reachable from it) is not "assigned at attempt", and everything the
    // cluster could do meanwhile stays reachable from it: nothing is learned.
    return [state];
  }
  // Exactly assigned at that attempt: the cluster must have moved on first. Everything strictly after
  // "assigned a, w" is reachable from one of these three.
  const base = { attempt, attemptExact: true, payloadKey: state.payloadKey } as const;
  return [
    { ...base, status: "pending", worker: null },
    { ...base, status: "completed", worker: state.worker },
    { ...base, status: "dead", worker: state.worker },
  ];
}

function canBeAssignedAt(state: KnownTask, attempt: number): boolean {
  return reachable(state, { state: "assigned", attempt });
}

/** The task finished at `attempt`, keeping the worker when it is the one we know for that attempt. */
function finishedAt(state: KnownTask, status: "completed" | "dead", attempt: number): KnownTask {
  const worker = state.status === "assigned" && state.attempt === attempt ? state.worker : null;
  return { status, attempt, attemptExact: true, worker, payloadKey: state.payloadKey };
}

/** The states after an answer showing `view` (none when unreachable); no view recorded: `from` itself. */
function observe(from: KnownTask, view: TaskView | undefined): TaskModelState[] {
  if (view === undefined) return [from];
  return reachable(from, view) ? [toKnown(from, view)] : [];
}

function toKnown(from: KnownTask, view: TaskView): KnownTask {
  return {
    status: view.state,
    attempt: view.attempt,
    attemptExact: true,
    worker: view.state === "pending" ? null : (view.worker ?? null),
    payloadKey: from.payloadKey ?? (view.payload === undefined ? null : payloadDigest(view.payload)),
  };
}

function workersAgree(known: string | null, seen: string | null | undefined): boolean {
  return known === null || seen === undefined || seen === null || known === seen;
}

function payloadAgrees(key: string | null, payload: unknown): boolean {
  return key === null || payload === undefined || payloadDigest(payload) === key;
}

/** Statuses that must never reach the model: the classifier turns them into drops or unknowns. */
function rejectUnclassified(input: TaskInput, output: TaskOutput): void {
  const s = output.status;
  if (s === 0 || s === 400 || s === 401 || s === 413 || s >= 500) {
    throw new TaskModelError(
      "UNCLASSIFIED_OUTPUT",
      `${input.type} ${input.id} answered ${s}: pass classifyTaskOutcome to toOperations/checkHistory`,
    );
  }
}

function hashTask(state: TaskModelState): string {
  if (state === null) return "absent";
  return `${state.status} ${state.attempt}${state.attemptExact ? "" : "+"} ${state.worker ?? "-"} ${state.payloadKey ?? "-"}`;
}

function partitionByTaskId(ops: readonly Operation<TaskInput, TaskOutput>[]): Operation<TaskInput, TaskOutput>[][] {
  const byId = new Map<string, Operation<TaskInput, TaskOutput>[]>();
  for (const op of ops) {
    // A read with no answer constrains nothing.
    if (op.input.type === "get" && op.output === undefined) continue;
    let list = byId.get(op.input.id);
    if (list === undefined) byId.set(op.input.id, (list = []));
    list.push(op);
  }
  return [...byId.values()];
}

function describeTaskOperation(op: Operation<TaskInput, TaskOutput>): string {
  const i = op.input;
  const call = i.type === "complete" || i.type === "fail" ? `${i.type} ${i.id} attempt ${i.attempt}` : `${i.type} ${i.id}`;
  const o = op.output;
  if (o === undefined) return `${call} -> unknown`;
  const task = o.task ? ` ${o.task.state}/${o.task.attempt}${o.task.worker ? `@${o.task.worker}` : ""}` : "";
  return `${call} -> ${o.status}${o.code ? ` ${o.code}` : ""}${task}`;
}

// The search looks at the same output objects many times; digest each object once.
const digestCache = new WeakMap<object, string>();

/** Canonical JSON (keys sorted), digested: equal payloads give equal keys, and states stay small. */
function payloadDigest(payload: unknown): string {
  if (typeof payload !== "object" || payload === null) return digestOf(payload);
  let digest = digestCache.get(payload);
  if (digest === undefined) digestCache.set(payload, (digest = digestOf(payload)));
  return digest;
}

function digestOf(payload: unknown): string {
  return createHash("sha256").update(canonicalJson(payload)).digest("base64url").slice(0, 16);
}

function canonicalJson(value: unknown): string {
  if (Array.isArray(value)) return `[${value.map(canonicalJson).join(",")}]`;
  if (typeof value === "object" && value !== null) {
    const entries = Object.keys(value)
      .sort()
      .map((k) => `${JSON.stringify(k)}:${canonicalJson((value as Record<string, unknown>)[k])}`);
    return `{${entries.join(",")}}`;
  }
  return JSON.stringify(value) ?? "null";
}
