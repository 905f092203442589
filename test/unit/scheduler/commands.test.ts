import { pack } from "msgpackr";
import fc from "fast-check";
import { describe, expect, it } from "vitest";
import {
  type Command,
  CommandError,
  decodeCommand,
  encodeCommand,
  MAX_ASSIGNMENTS_PER_COMMAND,
} from "../../../src/scheduler/commands.js";

const valid: Command[] = [
  { type: "submit", id: "t-1", payload: { sleepMs: 5, tags: ["a", null, 1.5] }, priority: -3, maxAttempts: 3, nowMs: 1_700_000_000_000 },
  { type: "submit", id: "a.b:c_D-9", payload: null, priority: 0, maxAttempts: 100, nowMs: 0 },
  { type: "assign", assignments: [{ taskId: "t-1", worker: "n1", attempt: 1 }], rrCursor: "n1" },
  { type: "assign", assignments: [] },
  { type: "complete", id: "t-1", attempt: 2, result: { ok: true } },
  { type: "complete", id: "t-1", attempt: 2 },
  { type: "fail", id: "t-1", attempt: 1, error: "boom", retryAtMs: 1_700_000_000_100 },
  { type: "fail", id: "t-1", attempt: 1, retryAtMs: 0 },
  { type: "cancel", id: "t-1" },
  { type: "workerUp", worker: "n1", capacity: 4, nowMs: 5 },
  { type: "workerDead", worker: "n1", nowMs: 6 },
  { type: "workerRemoved", worker: "n1" },
];

describe("command codec", () => {
  it("round-trips every command type", () => {
    for (const command of valid) {
      const decoded = decodeCommand(encodeCommand(command));
      expect(decoded).toEqual({ ok: true, command });
    }
  });

  it("refuses to encode an invalid command (the leader must not log what replicas refuse)", () => {
    const bad = { type: "submit", id: "has space", payload: 1, priority: 0, maxAttempts: 3, nowMs: 0 } as Command;
    expect(() => encodeCommand(bad)).toThrow(CommandError);
    try {
      encodeCommand(bad);
    } catch (err) {
      expect((err as CommandError).code).toBe("BAD_COMMAND");
    }
  });

  const invalid: [string, unknown][] = [
    ["not a map", [1, 2]],
    ["unknown type", { type: "explode" }],
    ["unknown field", { type: "cancel", id: "x", extra: 1 }],
    ["id too long", { type: "cancel", id: "x".repeat(129) }],
    ["empty id", { type: "cancel", id: "" }],
    ["bad id chars", { type: "cancel", id: "a/b" }],
    ["maxAttempts 0", { type: "submit", id: "x", payload: 1, priority: 0, maxAttempts: 0, nowMs: 0 }],
    ["maxAttempts 101", { type: "submit", id: "x", payload: 1, priority: 0, maxAttempts: 101, nowMs: 0 }],
    ["float priority", { type: "submit", id: "x", payload: 1, priority: 0.5, maxAttempts: 3, nowMs: 0 }],
    ["missing payload", { type: "submit", id: "x", priority: 0, maxAttempts: 3, nowMs: 0 }],
    ["binary payload", { type: "submit", id: "x", payload: new Uint8Array([1]), priority: 0, maxAttempts: 3, nowMs: 0 }],
    ["date payload", { type: "submit", id: "x", payload: { at: new Date(0) }, priority: 0, maxAttempts: 3, nowMs: 0 }],
    ["NaN in payload", { type: "submit", id: "x", payload: [Number.NaN], priority: 0, maxAttempts: 3, nowMs: 0 }],
    ["attempt 0", { type: "complete", id: "x", attempt: 0 }],
    ["negative retryAt", { type: "fail", id: "x", attempt: 1, retryAtMs: -1 }],
    ["assignments not array", { type: "assign", assignments: {} }],
    ["empty worker", { type: "assign", assignments: [{ taskId: "x", worker: "", attempt: 1 }] }],
    [
      "too many assignments",
      { type: "assign", assignments: Array.from({ length: MAX_ASSIGNMENTS_PER_COMMAND + 1 }, () => ({ taskId: "x", worker: "w", attempt: 1 })) },
    ],
    ["negative capacity", { type: "workerUp", worker: "n1", capacity: -1, nowMs: 0 }],
  ];
  for (const [name, value] of invalid) {
    it(`decodes ${name} to BAD_COMMAND`, () => {
      const decoded = decodeCommand(pack(value));
      expect(decoded.ok).toBe(false);
      if (!decoded.ok) {
        expect(decoded.code).toBe("BAD_COMMAND");
        expect(decoded.message.length).toBeGreaterThan(0);
      }
    });
  }

  it("rejects deep nesting without overflowing the stack", () => {
    let payload: unknown = 1;
    for (let i = 0; i < 1000; i++) payload = [payload];
    const decoded = decodeCommand(pack({ type: "submit", id: "x", payload, priority: 0, maxAttempts: 3, nowMs: 0 }));
    expect(decoded.ok).toBe(false);
  });

  it("never throws on arbitrary bytes", () => {
    fc.assert(
      fc.property(fc.uint8Array({ maxLength: 200 }), (bytes) => {
        const decoded = decodeCommand(bytes);
        if (!decoded.ok) expect(decoded.code).toBe("BAD_COMMAND");
      }),
      { numRuns: 2000 },
    );
    // Truncations and bit flips of valid commands.
    for (const command of valid) {
      const bytes = encodeCommand(command);
      for (let cut = 0; cut < bytes.length; cut++) decodeCommand(bytes.subarray(0, cut));
      for (let i = 0; i < bytes.length; i++) {
        const flipped = Uint8Array.from(bytes);
        flipped[i] = flipped[i]! ^ 0xff;
        decodeCommand(flipped);
      }
    }
  });
});
