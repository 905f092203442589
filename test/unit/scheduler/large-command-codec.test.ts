// Issue 14.3: a large command is encoded and decoded in steps, and must mean exactly what commands.ts's one-call
// encodeCommand/decodeCommand mean, or the replicas' tables could differ.
import { describe, expect, it } from "vitest";
import { Packr } from "msgpackr";
import { decodeCommand, encodeCommand, type Command, type SubmitCommand } from "../../../src/scheduler/commands.js";
import { FALLBACK, SlicedCommandDecoder, SlicedCommandEncoder } from "../../../src/scheduler/large-command-codec.js";
import { makePrng } from "../../../src/raft/prng.js";

const packr = new Packr({ useRecords: false, moreTypes: false });

function submit(payload: unknown, extra: Partial<SubmitCommand> = {}): Command {
  return { type: "submit", id: "t-1", payload: payload as never, priority: -3, maxAttempts: 3, nowMs: 1_700_000_000_000, ...extra };
}

function encodeAll(c: Command, perStep = 7): Uint8Array | typeof FALLBACK {
  const e = new SlicedCommandEncoder(c);
  while (!e.step(perStep));
  return e.result();
}

function decodeAll(bytes: Uint8Array, perStep = 5): Command | typeof FALLBACK {
  const d = new SlicedCommandDecoder(bytes);
  while (!d.step(perStep));
  return d.result();
}

/** A random JSON value holding every kind of number and string the encoder distinguishes. */
function randomJson(next: () => number, depth: number): unknown {
  const r = next();
  const numbers = [0, -0, 1, 127, 128, 255, 256, 65535, 65536, 2 ** 31 - 1, 2 ** 31, 2 ** 32 - 1, 2 ** 32, 2 ** 53, -1, -32, -33, -128, -129, -32768, -32769, -(2 ** 31), -(2 ** 31) - 1, 1.5, -2.25, 1e20, 1e-300, Number.MAX_VALUE];
  const strings = ["", "a", "é", "😀", "x".repeat(31), "y".repeat(32), "z".repeat(255), "w".repeat(256), "v".repeat(70_000), "__proto__"];
  if (depth > 2 || r < 0.3) return numbers[Math.floor(next() * numbers.length)];
  if (r < 0.45) return strings[Math.floor(next() * strings.length)];
  if (r < 0.5) return [null, true, false][Math.floor(next() * 3)];
  if (r < 0.75) return Array.from({ length: Math.floor(next() * 20) }, () => randomJson(next, depth + 1));
  const o: Record<string, unknown> = {};
  for (let k = Math.floor(next() * 20); k > 0; k--) o[strings[Math.floor(next() * strings.length)]!.slice(0, 40) + k] = randomJson(next, depth + 1);
  // An own "__proto__" key, as JSON.parse makes it (msgpackr reads it back as "__proto_").
  if (next() < 0.1) Object.defineProperty(o, "__proto__", { value: { p: 1 }, enumerable: true, writable: true, configurable: true });
  return o;
}

describe("SlicedCommandEncoder / SlicedCommandDecoder", () => {
  it("decode to what msgpackr's own bytes decode to, in any step size (100 random payloads)", () => {
    const next = makePrng(1403);
    for (let n = 0; n < 100; n++) {
      const c = submit(randomJson(next, 0), n % 3 === 0 ? { requires: ["gpu"], timeoutMs: 5_000, runAt: 5 } : {});
      const ours = encodeAll(c, 1 + (n % 13));
      expect(ours).not.toBe(FALLBACK);
      const reference = decodeCommand(encodeCommand(c));
      const fromOurs = decodeCommand(ours as Uint8Array);
      expect(fromOurs).toEqual(reference);
      expect(JSON.stringify(fromOurs)).toBe(JSON.stringify(reference));
      // The sliced decoder, on either encoding, returns decodeCommand's command.
      for (const bytes of [ours as Uint8Array, encodeCommand(c)]) {
        const d = decodeAll(bytes, 1 + (n % 11));
        expect(d).not.toBe(FALLBACK);
        expect(JSON.stringify(d)).toBe(JSON.stringify(reference.ok && reference.command));
        expect(Object.keys((d as SubmitCommand).payload ?? {})).toEqual(Object.keys((reference.ok && (reference.command as SubmitCommand).payload) ?? {}));
      }
    }
  });

  it("fall back (leaving the answer to encodeCommand/decodeCommand) on what they do not handle", () => {
    expect(encodeAll(submit([1, Number.NaN]))).toBe(FALLBACK); // encodeCommand refuses it
    expect(encodeAll(submit({ d: new Date(0) }))).toBe(FALLBACK);
    expect(encodeAll(submit([undefined]))).toBe(FALLBACK);
    expect(encodeAll(submit(["lone \ud800"]))).toBe(FALLBACK); // msgpackr writes it its own way
    expect(decodeAll(encodeCommand(submit(["lone \ud800"])))).toBe(FALLBACK); // not UTF-8: msgpackr decides
    expect(encodeAll({ ...submit(1), id: "bad id!" } as Command)).toBe(FALLBACK);
    let deep: unknown = 1;
    for (let k = 0; k < 65; k++) deep = [deep];
    expect(encodeAll(submit(deep))).toBe(FALLBACK);
    // Decoding: a float32, a 64-bit integer, a bin, invalid UTF-8, a number as a map key, a truncated or padded entry.
    const cases = [
      packr.pack({ type: "submit", id: "t", payload: 1n << 60n, priority: 0, maxAttempts: 1, nowMs: 0 }),
      Buffer.from(packr.pack({ type: "submit", id: "t", payload: Buffer.from([1]), priority: 0, maxAttempts: 1, nowMs: 0 })),
      Buffer.from([0x81, 0xa4, 0x74, 0x79, 0x70, 0x65, 0xca, 0, 0, 0, 0]),
      Buffer.from([0x81, 0xa1, 0xff, 0x01]),
      Buffer.from([0x81, 0x01, 0x01]),
      encodeCommand(submit([1, 2, 3])).subarray(0, 10),
      Buffer.concat([encodeCommand(submit([1])), Buffer.from([0xc0])]),
      packr.pack({ type: "submit", id: "t", payload: deep, priority: 0, maxAttempts: 1, nowMs: 0 }),
      packr.pack({ type: "nope" }),
      packr.pack({ type: "submit", id: "t", payload: [1], priority: 0, maxAttempts: 1, nowMs: 0, extra: 1 }),
    ];
    for (const bytes of cases) {
      expect(decodeAll(bytes)).toBe(FALLBACK);
      if (bytes.length > 20) expect(decodeCommand(bytes).ok).toBe(false); // the ones decodeCommand itself refuses
    }
  });

  it("bound the work per step", () => {
    const c = submit(Array.from({ length: 10_000 }, (_, i) => ({ i, s: `v${i}` })));
    const e = new SlicedCommandEncoder(c);
    let steps = 0;
    while (!e.step(1000)) steps++;
    expect(steps).toBeGreaterThan(20); // 50,000 values (objects, keys, values) at most 1,000 per step
    const d = new SlicedCommandDecoder(e.result() as Uint8Array);
    steps = 0;
    while (!d.step(1000)) steps++;
    expect(steps).toBeGreaterThan(20);
    expect(d.result()).toEqual(decodeCommand(encodeCommand(c)).ok && c);
  });
});
