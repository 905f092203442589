// The task model's steps for the queue-lifecycle operations of issue 13 (README "Retention and deletion" and the
// HTTP API table): DELETE /v1/tasks/:id and POST /v1/tasks/:id/retry. Kept apart from task-model.ts so that file
// holds the running-work model; the search calls these through its stepTask.
//
//   delete  a completed, dead or cancelled task is removed: 200 { id, deleted: true }, and the task reads 404 from
//           then on (until a submit creates the id anew: an explicit DELETE does not remember the id); a pending or
//           assigned task answers 409 INVALID_STATE; an unknown id 404.
//   retry   a dead or cancelled task goes back to pending with its attempt count kept (the next assignment is
//           attempt + 1, so late answers of older attempts stay fenced); 409 INVALID_STATE for any other state
//           (a retry applied twice is caught here: the second finds the task pending); an unknown id 404.
//
// Silent steps still apply: a pending or assigned task may have finished (completed or dead) unseen before a
// delete, so a 200 from a live-looking state is legal; a cancelled task never is reached unseen.
import type { KnownTask, TaskModelState, TaskOutput, TaskView } from "./task-model-types.js";

const FINAL = new Set(["completed", "dead", "cancelled"]);

export function stepDelete(state: TaskModelState, output: TaskOutput | undefined): TaskModelState[] {
  if (state === null) return output?.status === 404 ? [null] : [];
  // Unknown: if it took effect the task is gone; the search also tries "never happened" on its own.
  // Every live state can finish on its own (completed or dead) first, so a 200 is legal from any state.
  if (output === undefined) return [null];
  switch (output.status) {
    case 200:
      return [null];
    case 409:
      // The task was live at that instant: a final state cannot go back to live on its own.
      return FINAL.has(state.status) ? [] : [state];
    default:
      return [];
  }
}

export function stepRetry(state: TaskModelState, output: TaskOutput | undefined, reachable: (from: KnownTask, view: TaskView) => boolean): TaskModelState[] {
  if (state === null) return output?.status === 404 ? [null] : [];
  // Dead or cancelled, or live and then dead unseen (attempts exhausted); never a completed task.
  const retriable = state.status !== "completed";
  // Pending at the attempt the task had reached: exact when it was known exactly, else a lower bound that a later
  // answer pins down (pending a reaches pending >= a). Only a failed attempt makes a task dead, so a task seen
  // pending at a dies at a + 1 at the earliest: a second retry of a task the first one made pending at a, answered
  // pending at a, is a retry applied twice.
  const from = state.status === "pending" ? state.attempt + 1 : state.attempt;
  const retried = (attempt: number): KnownTask => ({ status: "pending", attempt, attemptExact: true, worker: null, payloadKey: state.payloadKey });
  if (output === undefined) return retriable ? [retried(from)] : [];
  switch (output.status) {
    case 200: {
      if (!retriable) return [];
      const view = output.task;
      if (view === undefined) return [retried(from)];
      // The answer shows the task right after the retry, or already moved on from pending.
      if (!reachable(retried(from), view)) return [];
      return [{ status: view.state, attempt: view.attempt, attemptExact: true, worker: view.state === "pending" ? null : (view.worker ?? null), payloadKey: state.payloadKey }];
    }
    case 409:
      // Not dead or cancelled at that instant. A dead or cancelled task stays so unless a client acts on it.
      return state.status === "dead" || state.status === "cancelled" ? [] : [state];
    default:
      return [];
  }
}
