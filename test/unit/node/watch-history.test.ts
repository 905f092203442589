// The watch history ring: serves `since`, drops whole oldest indexes past its bounds (count and bytes), answers
// the oldest `since` it still serves, and feeds its subscribers.
import { describe, expect, it } from "vitest";
import { WatchHistory, type WatchSubscriber } from "../../../src/node/watch-history.js";
import { formatEvent } from "../../../src/api/watch-stream.js";
import { TaskTable } from "../../../src/scheduler/table.js";
import type { Command } from "../../../src/scheduler/commands.js";
import type { TaskEvent, WatchEvent } from "../../../src/scheduler/task-events.js";

const ev = (index: number, id: string): TaskEvent => ({ index, id, state: "pending", attempt: 0, worker: null });
const indexes = (a: { ok: boolean; events?: readonly { event: WatchEvent }[] }) => (a.ok ? a.events!.map((e) => `${e.event.index}${e.event.id}`) : a);

describe("WatchHistory", () => {
  it("serves every event after since, in order; an entry without events still advances the last index", () => {
    const h = new WatchHistory();
    h.record(1, [ev(1, "a")]);
    h.record(2, []);
    h.record(3, [ev(3, "b"), ev(3, "c")]);
    expect(h.lastIndex).toBe(3);
    expect(indexes(h.since(0))).toEqual(["1a", "3b", "3c"]);
    expect(indexes(h.since(1))).toEqual(["3b", "3c"]);
    expect(indexes(h.since(2))).toEqual(["3b", "3c"]);
    expect(indexes(h.since(3))).toEqual([]);
    expect(indexes(h.since(99))).toEqual([]);
  });

  it("drops whole oldest indexes past maxEvents; an older since answers the oldest one served", () => {
    const h = new WatchHistory({ maxEvents: 3 });
    h.record(1, [ev(1, "a"), ev(1, "b")]);
    h.record(2, [ev(2, "c")]);
    h.record(3, [ev(3, "d")]);
    // 4 events > 3: index 1 goes whole (both its events), never half of it.
    expect(h.size.events).toBe(2);
    expect(h.floorIndex).toBe(1);
    expect(h.since(0)).toEqual({ ok: false, oldestIndex: 1 });
    expect(indexes(h.since(1))).toEqual(["2c", "3d"]);
  });

  it("drops past maxBytes too", () => {
    const h = new WatchHistory({ maxBytes: 200 });
    for (let i = 1; i <= 10; i++) h.record(i, [ev(i, `task-${i}`)]);
    expect(h.size.bytes).toBeLessThanOrEqual(200);
    expect(h.size.events).toBeGreaterThan(0);
    expect(h.floorIndex).toBe(10 - h.size.events);
    expect(h.since(h.floorIndex).ok).toBe(true);
    expect(h.since(h.floorIndex - 1).ok).toBe(false);
  });

  it("stays bounded over a long run (the dead prefix is compacted)", () => {
    const h = new WatchHistory({ maxEvents: 100 });
    for (let i = 1; i <= 50_000; i++) h.record(i, [ev(i, "x")]);
    expect(h.size.events).toBe(100);
    expect((h as unknown as { ring: unknown[] }).ring.length).toBeLessThan(2200);
    expect(indexes(h.since(49_998))).toEqual(["49999x", "50000x"]);
  });

  it("chunkAfter ends at a whole index, and gives one oversized index whole", () => {
    const h = new WatchHistory();
    h.record(1, [ev(1, "a"), ev(1, "b")]);
    h.record(2, [ev(2, "c"), ev(2, "d"), ev(2, "e")]);
    expect(indexes(h.chunkAfter(0, 3))).toEqual(["1a", "1b"]);
    expect(indexes(h.chunkAfter(1, 2))).toEqual(["2c", "2d", "2e"]);
    expect(indexes(h.chunkAfter(0, 5))).toEqual(["1a", "1b", "2c", "2d", "2e"]);
  });

  it("a snapshot restore resets it at the snapshot's index and tells subscribers; close tells them once", () => {
    const h = new WatchHistory();
    const seen: string[] = [];
    const sub: WatchSubscriber = { onApplied: (i, e) => seen.push(`applied ${i}:${e.length}`), onReset: (f) => seen.push(`reset ${f}`), onClose: () => seen.push("close") };
    h.record(1, [ev(1, "a")]);
    const unsubscribe = h.subscribe(sub);
    h.record(2, []);
    h.reset(40);
    expect(h.since(39)).toEqual({ ok: false, oldestIndex: 40 });
    h.record(41, [ev(41, "z")]);
    h.close();
    h.close();
    unsubscribe();
    expect(seen).toEqual(["applied 2:0", "reset 40", "applied 41:1", "close"]);
  });

  it("carries deletions (explicit DELETE and retention) in log order, written as `event: deleted` with the index as id", () => {
    const h = new WatchHistory();
    const table = new TaskTable();
    const commands: Command[] = [
      { type: "submit", id: "a", payload: null, priority: 0, maxAttempts: 1, nowMs: 0 },
      { type: "submit", id: "b", payload: null, priority: 0, maxAttempts: 1, nowMs: 0 },
      { type: "cancel", id: "a" },
      { type: "delete", ids: ["a"] },
      { type: "cancel", id: "b" },
      { type: "delete", ids: ["b"], dedupeKeep: 100 },
      { type: "submit", id: "b", payload: null, priority: 0, maxAttempts: 1, nowMs: 0 },
    ];
    const seen: string[] = [];
    h.subscribe({ onApplied: (_i, events) => seen.push(...events.map((e) => e.json)), onReset: () => undefined, onClose: () => undefined });
    commands.forEach((c, k) => h.recordApplied(k + 1, table.apply(k + 1, c), (id) => table.getTask(id)));
    expect(indexes(h.since(0))).toEqual(["1a", "2b", "3a", "4a", "5b", "6b"]);
    expect(seen.slice(3)).toEqual(['{"index":4,"id":"a","deleted":true}', '{"index":5,"id":"b","state":"cancelled","attempt":0,"worker":null}', '{"index":6,"id":"b","deleted":true}']);
    const answer = h.since(3);
    expect(answer.ok && answer.events.map(formatEvent)).toEqual([
      'event: deleted\nid: 4\ndata: {"index":4,"id":"a","deleted":true}\n\n',
      'id: 5\ndata: {"index":5,"id":"b","state":"cancelled","attempt":0,"worker":null}\n\n',
      'event: deleted\nid: 6\ndata: {"index":6,"id":"b","deleted":true}\n\n',
    ]);
  });
});
