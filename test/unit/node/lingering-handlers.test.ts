// The worker's report of aborted handlers still running (issue 17.2): when it is due (only on a change, a fresh
// process, or a new leader with a non-zero count: an idle worker sends nothing), one report at a time, in order,
// and the leader's ledger with its bounds.
import { describe, expect, it } from "vitest";
import { LingeringLedger, LingeringReporter, lingeringReportDue, parseLingeringCount } from "../../../src/node/lingering-handlers.js";

describe("lingeringReportDue", () => {
  it("a fresh process tells once, even 0; then only changes; a new leader hears only a non-zero count", () => {
    expect(lingeringReportDue(null, null, 3)).toBe(false); // no leader known: nobody to tell
    expect(lingeringReportDue(null, "n1", 0)).toBe(true);
    expect(lingeringReportDue({ leader: "n1", count: 0 }, "n1", 0)).toBe(false); // idle: nothing
    expect(lingeringReportDue({ leader: "n1", count: 0 }, "n1", 2)).toBe(true);
    expect(lingeringReportDue({ leader: "n1", count: 2 }, "n2", 0)).toBe(false); // a new leader starts from zero
    expect(lingeringReportDue({ leader: "n1", count: 2 }, "n2", 2)).toBe(true);
  });
});

describe("LingeringReporter", () => {
  it("sends one report at a time, the latest count after it, and nothing more while the count stays", async () => {
    let count = 0;
    const sent: number[] = [];
    let release: () => void = () => undefined;
    const r = new LingeringReporter({
      count: () => count,
      leader: () => "n1",
      send: (c) => {
        sent.push(c);
        return new Promise<void>((resolve) => (release = resolve));
      },
    });
    r.poke();
    count = 2;
    r.poke(); // one in flight: waits
    count = 1;
    expect(sent).toEqual([0]);
    release();
    await new Promise((res) => setTimeout(res, 5));
    expect(sent).toEqual([0, 1]);
    release();
    await new Promise((res) => setTimeout(res, 5));
    for (let i = 0; i < 10; i++) r.poke();
    expect(sent).toEqual([0, 1]);
  });

  it("a report that did not arrive is due again at the next poke, not retried in a busy loop", async () => {
    let fail = true;
    const sent: number[] = [];
    const r = new LingeringReporter({
      count: () => 1,
      leader: () => "n1",
      send: async (c) => {
        sent.push(c);
        if (fail) throw new Error("down");
      },
    });
    r.poke();
    await new Promise((res) => setTimeout(res, 5));
    expect(sent).toEqual([1]);
    fail = false;
    r.poke();
    await new Promise((res) => setTimeout(res, 5));
    r.poke();
    expect(sent).toEqual([1, 1]);
  });
});

describe("LingeringLedger and the report's body", () => {
  it("drops a worker at 0, puts the leader's own count in, and refuses bad counts", () => {
    const l = new LingeringLedger();
    l.set("n2", 2);
    l.set("n3", 1);
    l.set("n3", 0);
    expect([...l.view()]).toEqual([["n2", 2]]);
    expect([...l.view({ id: "n1", count: 1 })]).toEqual([["n2", 2], ["n1", 1]]);
    expect(parseLingeringCount({ count: 3 })).toBe(3);
    for (const bad of [null, [], {}, { count: -1 }, { count: 1.5 }, { count: "2" }, { count: 2, x: 1 }, { count: 2_000_000 }]) {
      expect(() => parseLingeringCount(bad)).toThrow(expect.objectContaining({ code: "BAD_FIELD" }));
    }
  });
});
