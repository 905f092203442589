import { describe, expect, it } from "vitest";
import { OncePerKey } from "../../../src/util/once-per-key.js";

describe("OncePerKey", () => {
  it("says first once per key", () => {
    const once = new OncePerKey(10);
    expect(once.first("10.0.0.1 401")).toBe(true);
    expect(once.first("10.0.0.1 401")).toBe(false);
    expect(once.first("10.0.0.2 401")).toBe(true);
    expect(once.first("10.0.0.1 403")).toBe(true);
  });

  it("stays within its bound, forgetting the oldest key first", () => {
    const once = new OncePerKey(3);
    for (const k of ["a", "b", "c", "d"]) expect(once.first(k)).toBe(true);
    expect(once.size).toBe(3);
    expect(once.first("b")).toBe(false); // still remembered
    expect(once.first("a")).toBe(true); // forgotten when d came: logged again, once
    for (let i = 0; i < 10_000; i++) once.first(`addr-${i}`);
    expect(once.size).toBe(3);
  });

  it("refuses a bound that is not a positive integer", () => {
    expect(() => new OncePerKey(0)).toThrow(RangeError);
  });
});
