// An external worker's progress frame on the leader (src/api/worker-progress.ts): kept only for the attempt the
// worker runs now, fenced like a report, never answered with an error that names the task.
import { describe, expect, it } from "vitest";
import { takeWorkerProgress } from "../../../src/api/worker-progress.js";
import { ProgressBoard, progressShown } from "../../../src/node/task-progress.js";
import type { Task } from "../../../src/scheduler/types.js";

const task = (state: Task["state"], worker: string | null, attempt: number): Task =>
  ({ id: "t1", state, worker, attempt, payload: null, priority: 0, maxAttempts: 3, createdIndex: 1, updatedIndex: 2 }) as Task;
const frame = (attempt: number, progress: unknown = { done: 1 }) => ({ type: "progress" as const, taskId: "t1", attempt, progress: progress as never });

describe("takeWorkerProgress", () => {
  it("the worker's running attempt: kept on the leader's board, shown on the task, no answer", () => {
    const board = new ProgressBoard();
    const t = task("assigned", "w1", 2);
    expect(takeWorkerProgress(t, "w1", frame(2, { done: 5 }), board)).toEqual([]);
    expect(progressShown(t, board)).toMatchObject({ progress: { done: 5 } });
  });

  it("a superseded attempt: refused (STALE_ATTEMPT) and aborted, and nothing kept", () => {
    const board = new ProgressBoard();
    const answers = takeWorkerProgress(task("assigned", "w2", 3), "w1", frame(2), board);
    expect(answers.map((a) => a.type)).toEqual(["refused", "abort"]);
    expect(answers[0]).toMatchObject({ taskId: "t1", attempt: 2, code: "STALE_ATTEMPT" });
    expect(board.size).toBe(0);
  });

  it("another worker's attempt or an unknown task: NOT_HELD without a taskId field (it must not cancel a report)", () => {
    const board = new ProgressBoard();
    for (const t of [task("assigned", "w2", 1), undefined]) {
      const answers = takeWorkerProgress(t, "w1", frame(1), board);
      expect(answers).toHaveLength(1);
      expect(answers[0]).toMatchObject({ type: "error", code: "NOT_HELD" });
      expect(answers[0]).not.toHaveProperty("taskId");
    }
    expect(board.size).toBe(0);
  });

  it("the worker's attempt that just ended: dropped in silence", () => {
    const board = new ProgressBoard();
    expect(takeWorkerProgress(task("completed", "w1", 1), "w1", frame(1), board)).toEqual([]);
    expect(board.size).toBe(0);
  });
});
