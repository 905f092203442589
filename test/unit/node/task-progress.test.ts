// Task progress (src/node/task-progress.ts): checked input, the leader's bounded in-memory board, the 409 for an
// attempt that is not running, and the member's coalescing sender.
import { describe, expect, it } from "vitest";
import {
  MAX_PROGRESS_BYTES,
  ProgressBoard,
  ProgressSender,
  acceptProgress,
  parseProgressBody,
  progressShown,
} from "../../../src/node/task-progress.js";
import type { Task } from "../../../src/scheduler/types.js";

const task = (over: Partial<Task> = {}): Task => ({
  id: "t", state: "assigned", worker: "n1", attempt: 2, payload: null, priority: 0, maxAttempts: 3,
  requires: [], timeoutMs: null, runAt: null, createdIndex: 1, updatedIndex: 2, ...over,
});
const codeOf = (f: () => unknown): string | undefined => {
  try {
    f();
  } catch (err) {
    return (err as { code?: string }).code;
  }
  return undefined;
};

describe("progress", () => {
  it("checks the body, naming the field", () => {
    expect(parseProgressBody({ attempt: 1, progress: { done: 3, of: 10 } })).toEqual({ attempt: 1, progress: { done: 3, of: 10 } });
    expect(codeOf(() => parseProgressBody({ attempt: 0, progress: 1 }))).toBe("BAD_FIELD");
    expect(codeOf(() => parseProgressBody({ attempt: 1 }))).toBe("BAD_FIELD");
    expect(codeOf(() => parseProgressBody({ attempt: 1, progress: 1, extra: 1 }))).toBe("BAD_FIELD");
    expect(codeOf(() => parseProgressBody({ attempt: 1, progress: "x".repeat(MAX_PROGRESS_BYTES) }))).toBe("BAD_FIELD");
    expect(codeOf(() => parseProgressBody([1]))).toBe("BAD_REQUEST");
  });

  it("the leader keeps it for the running attempt only, and refuses other attempts with STALE_ATTEMPT", () => {
    const board = new ProgressBoard();
    expect(acceptProgress(task(), "t", { attempt: 2, progress: 0.5 }, board)).toEqual({ id: "t", attempt: 2, progress: 0.5 });
    expect(progressShown(task(), board)).toMatchObject({ progress: 0.5 });
    expect(progressShown(task({ attempt: 3 }), board)).not.toHaveProperty("progress"); // a newer attempt starts blank
    expect(codeOf(() => acceptProgress(task(), "t", { attempt: 1, progress: 1 }, board))).toBe("STALE_ATTEMPT");
    expect(codeOf(() => acceptProgress(task({ state: "completed" }), "t", { attempt: 2, progress: 1 }, board))).toBe("STALE_ATTEMPT");
    expect(codeOf(() => acceptProgress(undefined, "t", { attempt: 2, progress: 1 }, board))).toBe("NOT_FOUND");
  });

  it("the board is bounded: the least recently reported task goes first", () => {
    const board = new ProgressBoard(3);
    for (const id of ["a", "b", "c"]) board.set(id, { attempt: 1, progress: id });
    board.set("a", { attempt: 1, progress: "a2" }); // a is now the most recent
    board.set("d", { attempt: 1, progress: "d" });
    expect(board.size).toBe(3);
    expect(board.get("b", 1)).toBeUndefined();
    expect(board.get("a", 1)).toBe("a2");
  });

  it("the member sends one report at a time per attempt, later values coalescing into the latest", async () => {
    const sent: unknown[] = [];
    let release!: () => void;
    const sender = new ProgressSender(async (_id, _attempt, value) => {
      sent.push(value);
      if (sent.length === 1) await new Promise<void>((r) => (release = r));
    });
    sender.report("t", 1, 1);
    for (let i = 2; i <= 50; i++) sender.report("t", 1, i);
    expect(sent).toEqual([1]);
    release();
    await new Promise((r) => setTimeout(r, 10));
    expect(sent).toEqual([1, 50]);
  });
});
