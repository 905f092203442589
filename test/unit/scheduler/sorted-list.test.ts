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

  it("freeze() keeps the contents of the moment while the list changes (copy-on-write blocks)", () => {
    fc.assert(
      fc.property(fc.array(fc.tuple(fc.integer({ min: 0, max: 2 }), fc.integer({ min: 0, max: 4000 })), { minLength: 500, maxLength: 3000 }), (ops) => {
        const list = SortedList.fromSorted(cmp, Array.from({ length: 3000 }, (_, i) => i * 2));
        const frozen: { view: ReturnType<SortedList<number>["freeze"]>; expected: number[] }[] = [];
        ops.forEach(([op, x], step) => {
          // Freeze now and then, so several views (some sharing blocks) are alive at once.
          if (step % 400 === 0) frozen.push({ view: list.freeze(), expected: list.toArray() });
          if (op === 0) list.insert(x);
          else if (op === 1) list.delete(x);
          else list.replace(x);
        });
        for (const { view, expected } of frozen) {
          expect(view.blocks.flat()).toEqual(expected);
          expect(view.size).toBe(expected.length);
        }
      }),
      { numRuns: 20 },
    );
  });

  it("replace() swaps the element with the same sort key and refuses an absent one", () => {
    type Row = { id: number; v: string };
    const list = new SortedList<Row>((a, b) => a.id - b.id);
    for (let i = 0; i < 2000; i++) list.insert({ id: i, v: "old" });
    const view = list.freeze();
    expect(list.replace({ id: 1500, v: "new" })).toBe(true);
    expect(list.replace({ id: 5000, v: "new" })).toBe(false);
    expect(list.toArray()[1500]!.v).toBe("new");
    expect(view.blocks.flat()[1500]!.v).toBe("old");
  });
});
