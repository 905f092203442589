// Issue 14.3: the leader applies its own large submit without decoding the entry's bytes again, but only when
// decoding would give the same value back, so its table stays byte-identical to every follower's.
import { describe, expect, it } from "vitest";
import { decodesUnchanged, ProposedCommands, REUSE_FROM_BYTES } from "../../../src/node/proposed-command-reuse.js";
import { TaskTable } from "../../../src/scheduler/table.js";
import type { SubmitCommand } from "../../../src/scheduler/commands.js";

const big = (extra: unknown): SubmitCommand => ({
  type: "submit",
  id: "big",
  payload: { pad: "x".repeat(REUSE_FROM_BYTES), extra } as never,
  priority: 0,
  maxAttempts: 3,
  nowMs: 1,
});

describe("decodesUnchanged", () => {
  it("is true for values msgpack gives back as they are", () => {
    expect(decodesUnchanged({ a: [1, 1e20, -1.5, "é", "😀", true, null, {}], "1": 0 })).toBe(true);
  });
  it("is false for -0, a lone surrogate (value or key) and a __proto__ key", () => {
    expect(decodesUnchanged([0, -0])).toBe(false);
    expect(decodesUnchanged({ a: "x\ud800" })).toBe(false);
    expect(decodesUnchanged({ ["\udc00"]: 1 })).toBe(false);
    expect(decodesUnchanged(JSON.parse('{"__proto__":1}'))).toBe(false);
  });
});

describe("ProposedCommands", () => {
  it("applies a large submit from the command it encoded, leaving the same table as a decode", async () => {
    const proposed = new ProposedCommands();
    const leader = new TaskTable();
    const follower = new TaskTable();
    for (const extra of [[1, 2, 3], -0, "lone \ud800", JSON.parse('{"__proto__":{"a":1}}')]) {
      const cmd = { ...big(extra), id: `big-${leader.counts().total}` };
      const data = await proposed.encode(cmd);
      const index = leader.lastAppliedIndex + 1;
      const a = proposed.apply(leader, index, data);
      const b = follower.applyEntry(index, data);
      expect(JSON.stringify(a)).toBe(JSON.stringify(b));
    }
    expect(Buffer.from(leader.snapshot()).equals(follower.snapshot())).toBe(true);
  });

  it("does not decode what it reuses, and decodes everything else", async () => {
    const proposed = new ProposedCommands();
    const table = new TaskTable();
    const reused = await proposed.encode(big([1]));
    const small = await proposed.encode({ type: "submit", id: "small", payload: 1, priority: 0, maxAttempts: 3, nowMs: 1 });
    const decodes: number[] = [];
    // Counted through the table's own decode: applyEntry is the only path that decodes.
    const spy = (table as unknown as { applyEntry: (i: number, d: Uint8Array) => unknown }).applyEntry.bind(table);
    (table as unknown as { applyEntry: (i: number, d: Uint8Array) => unknown }).applyEntry = (i, d) => (decodes.push(i), spy(i, d));
    proposed.apply(table, 1, reused);
    proposed.apply(table, 2, small);
    expect(decodes).toEqual([2]);
    expect(table.getTask("big")?.payload).toEqual(big([1]).payload);
  });
});

describe("ProposedCommands: large entries of others, decoded ahead in slices (issue 14.3)", () => {
  it("applies a follower's large entry from its decode ahead, leaving the same table as a decode at apply", async () => {
    const leaderSide = new ProposedCommands();
    const followerSide = new ProposedCommands();
    const payload = { items: Array.from({ length: 20_000 }, (_, i) => ({ k: `v${i}`, n: i * 1.5, b: i % 2 === 0 })) };
    const data = await leaderSide.encode({ type: "submit", id: "big", payload: payload as never, priority: 0, maxAttempts: 3, nowMs: 1 });
    const entry = { term: 1, index: 1, kind: "normal" as const, data };
    followerSide.decodeAhead([entry]);
    const waiting = followerSide.decodedAhead([entry]);
    expect(waiting).not.toBeNull(); // still decoding: the decode runs in slices across turns
    await waiting;
    expect(followerSide.decodedAhead([entry])).toBeNull();
    const [ahead, atApply] = [new TaskTable(), new TaskTable()];
    const spy = (ahead as unknown as { applyEntry: (i: number, d: Uint8Array) => unknown }).applyEntry.bind(ahead);
    let decodedAtApply = 0;
    (ahead as unknown as { applyEntry: (i: number, d: Uint8Array) => unknown }).applyEntry = (i, d) => (decodedAtApply++, spy(i, d));
    followerSide.apply(ahead, 1, data);
    atApply.applyEntry(1, data);
    expect(decodedAtApply).toBe(0);
    expect(Buffer.from(ahead.snapshot()).equals(atApply.snapshot())).toBe(true);
    expect(ahead.getTask("big")?.payload).toEqual(payload);
  });
});
