// Issue 14.3: a task answer of megabytes (a 1 MiB payload of 1e20 re-serializes to ~4 MiB) was one JSON.stringify in
// one turn of the event loop. stringifyInSlices writes the same bytes in steps of at most VALUES_PER_STEP values;
// a follower passes the leader's answer text on without parsing and re-serializing it.
import { describe, expect, it } from "vitest";
import { fewerValuesThan, JsonSliceWriter, stringifyInSlices, VALUES_PER_STEP } from "../../../src/api/json-answer-slices.js";
import { MAX_BODY_BYTES } from "../../../src/api/http-util.js";
import { followerApi } from "./helpers.js";

/** What stringifyInSlices gave, as text. */
async function sliced(value: unknown): Promise<string> {
  const r = await stringifyInSlices(value);
  return typeof r === "string" ? r : Buffer.concat(r).toString("utf8");
}

/** The text step by step, and how many steps it took (a step's work is bounded by VALUES_PER_STEP). */
function inSteps(value: unknown): { text: string; steps: number } {
  const w = new JsonSliceWriter(value);
  let steps = 1;
  while (!w.step()) steps++;
  return { text: w.text(), steps };
}

const tricky: unknown[] = [
  null,
  0,
  -0,
  1e20,
  5e-324,
  "",
  "é \u2028 \n \" \\ / \u0000",
  "\ud800 lone",
  [],
  {},
  [[[]], {}, [null]],
  JSON.parse('{"b":1,"1":2,"__proto__":{"x":[1e21]},"a":{"":-0}}'),
  { skipped: undefined, kept: 1, nested: [undefined, 2] },
  { when: new Date(0) },
];

describe("stringifyInSlices", () => {
  it("writes what JSON.stringify writes, byte for byte", async () => {
    for (const v of tricky) {
      expect(inSteps(v).text, JSON.stringify(v)).toBe(JSON.stringify(v));
      expect(await sliced(v)).toBe(JSON.stringify(v));
    }
  });

  it("takes a body-limit payload in many bounded steps, with the same bytes", async () => {
    const numbers = Array<number>(Math.floor(MAX_BODY_BYTES / 5)).fill(1e20);
    const objects = Array.from({ length: 30_000 }, (_, i) => ({ k: "abcdefgh", n: i, b: true }));
    // [payload, how many values it holds]
    for (const [payload, values] of [[numbers, numbers.length], [{ items: objects }, objects.length * 4]] as const) {
      const task = { id: "big", state: "pending", worker: null, attempt: 0, payload, priority: 0 };
      const { text, steps } = inSteps(task);
      expect(text).toBe(JSON.stringify(task));
      // Every step writes at most VALUES_PER_STEP values (a 200k-value payload needs at least ~50 steps).
      expect(steps).toBeGreaterThanOrEqual(Math.floor(values / VALUES_PER_STEP));
      expect(await sliced(task)).toBe(text);
    }
  });

  it("counts values only up to the limit", () => {
    expect(fewerValuesThan({ a: [1, 2, 3] }, 10)).toBe(true);
    expect(fewerValuesThan(Array(1e6).fill(0), 10)).toBe(false);
    expect(fewerValuesThan([[1, 2], { a: 1, b: [3] }], 9)).toBe(true);
    expect(fewerValuesThan([[1, 2], { a: 1, b: [3] }], 8)).toBe(false);
  });
});

describe("a follower's submit answer", () => {
  it("is the leader's text, passed on as it came; the task is parsed only when read", async () => {
    const { api } = await followerApi();
    const payload = Array<number>(1000).fill(1e20);
    const r = await api.submit({ payload, maxAttempts: 3, priority: 0 }, { forwarded: false, body: Buffer.from(JSON.stringify({ payload })) });
    expect(r.answerText).toBe(JSON.stringify({ id: "t1", state: "pending", attempt: 0, payload }));
    expect(r.task.payload).toEqual(payload);
  });
});
