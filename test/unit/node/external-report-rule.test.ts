// Fencing of external workers' reports by worker and attempt (src/node/external-report-rule.ts).
import { describe, expect, it } from "vitest";
import { externalReportVerdict, stillHolds } from "../../../src/node/external-report-rule.js";

const t = (state: "pending" | "assigned" | "completed" | "cancelled", worker: string | null, attempt: number) => ({ state, worker, attempt });

describe("externalReportVerdict", () => {
  it("proposes only the worker's own current attempt", () => {
    expect(externalReportVerdict(t("assigned", "w1", 2), "w1", 2)).toBe("propose");
    expect(externalReportVerdict(t("completed", "w1", 2), "w1", 2)).toBe("propose"); // a repeat: the table answers it
  });

  it("an older attempt, or the current one after a requeue: stale (refused and aborted)", () => {
    expect(externalReportVerdict(t("assigned", "w2", 3), "w1", 2)).toBe("stale");
    expect(externalReportVerdict(t("pending", null, 2), "w1", 2)).toBe("stale");
  });

  it("an unknown task, an attempt never issued, another worker's current attempt: not held", () => {
    expect(externalReportVerdict(undefined, "w1", 1)).toBe("notHeld");
    expect(externalReportVerdict(t("assigned", "w1", 1), "w1", 2)).toBe("notHeld");
    expect(externalReportVerdict(t("assigned", "w2", 1), "w1", 1)).toBe("notHeld");
    expect(externalReportVerdict(t("assigned", "w1", 1), "w1", 0)).toBe("notHeld");
  });

  it("stillHolds: assigned to that worker at that attempt", () => {
    expect(stillHolds(t("assigned", "w1", 1), "w1", 1)).toBe(true);
    expect(stillHolds(t("cancelled", "w1", 1), "w1", 1)).toBe(false);
    expect(stillHolds(t("assigned", "w1", 2), "w1", 1)).toBe(false);
  });
});
