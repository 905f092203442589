import fc from "fast-check";
import { describe, expect, it } from "vitest";
import { compareStrings, SortedList } from "../../../src/scheduler/sorted-list.js";

const cmp = (a: number, b: number): number => a - b;

describe("SortedList", () => {
  it("matches a sorted Set under random inserts and deletes, across block splits", () => {
    fc.assert(
      fc.property(fc.array(fc.tuple(fc.boolean(), fc.integer({ min: 0, max: 3000 })), { minLength: 1000, maxLength: 4000 }), (ops) => {
        const list = new SortedList(cmp);
        const model = new Set<number>();
        for (const [add, x] of ops) {
          if (add) expect(list.insert(x)).toBe(!model.has(x)), model.add(x);
          else expect(list.delete(x)).toBe(model.has(x)), model.delete(x);
        }
        const sorted = [...model].sort(cmp);
        expect(list.toArray()).toEqual(sorted);
        expect(list.size).toBe(sorted.length);
        const cursor = 1500;
        expect([...list.after((x) => x - cursor)]).toEqual(sorted.filter((x) => x > cursor));
      }),
      { numRuns: 30 },
    );
  });

  it("bulk-builds from sorted input and keeps accepting inserts", () => {
    const list = SortedList.fromSorted(cmp, Array.from({ length: 5000 }, (_, i) => i * 2));
    expect(list.insert(4001)).toBe(true);
    expect(list.insert(4000)).toBe(false);
    expect(list.delete(0)).toBe(true);
    const all = list.toArray();
    expect(all.length).toBe(5000);
    expect(all[0]).toBe(2);
    expect(all).toEqual([...all].sort(cmp));
    expect(list.first()).toBe(2);
  });

  it("iterates from a cursor that falls between or past elements", () => {
    const list = new SortedList<string>(compareStrings);
    for (const s of ["b", "d", "f"]) list.insert(s);
    expect([...list.after((x) => compareStrings(x, "c"))]).toEqual(["d", "f"]);
    expect([...list.after((x) => compareStrings(x, "d"))]).toEqual(["f"]);
    expect([...list.after((x) => compareStrings(x, "z"))]).toEqual([]);
    expect([...list.after((x) => compareStrings(x, "a"))]).toEqual(["b", "d", "f"]);
  });
});
