import fc from "fast-check";
import { describe, expect, it } from "vitest";
import { describeKey, ENTRY_RANGE_END, ENTRY_RANGE_START, entryIndexOfKey, entryKey, HARD_STATE_KEY } from "../../../src/storage/keys.js";

const compareBytes = (a: Uint8Array, b: Uint8Array): number => Buffer.compare(a, b);

describe("storage keys", () => {
  it("orders entry keys bytewise exactly as their indexes, inside the entry range", () => {
    fc.assert(
      fc.property(fc.nat({ max: Number.MAX_SAFE_INTEGER }), fc.nat({ max: Number.MAX_SAFE_INTEGER }), (a, b) => {
        const ka = entryKey(a);
        expect(Math.sign(compareBytes(ka, entryKey(b)))).toBe(Math.sign(a - b));
        expect(compareBytes(ka, ENTRY_RANGE_START)).toBeGreaterThan(0);
        expect(compareBytes(ka, ENTRY_RANGE_END)).toBeLessThan(0);
        expect(entryIndexOfKey(ka)).toBe(a);
      }),
    );
    expect(compareBytes(entryKey(255), entryKey(256))).toBeLessThan(0);
    expect(compareBytes(entryKey(2 ** 32 - 1), entryKey(2 ** 32))).toBeLessThan(0);
  });

  it("rejects malformed entry keys and names keys readably", () => {
    expect(entryIndexOfKey(Uint8Array.of(0x65, 1, 2))).toBeNull();
    expect(entryIndexOfKey(HARD_STATE_KEY)).toBeNull();
    expect(entryIndexOfKey(Uint8Array.of(0x65, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff))).toBeNull(); // past 2^53
    expect(() => entryKey(-1)).toThrow(RangeError);
    expect(() => entryKey(1.5)).toThrow(RangeError);
    expect(describeKey(entryKey(42))).toBe("e/42");
    expect(describeKey(HARD_STATE_KEY)).toBe("h");
    expect(describeKey(Uint8Array.of(0x00, 0xfe))).toBe("0x00fe");
  });
});
