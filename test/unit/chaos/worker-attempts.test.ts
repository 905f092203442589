// The chaos run's external-worker check (src/chaos/worker-attempts.ts), fed worker logs as `raftsched worker`
// writes them: a healthy run passes, and a broken one (the same attempt started on two workers) fires.
import { describe, expect, it } from "vitest";
import { attemptsOnTwoWorkers, readWorkerLog } from "../../../src/chaos/worker-attempts.js";

const line = (o: Record<string, unknown>) => JSON.stringify({ level: 30, time: 1, ...o });
const started = (worker: string, taskId: string, attempt: number) => line({ worker, taskId, attempt, msg: "attempt started" });

describe("chaos worker check", () => {
  it("reads attempt starts and refused reports from a worker log, skipping banners and cut lines", () => {
    const text = [
      "--- worker w1 started at 2026-12-07T00:00:00Z ---",
      started("w1", "t1", 1),
      line({ worker: "w1", taskId: "t1", attempt: 1, code: "STALE_ATTEMPT", msg: "report refused" }),
      started("w1", "t2", 3),
      '{"level":30,"msg":"attempt sta', // SIGKILL mid-line
    ].join("\n");
    expect(readWorkerLog("w1", text)).toEqual({
      starts: [
        { worker: "w1", taskId: "t1", attempt: 1 },
        { worker: "w1", taskId: "t2", attempt: 3 },
      ],
      refused: 1,
    });
  });

  it("a healthy run: reassignment gives a new attempt, a restarted worker may start its own attempt again", () => {
    const starts = [
      ...readWorkerLog("w1", [started("w1", "t1", 1), started("w1", "t1", 1)].join("\n")).starts,
      ...readWorkerLog("w2", started("w2", "t1", 2)).starts,
    ];
    expect(attemptsOnTwoWorkers(starts)).toEqual([]);
  });

  it("a broken run: the same attempt started on two workers fires", () => {
    const starts = [...readWorkerLog("w1", started("w1", "t1", 2)).starts, ...readWorkerLog("w2", started("w2", "t1", 2)).starts];
    expect(attemptsOnTwoWorkers(starts)).toEqual([{ taskId: "t1", attempt: 2, workers: ["w1", "w2"] }]);
  });
});
