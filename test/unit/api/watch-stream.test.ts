// The watch stream over a fake response whose socket takes bytes only when the test says so: catch-up waits for
// drain, a live consumer that stops reading is cut with a last SLOW_CONSUMER event, one that fell behind the
// history ring with COMPACTED, and a closing node ends every stream; 410 below the ring, 503 past the limit.
import { EventEmitter } from "node:events";
import type { IncomingMessage, ServerResponse } from "node:http";
import { describe, expect, it } from "vitest";
import { WatchServer, type WatchLimits } from "../../../src/api/watch-stream.js";
import { WatchHistory } from "../../../src/node/watch-history.js";
import type { TaskEvent } from "../../../src/scheduler/task-events.js";

class FakeResponse extends EventEmitter {
  status = 0;
  text = "";
  /** Bytes written that the "socket" has not taken yet. */
  writableLength = 0;
  ended = false;
  destroyed = false;
  socket = { destroy: () => void (this.destroyed = true) };
  writeHead(status: number): this {
    this.status = status;
    return this;
  }
  write(chunk: string): boolean {
    this.text += chunk;
    this.writableLength += Buffer.byteLength(chunk);
    return true;
  }
  end(chunk?: string): this {
    if (chunk) this.text += chunk;
    this.ended = true;
    return this;
  }
  /** The client read everything. */
  drain(): void {
    this.writableLength = 0;
    this.emit("drain");
  }
  ids(): number[] {
    return [...this.text.matchAll(/^id: (\d+)$/gm)].map((m) => Number(m[1]));
  }
  errorEvent(): { code: string } | null {
    const m = /event: error\ndata: (.*)\n/.exec(this.text);
    return m ? JSON.parse(m[1]!) : null;
  }
}

const limits: WatchLimits = { maxWatchers: 2, maxBufferedBytes: 4096, keepAliveMs: 60_000, sinceSlack: 1000 };
const ev = (index: number, id = `task-${index}`): TaskEvent => ({ index, id, state: "pending", attempt: 0, worker: null });
const req = (headers: Record<string, string> = {}) => ({ headers }) as unknown as IncomingMessage;
const tick = () => new Promise((r) => setImmediate(r));

function setup(records = 0, history = new WatchHistory()) {
  for (let i = 1; i <= records; i++) history.record(i, [ev(i)]);
  const server = new WatchServer(() => history, () => history.lastIndex, limits);
  const open = (query: string, headers: Record<string, string> = {}) => {
    const res = new FakeResponse();
    server.serve(req(headers), res as unknown as ServerResponse, new URL(`http://x/v1/watch${query}`));
    return res;
  };
  return { history, server, open };
}

describe("watch stream", () => {
  it("catches up from since only as fast as the socket drains, then goes live", () => {
    const { history, open } = setup(2000);
    const res = open("?since=10");
    expect(res.status).toBe(200);
    const firstBurst = res.ids();
    expect(firstBurst[0]).toBe(11);
    expect(firstBurst.length).toBeLessThan(1990); // stopped past half the buffer, waiting for drain
    while (res.ids().length < 1990) res.drain();
    expect(res.ids()).toEqual(Array.from({ length: 1990 }, (_, k) => k + 11));
    res.drain();
    history.record(2001, [ev(2001)]);
    expect(res.ids().at(-1)).toBe(2001);
  });

  it("Last-Event-ID wins over since; no position starts from now", () => {
    const { history, open } = setup(5);
    expect(open("?since=1", { "last-event-id": "4" }).ids()).toEqual([5]);
    const now = open("");
    expect(now.ids()).toEqual([]);
    expect(now.text).toContain("watching events after index 5");
    history.record(6, [ev(6)]);
    expect(now.ids()).toEqual([6]);
  });

  it("a live consumer that stops reading is cut with SLOW_CONSUMER and releases everything", async () => {
    const { history, server, open } = setup();
    const res = open("?since=0");
    for (let i = 1; i <= 100; i++) history.record(i, [ev(i, "x".repeat(100))]); // ~17 KB, never drained
    expect(res.ended).toBe(false); // checked after the loop had a turn to hand bytes to the socket
    await tick();
    expect(res.errorEvent()).toMatchObject({ code: "SLOW_CONSUMER" });
    expect(res.ended).toBe(true);
    expect(history.subscriberCount).toBe(0);
    expect(server.watchers).toBe(0);
    history.record(101, [ev(101)]);
    expect(res.ids().includes(101)).toBe(false);
  });

  it("a consumer that reads is not cut by a burst applied in one turn", async () => {
    const { history, open } = setup();
    const res = open("?since=0");
    for (let i = 1; i <= 100; i++) history.record(i, [ev(i, "x".repeat(100))]);
    res.drain(); // the socket took it before the check
    await tick();
    expect(res.ended).toBe(false);
    expect(res.ids().length).toBe(100);
  });

  it("a stream that fell behind the ring while catching up ends with COMPACTED", () => {
    const history = new WatchHistory({ maxEvents: 50 });
    const { open } = setup(40, history);
    const res = open("?since=0");
    for (let i = 41; i <= 200; i++) history.record(i, [ev(i, "y".repeat(200))]);
    res.drain();
    expect(res.errorEvent()).toMatchObject({ code: "COMPACTED" });
  });

  it("410 COMPACTED with oldestIndex below the ring; 503 WATCHERS_FULL past the limit; SHUTTING_DOWN on close", () => {
    const { history, open } = setup(0, new WatchHistory({ maxEvents: 3 }));
    for (let i = 1; i <= 10; i++) history.record(i, [ev(i)]);
    const gone = open("?since=2");
    expect(gone.status).toBe(410);
    expect(JSON.parse(gone.text)).toEqual({ error: { code: "COMPACTED", message: expect.any(String), oldestIndex: 7 } });
    const a = open("?since=7");
    open("");
    expect(() => open("")).toThrow(expect.objectContaining({ code: "WATCHERS_FULL" }));
    history.close();
    expect(a.errorEvent()).toMatchObject({ code: "SHUTTING_DOWN" });
    expect(a.ended).toBe(true);
  });

  it("a restore past the stream's position ends it with COMPACTED", () => {
    const { history, open } = setup(3);
    const res = open("?since=3");
    history.reset(50);
    expect(res.errorEvent()).toMatchObject({ code: "COMPACTED" });
  });
});
