// worker-slots.ts: the weights advanced on the records must be the integers smoothWeightedStep computes (apply on
// every replica and the snapshot depend on them), and the slots list only the alive workers, in the order given.
import { describe, expect, it } from "vitest";
import { advanceWeightsOf, liveSlotsOf, weightParticipantsOf } from "../../../src/scheduler/worker-slots.js";
import { smoothWeightedStep } from "../../../src/scheduler/smooth-weighted.js";
import type { WorkerRecord } from "../../../src/scheduler/records.js";

const rec = (id: string, capacity: number, alive = true, currentWeight = 0): WorkerRecord => ({ id, alive, capacity, changedAtMs: 0, currentWeight });

describe("worker slots", () => {
  it("advances the weights exactly as smoothWeightedStep, pick after pick, clamped", () => {
    const records = new Map([rec("a", 3), rec("b", 1), rec("c", 0), rec("d", 2, false), rec("e", 5, true, 9)].map((r) => [r.id, r]));
    const ids = [...records.keys()].sort();
    const participants = weightParticipantsOf(ids, records);
    expect(participants.map((r) => r.id)).toEqual(["a", "b", "e"]);
    let expected = new Map(participants.map((r) => [r.id, r.currentWeight]));
    for (const picked of ["e", "a", "a", "b", "e", "e", "e"]) {
      expected = smoothWeightedStep(expected, participants.map((r) => ({ id: r.id, capacity: r.capacity })), picked);
      advanceWeightsOf(participants, picked);
      expect(new Map(participants.map((r) => [r.id, r.currentWeight]))).toEqual(expected);
    }
  });

  it("lists the alive workers with their running counts and tags", () => {
    const records = new Map([rec("a", 2), rec("b", 1, false), { ...rec("c", 4), extras: { tags: ["gpu"] } }].map((r) => [r.id, r as WorkerRecord]));
    expect(liveSlotsOf(["a", "b", "c"], records, (id) => (id === "a" ? 1 : 0))).toEqual([
      { id: "a", active: 1, capacity: 2, tags: [] },
      { id: "c", active: 0, capacity: 4, tags: ["gpu"] },
    ]);
  });
});
