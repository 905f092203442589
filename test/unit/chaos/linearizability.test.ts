import { describe, expect, it } from "vitest";
import type { Operation } from "../../../src/chaos/history.js";
import { checkHistory, checkOperations, formatCounterexample, type Model } from "../../../src/chaos/linearizability.js";

// A register per key: the textbook model, enough to exercise the search itself.
type RegInput = { type: "write"; key: string; value: number } | { type: "read"; key: string };
type RegOutput = { value: number } | { ok: true };

const register: Model<number, RegInput, RegOutput> = {
  init: () => 0,
  step(state, input, output) {
    if (input.type === "write") return [input.value];
    if (output === undefined) return [state];
    return "value" in output && output.value === state ? [state] : [];
  },
  hash: (state) => String(state),
  partition(ops) {
    const byKey = new Map<string, Operation<RegInput, RegOutput>[]>();
    for (const op of ops) byKey.set(op.input.key, [...(byKey.get(op.input.key) ?? []), op]);
    return [...byKey.values()];
  },
};

let nextId = 0;
function w(call: number, ret: number | null, value: number, key = "k"): Operation<RegInput, RegOutput> {
  const op = { opId: nextId++, clientId: nextId, call, ret: ret ?? Infinity, input: { type: "write" as const, key, value } };
  return ret === null ? op : { ...op, output: { ok: true } };
}
function r(call: number, ret: number, value: number, key = "k"): Operation<RegInput, RegOutput> {
  return { opId: nextId++, clientId: nextId, call, ret, input: { type: "read", key }, output: { value } };
}

describe("checkOperations on a register", () => {
  it("accepts a sequential history and an empty one", () => {
    expect(checkOperations(register, [w(0, 1, 1), r(2, 3, 1), w(4, 5, 2), r(6, 7, 2)]).ok).toBe(true);
    expect(checkOperations(register, []).ok).toBe(true);
  });

  it("accepts a read concurrent with a write seeing either value", () => {
    expect(checkOperations(register, [w(0, 10, 1), r(1, 2, 0)]).ok).toBe(true);
    expect(checkOperations(register, [w(0, 10, 1), r(1, 2, 1)]).ok).toBe(true);
  });

  it("treats touching intervals (return time = call time) as concurrent", () => {
    expect(checkOperations(register, [w(0, 5, 1), r(5, 6, 0)]).ok).toBe(true);
  });

  it("rejects a stale read after a finished write, naming the prefix and the stuck op", () => {
    const write = w(0, 1, 1);
    const read = r(2, 3, 0);
    const result = checkOperations(register, [write, read]);
    expect(result.ok).toBe(false);
    if (result.ok !== false) return;
    expect(result.counterexample.linearized).toEqual([write]);
    expect(result.counterexample.stuck).toBe(read);
    expect(result.counterexample.statesAfter).toEqual([["1"]]);
    const text = formatCounterexample(register, result.counterexample);
    expect(text).toContain("cannot be placed next");
    expect(text).toContain(`op ${read.opId}`);
  });

  it("rejects a new value followed by the old one while the write is still running", () => {
    // The write is concurrent with both reads, but once a read saw 1, a later read cannot see 0.
    expect(checkOperations(register, [w(0, 10, 1), r(1, 2, 1), r(3, 4, 0)]).ok).toBe(false);
  });

  it("lets an unknown write take effect at any time after its call, or never", () => {
    expect(checkOperations(register, [w(0, null, 1), r(5, 6, 0)]).ok).toBe(true);
    expect(checkOperations(register, [w(0, null, 1), r(5, 6, 1)]).ok).toBe(true);
    expect(checkOperations(register, [w(0, null, 1), r(5, 6, 0), r(7, 8, 1)]).ok).toBe(true);
    // ...but not before its call, and not twice.
    expect(checkOperations(register, [r(0, 1, 1), w(2, null, 1)]).ok).toBe(false);
    expect(checkOperations(register, [w(0, null, 1), r(2, 3, 1), w(4, 5, 2), r(6, 7, 1)]).ok).toBe(false);
  });

  it("checks each partition alone and reports only the failing one", () => {
    const bad = [w(0, 1, 7, "b"), r(2, 3, 0, "b")];
    const result = checkOperations(register, [w(0, 1, 1, "a"), r(2, 3, 1, "a"), ...bad]);
    expect(result.ok).toBe(false);
    if (result.ok !== false) return;
    expect(result.counterexample.partition).toEqual(bad);
    expect(result.stats.partitions).toBe(2);
  });

  it("answers unknown when the search outlasts its time budget", () => {
    // 40 unknown writes of distinct values, then a read of a value nobody wrote: refuting it means trying
    // every subset of the writes, far beyond 50 ms even with memoization.
    const ops = Array.from({ length: 40 }, (_, i) => w(i, null, i + 1));
    ops.push(r(100, 101, 999));
    const result = checkOperations(register, ops, { timeoutMs: 50 });
    expect(result.ok).toBe("unknown");
  });

  it("checks a history of events through checkHistory", () => {
    const result = checkHistory(register, [
      { kind: "invoke", opId: 1, clientId: 1, op: { type: "write", key: "k", value: 3 }, timeMs: 0 },
      { kind: "ok", opId: 1, clientId: 1, output: { ok: true }, timeMs: 1 },
      { kind: "invoke", opId: 2, clientId: 1, op: { type: "read", key: "k" }, timeMs: 2 },
      { kind: "ok", opId: 2, clientId: 1, output: { value: 0 }, timeMs: 3 },
    ]);
    expect(result.ok).toBe(false);
  });
});

describe("checkOperations on a nondeterministic model", () => {
  // A counter that a "bump" may raise by 1 or 2 (the model cannot know which): the search must carry both.
  type Input = { type: "bump" } | { type: "read" };
  const counter: Model<number, Input, number> = {
    init: () => 0,
    step: (s, input, output) => (input.type === "bump" ? [s + 1, s + 2] : output === s ? [s] : []),
    hash: (s) => String(s),
  };
  const op = (id: number, call: number, ret: number, input: Input, output?: number): Operation<Input, number> => ({
    opId: id,
    clientId: id,
    call,
    ret,
    input,
    ...(output === undefined ? {} : { output }),
  });

  it("keeps every possible state until an observation decides", () => {
    const bumps = [op(1, 0, 1, { type: "bump" }), op(2, 2, 3, { type: "bump" })];
    expect(checkOperations(counter, [...bumps, op(3, 4, 5, { type: "read" }, 3)]).ok).toBe(true);
    expect(checkOperations(counter, [...bumps, op(3, 4, 5, { type: "read" }, 4)]).ok).toBe(true);
    expect(checkOperations(counter, [...bumps, op(3, 4, 5, { type: "read" }, 5)]).ok).toBe(false);
    const result = checkOperations(counter, [...bumps, op(3, 4, 5, { type: "read" }, 1)]);
    expect(result.ok).toBe(false);
    if (result.ok === false) expect(result.counterexample.statesAfter.at(-1)).toEqual(["2", "3", "4"]);
  });
});
