// The taskFieldPlacement checker on made-up histories: quiet on a placement that keeps the rules, firing on each
// rule broken.
import { describe, expect, it } from "vitest";
import { type FieldPlacementRecord, taskFieldPlacement } from "./task-field-checkers.js";
import type { SchedulerView } from "./view.js";

const view = (fieldPlacements: FieldPlacementRecord[]): SchedulerView => ({
  seed: 1, tick: 9, nodes: [], acks: [], creations: [], assignments: [], finishes: [], releases: [], tableStates: [], fieldPlacements,
});
const placed = (over: Partial<FieldPlacementRecord>): FieldPlacementRecord => ({
  id: "t1", attempt: 1, worker: "n2", node: "n1", index: 7, tick: 5, nowMs: 50, requires: [], runAt: null, workerTags: [], ...over,
});

describe("taskFieldPlacement", () => {
  it("is quiet when the worker carries the tags and the time has come", () => {
    expect(taskFieldPlacement(view([placed({ requires: ["gpu"], workerTags: ["gpu", "ssd"], runAt: 50 })]))).toEqual([]);
  });
  it("fires on a worker lacking a required tag", () => {
    const v = taskFieldPlacement(view([placed({ requires: ["gpu", "ssd"], workerTags: ["gpu"] })]));
    expect(v.map((x) => x.detail)).toEqual(["n1 applied attempt 1 of t1 on n2 at index 7 (tick 5), but it requires [gpu, ssd] and n2 carries [gpu]"]);
  });
  it("fires on an assignment before runAt", () => {
    const v = taskFieldPlacement(view([placed({ runAt: 80 })]));
    expect(v.map((x) => x.detail)).toEqual(["n1 applied attempt 1 of t1 on n2 at index 7 (tick 5), 30 ms before its runAt 80"]);
  });
});
