// The SDK's progress sender (src/worker/progress-frames.ts): the latest value per attempt, at most one frame per
// PROGRESS_MIN_INTERVAL_MS, nothing after the attempt ends, and a bad value refused at the call.
import { afterEach, beforeEach, describe, expect, it, vi } from "vitest";
import { PROGRESS_MIN_INTERVAL_MS, ProgressFrames } from "../../../src/worker/progress-frames.js";

let sent: Array<Record<string, unknown>>;
let frames: ProgressFrames;

beforeEach(() => {
  vi.useFakeTimers();
  sent = [];
  frames = new ProgressFrames((f) => (sent.push(f), true), () => Date.now());
});
afterEach(() => vi.useRealTimers());

describe("ProgressFrames", () => {
  it("sends the first value at once; calls within the interval coalesce into the latest", () => {
    frames.report("t1", 1, 0.1);
    expect(sent).toEqual([{ type: "progress", taskId: "t1", attempt: 1, progress: 0.1 }]);
    for (let i = 2; i <= 100; i++) frames.report("t1", 1, i / 100);
    expect(sent).toHaveLength(1);
    vi.advanceTimersByTime(PROGRESS_MIN_INTERVAL_MS);
    expect(sent).toHaveLength(2);
    expect(sent[1]).toEqual({ type: "progress", taskId: "t1", attempt: 1, progress: 1 });
    vi.advanceTimersByTime(10 * PROGRESS_MIN_INTERVAL_MS);
    expect(sent).toHaveLength(2); // nothing new to send
  });

  it("nothing is sent for an attempt that ended, and its state is dropped", () => {
    frames.report("t1", 1, "a");
    frames.report("t1", 1, "b"); // waiting for the interval
    frames.forget("t1", 1);
    vi.advanceTimersByTime(PROGRESS_MIN_INTERVAL_MS * 2);
    expect(sent.map((f) => f.progress)).toEqual(["a"]);
    expect(frames.size).toBe(0);
  });

  it("a new attempt of the task starts afresh", () => {
    frames.report("t1", 1, "a");
    frames.report("t1", 2, "b");
    expect(sent.map((f) => [f.attempt, f.progress])).toEqual([
      [1, "a"],
      [2, "b"],
    ]);
    expect(frames.size).toBe(1);
  });

  it("a value the leader would refuse throws BAD_PROGRESS at the call and sends nothing", () => {
    expect(() => frames.report("t1", 1, "x".repeat(5000))).toThrow(expect.objectContaining({ code: "BAD_PROGRESS" }));
    expect(() => frames.report("t1", 1, Number.NaN)).toThrow(expect.objectContaining({ code: "BAD_PROGRESS" }));
    expect(() => frames.report("t1", 1, undefined)).toThrow(expect.objectContaining({ code: "BAD_PROGRESS" }));
    expect(sent).toEqual([]);
  });
});
