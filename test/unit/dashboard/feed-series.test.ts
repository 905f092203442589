// The dashboard's sparkline series: per-second counts, the median submit → finish latency, a one-minute window,
// and the bounds that keep it small under any backlog.
import { describe, expect, it } from "vitest";
import { MAX_SAMPLES_PER_STEP, MAX_TRACKED_SUBMITS, SERIES_POINTS, ThroughputSeries, median } from "../../../src/dashboard/feed-series.js";

const T0 = 1_700_000_000_000; // a whole second

describe("ThroughputSeries", () => {
  it("counts submits and finishes per second and measures submit → finish", () => {
    const s = new ThroughputSeries();
    s.noteSubmitted("a", T0 + 100);
    s.noteSubmitted("b", T0 + 200);
    s.noteFinished("a", T0 + 1_400); // 1300 ms
    s.noteFinished("b", T0 + 1_500); // 1300 ms
    s.noteFinished("unknown", T0 + 1_600); // finished, no submit time known: counted, not sampled
    const v = s.view(T0 + 1_700);
    expect(v.submitted.length).toBe(SERIES_POINTS);
    expect(v.submitted.slice(-2)).toEqual([2, 0]);
    expect(v.finished.slice(-2)).toEqual([0, 3]);
    expect(v.latencyP50Ms.slice(-2)).toEqual([null, 1_300]);
    expect(v.endMs).toBe(T0 + 2_000);
  });

  it("shows zeros for quiet seconds and forgets what is older than the window", () => {
    const s = new ThroughputSeries();
    s.noteSubmitted("old", T0);
    s.noteSubmitted("x", T0 + 5_000);
    const v = s.view(T0 + 7_000);
    expect(v.submitted.slice(-8)).toEqual([1, 0, 0, 0, 0, 1, 0, 0]);
    const later = s.view(T0 + (SERIES_POINTS + 1) * 1_000);
    expect(later.submitted.reduce((a, b) => a + b, 0)).toBe(1); // only "x" is still inside the minute
  });

  it("keeps at most MAX_TRACKED_SUBMITS submit times, forgetting the oldest", () => {
    const s = new ThroughputSeries();
    for (let i = 0; i < MAX_TRACKED_SUBMITS + 10; i++) s.noteSubmitted(`t${i}`, T0);
    expect(s.trackedSubmits).toBe(MAX_TRACKED_SUBMITS);
    s.noteFinished("t0", T0 + 10); // forgotten: no sample
    s.noteFinished(`t${MAX_TRACKED_SUBMITS + 9}`, T0 + 20);
    expect(s.view(T0 + 20).latencyP50Ms.at(-1)).toBe(20);
  });

  it("samples at most MAX_SAMPLES_PER_STEP latencies a second but counts every finish", () => {
    const s = new ThroughputSeries();
    const n = MAX_SAMPLES_PER_STEP + 50;
    for (let i = 0; i < n; i++) s.noteSubmitted(`t${i}`, T0);
    for (let i = 0; i < n; i++) s.noteFinished(`t${i}`, T0 + 1_000 + (i < MAX_SAMPLES_PER_STEP ? 10 : 900));
    const v = s.view(T0 + 1_000);
    expect(v.finished.at(-1)).toBe(n);
    expect(v.latencyP50Ms.at(-1)).toBe(1_010);
  });

  it("counts a time before the newest second (the clock stepped back) in the newest one", () => {
    const s = new ThroughputSeries();
    s.noteSubmitted("a", T0 + 3_000);
    s.noteSubmitted("b", T0 + 1_000);
    expect(s.view(T0 + 3_000).submitted.at(-1)).toBe(2);
  });
});

describe("median", () => {
  it("is the middle value, or the rounded mean of the middle two", () => {
    expect(median([])).toBeNull();
    expect(median([5, 1, 3])).toBe(3);
    expect(median([4, 1, 2, 3])).toBe(3); // (2+3)/2 = 2.5 → 3
  });
});
