import { describe, expect, it } from "vitest";
import {
  HistoryError,
  HistoryRecorder,
  historyToJsonLines,
  parseHistoryJsonLines,
  toOperations,
  type HistoryEvent,
} from "../../../src/chaos/history.js";

describe("toOperations", () => {
  it("pairs invokes with outcomes, gives unknown and unfinished ops ret = Infinity", () => {
    const events: HistoryEvent<string, number>[] = [
      { kind: "invoke", opId: 1, clientId: "a", op: "x", timeMs: 0 },
      { kind: "invoke", opId: 2, clientId: "b", op: "y", timeMs: 1 },
      { kind: "invoke", opId: 3, clientId: "c", op: "z", timeMs: 2 },
      { kind: "ok", opId: 1, clientId: "a", output: 10, timeMs: 3 },
      { kind: "unknown", opId: 2, clientId: "b", timeMs: 4 },
      { kind: "invoke", opId: 4, clientId: "b", op: "w", timeMs: 5 },
      { kind: "fail", opId: 4, clientId: "b", output: 409, timeMs: 6 },
    ];
    expect(toOperations(events)).toEqual([
      { opId: 1, clientId: "a", call: 0, ret: 3, input: "x", output: 10 },
      { opId: 2, clientId: "b", call: 1, ret: Infinity, input: "y" },
      { opId: 3, clientId: "c", call: 2, ret: Infinity, input: "z" },
      { opId: 4, clientId: "b", call: 5, ret: 6, input: "w", output: 409 },
    ]);
  });

  it("lets a classifier drop answers that prove nothing ran and turn others into unknowns", () => {
    const events: HistoryEvent<string, number>[] = [
      { kind: "invoke", opId: 1, clientId: 1, op: "x", timeMs: 0 },
      { kind: "fail", opId: 1, clientId: 1, output: 400, timeMs: 1 },
      { kind: "invoke", opId: 2, clientId: 1, op: "y", timeMs: 2 },
      { kind: "fail", opId: 2, clientId: 1, output: 503, timeMs: 3 },
      { kind: "invoke", opId: 3, clientId: 1, op: "z", timeMs: 4 },
      { kind: "fail", opId: 3, clientId: 1, output: 404, timeMs: 5 },
    ];
    const ops = toOperations(events, {
      classify: (_input, output) => (output === 400 ? "drop" : output >= 500 ? "unknown" : "observed"),
    });
    expect(ops.map((o) => [o.opId, o.ret, o.output])).toEqual([
      [2, Infinity, undefined],
      [3, 5, 404],
    ]);
  });

  it.each([
    [
      "DUPLICATE_OP_ID",
      [
        { kind: "invoke", opId: 1, clientId: 1, op: 0, timeMs: 0 },
        { kind: "invoke", opId: 1, clientId: 2, op: 0, timeMs: 0 },
      ],
    ],
    ["UNKNOWN_OP_ID", [{ kind: "ok", opId: 1, clientId: 1, output: 0, timeMs: 0 }]],
    [
      "DUPLICATE_OUTCOME",
      [
        { kind: "invoke", opId: 1, clientId: 1, op: 0, timeMs: 0 },
        { kind: "ok", opId: 1, clientId: 1, output: 0, timeMs: 1 },
        { kind: "unknown", opId: 1, clientId: 1, timeMs: 2 },
      ],
    ],
    [
      "CLIENT_OVERLAP",
      [
        { kind: "invoke", opId: 1, clientId: 1, op: 0, timeMs: 0 },
        { kind: "invoke", opId: 2, clientId: 1, op: 0, timeMs: 1 },
      ],
    ],
    [
      "TIME_REVERSED",
      [
        { kind: "invoke", opId: 1, clientId: 1, op: 0, timeMs: 5 },
        { kind: "ok", opId: 1, clientId: 1, output: 0, timeMs: 4 },
      ],
    ],
  ] as const)("rejects a malformed history: %s", (code, events) => {
    expect(() => toOperations(events as unknown as HistoryEvent[])).toThrow(
      expect.objectContaining({ code }) as unknown as Error,
    );
  });
});

describe("HistoryRecorder", () => {
  it("records events with the given clock and round-trips through JSON lines", () => {
    let now = 0;
    const recorder = new HistoryRecorder<{ k: string }, { status: number }>(() => now++);
    const a = recorder.invoke("c1", { k: "x" });
    const b = recorder.invoke("c2", { k: "y" });
    recorder.ok(a, { status: 201 });
    recorder.unknown(b);
    const c = recorder.invoke("c2", { k: "z" });
    recorder.fail(c, { status: 409 });
    expect(() => recorder.ok(a, { status: 200 })).toThrow(HistoryError);

    const text = historyToJsonLines(recorder.events());
    expect(text.split("\n").filter(Boolean)).toHaveLength(6);
    const parsed = parseHistoryJsonLines(text);
    expect(parsed).toEqual(recorder.events());
    expect(toOperations(parsed).map((o) => [o.opId, o.call, o.ret])).toEqual([
      [a, 0, 2],
      [b, 1, Infinity],
      [c, 4, 5],
    ]);
  });

  it("refuses to grow past its limit", () => {
    const recorder = new HistoryRecorder(() => 0, 4);
    recorder.ok(recorder.invoke(1, null), null);
    recorder.invoke(1, null);
    expect(() => recorder.invoke(2, null)).toThrow(expect.objectContaining({ code: "HISTORY_FULL" }) as unknown as Error);
  });

  it("rejects malformed JSON lines", () => {
    expect(() => parseHistoryJsonLines("{nope")).toThrow(HistoryError);
    expect(() => parseHistoryJsonLines('{"kind":"ok","opId":1,"clientId":1,"timeMs":0}')).toThrow(/without output/);
    expect(() => parseHistoryJsonLines('{"kind":"maybe","opId":1,"clientId":1,"timeMs":0}')).toThrow(/bad kind/);
  });
});
