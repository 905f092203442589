// The cron parser against known tables: each row's next/previous firing worked out by hand (UTC).
import { describe, expect, it } from "vitest";
import { cronNext, cronPrev, parseCron } from "../../../src/scheduler/cron.js";
import { cronProblem, dueSlot, nextSlot } from "../../../src/scheduler/schedule-record.js";

const at = (iso: string) => Date.parse(iso);
const iso = (ms: number | null) => (ms === null ? null : new Date(ms).toISOString().replace(".000Z", "Z"));

// [expression, from, next after from, previous at or before from]
const TABLE: ReadonlyArray<readonly [string, string, string, string]> = [
  ["* * * * *", "2026-12-07T19:30:30Z", "2026-12-07T19:31:00Z", "2026-12-07T19:30:00Z"],
  ["*/5 * * * *", "2026-12-07T19:31:00Z", "2026-12-07T19:35:00Z", "2026-12-07T19:30:00Z"],
  ["0 * * * *", "2026-12-07T19:00:00Z", "2026-12-07T20:00:00Z", "2026-12-07T19:00:00Z"],
  ["30 2 * * *", "2026-12-31T03:00:00Z", "2027-01-01T02:30:00Z", "2026-12-31T02:30:00Z"],
  ["0 9 * * mon-fri", "2026-12-05T10:00:00Z", "2026-12-07T09:00:00Z", "2026-12-04T09:00:00Z"], // Sat → Mon; Fri before
  ["0 0 1 * *", "2026-12-07T00:00:00Z", "2027-01-01T00:00:00Z", "2026-12-01T00:00:00Z"],
  ["0 0 29 2 *", "2026-03-01T00:00:00Z", "2028-02-29T00:00:00Z", "2024-02-29T00:00:00Z"],
  ["0 12 13 * 5", "2026-12-07T00:00:00Z", "2026-12-11T12:00:00Z", "2026-12-04T12:00:00Z"], // 13th OR Friday
  ["15,45 8-10/2 * jan,jul sun", "2026-12-07T00:00:00Z", "2027-01-03T08:15:00Z", "2026-07-26T10:45:00Z"],
  ["0 0 * * 7", "2026-12-07T00:00:00Z", "2026-12-13T00:00:00Z", "2026-12-06T00:00:00Z"],
  ["@hourly", "2026-12-07T19:30:00Z", "2026-12-07T20:00:00Z", "2026-12-07T19:00:00Z"],
  ["5/20 * * * *", "2026-12-07T19:30:00Z", "2026-12-07T19:45:00Z", "2026-12-07T19:25:00Z"],
];

describe("cron", () => {
  it.each(TABLE)("%s from %s", (expr, from, next, prev) => {
    const spec = parseCron(expr);
    expect(iso(cronNext(spec, at(from)))).toBe(next);
    expect(iso(cronPrev(spec, at(from)))).toBe(prev);
  });

  it("refuses bad syntax naming the field, and an expression that never fires", () => {
    expect(cronProblem("* * * *")).toMatch(/5 fields/);
    expect(cronProblem("60 * * * *")).toMatch(/minute.*outside/);
    expect(cronProblem("* 24 * * *")).toMatch(/hour/);
    expect(cronProblem("* * 0 * *")).toMatch(/day of month/);
    expect(cronProblem("* * * 13 *")).toMatch(/month/);
    expect(cronProblem("* * * * 8")).toMatch(/day of week/);
    expect(cronProblem("*/0 * * * *")).toMatch(/minute/);
    expect(cronProblem("5-1 * * * *")).toMatch(/backwards/);
    expect(cronProblem("0 0 30 2 *")).toMatch(/never fires/);
    expect(cronProblem("0 0 31 4,6,9,11 *")).toMatch(/never fires/);
    expect(cronProblem(42)).toMatch(/string/);
    expect(cronProblem("0 0 29 2 *")).toBeNull();
  });
});

describe("a schedule's due slot", () => {
  const every = { id: "s", everyMs: 60_000, cron: null, task: { payload: 1, priority: 0, maxAttempts: 1 }, createdAtMs: 90_000, lastSlotMs: 90_000 };
  it("everyMs: epoch multiples after the last fired; after downtime only the latest missed slot, once", () => {
    expect(nextSlot(every, 90_000)).toBe(120_000);
    expect(dueSlot(every, 119_999)).toBeNull();
    expect(dueSlot(every, 120_000)).toBe(120_000);
    expect(dueSlot(every, 600_500)).toBe(600_000); // slots 120k..540k missed: not replayed
    expect(dueSlot({ ...every, lastSlotMs: 600_000 }, 600_500)).toBeNull();
  });
  it("cron: the latest matching minute after the last fired", () => {
    const s = { ...every, everyMs: null, cron: "*/10 * * * *", lastSlotMs: at("2026-12-07T19:00:00Z") };
    expect(dueSlot(s, at("2026-12-07T19:09:59Z"))).toBeNull();
    expect(iso(dueSlot(s, at("2026-12-07T19:10:00Z")))).toBe("2026-12-07T19:10:00Z");
    expect(iso(dueSlot(s, at("2026-12-07T21:05:00Z")))).toBe("2026-12-07T21:00:00Z");
  });
});
