// The dashboard feed (GET /v1/dashboard/events): the first frames a page gets, the task rows that follow an apply,
// the member statuses it probes, and its bounds — streams per node, unsent bytes per stream, a slow leader read.
import http from "node:http";
import type { AddressInfo } from "node:net";
import type { ServerResponse } from "node:http";
import { afterEach, describe, expect, it } from "vitest";
import { DashboardFeed, MAX_DASHBOARD_STREAMS, type FeedSources } from "../../../src/dashboard/feed.js";
import { MAX_SSE_BUFFER_BYTES } from "../../../src/dashboard/sse-stream.js";
import type { MemberStatus } from "../../../src/dashboard/member-rows.js";
import type { Task } from "../../../src/scheduler/types.js";

const task = (id: string, updatedIndex: number, state: Task["state"] = "pending"): Task => ({
  id, state, worker: null, attempt: 0, payload: null, priority: 0, maxAttempts: 3, createdIndex: updatedIndex, updatedIndex, requires: [], timeoutMs: null, runAt: null,
});
const selfStatus: MemberStatus = { id: "n1", role: "leader", term: 3, leaderId: "n1", commitIndex: 40, appliedIndex: 40 };
const clusterView = {
  leaderId: "n1",
  term: 3,
  members: [
    { id: "n1", url: "http://127.0.0.1:1", role: "voter", matchIndex: 40, alive: true },
    { id: "n2", url: "http://127.0.0.1:2", role: "voter", matchIndex: 38, alive: true },
  ],
};

function sources(over: Partial<FeedSources> = {}): FeedSources {
  const tasks = new Map([["a", task("a", 39, "completed")]]);
  return {
    nodeId: "n1",
    status: () => selfStatus,
    counts: () => ({ pending: 0, assigned: 0, completed: 1, dead: 0, cancelled: 0, total: 1 }),
    getTask: (id) => tasks.get(id),
    recentTasks: () => [...tasks.values()],
    cluster: async () => clusterView,
    workers: async () => [{ id: "n1", alive: true, active: 0, capacity: 4 }],
    probe: async (url) => (url.endsWith(":2") ? { ...selfStatus, id: "n2", role: "follower", commitIndex: 38, appliedIndex: 37 } : null),
    ...over,
  };
}

/** A response stand-in that records what was written. */
function fakeResponse(writableLength = 0): ServerResponse & { written: string[]; destroyedNow: boolean } {
  const closeCbs: (() => void)[] = [];
  const res = {
    written: [] as string[],
    destroyedNow: false,
    writableLength,
    get destroyed() {
      return res.destroyedNow;
    },
    writeHead: () => res,
    write: (chunk: string) => (res.written.push(chunk), true),
    once: (event: string, cb: () => void) => (event === "close" && closeCbs.push(cb), res),
    end: () => {
      res.destroyedNow = true;
      for (const cb of closeCbs) cb();
    },
    destroy: () => res.end(),
  };
  return res as unknown as ServerResponse & { written: string[]; destroyedNow: boolean };
}

/** The events in what a fake response received: [event, data]. */
function events(res: { written: string[] }): [string, any][] {
  return res.written
    .join("")
    .split("\n\n")
    .filter((b) => b.startsWith("event:"))
    .map((b) => [b.split("\n")[0]!.slice(7), JSON.parse(b.split("\n")[1]!.slice(6))]);
}

/** An apply once the node has caught up (leader known, applied = commit): the sparklines count from then on. */
async function caughtUp(feed: DashboardFeed): Promise<void> {
  feed.onApplied({ ok: true });
  await Promise.resolve();
}

let feeds: DashboardFeed[] = [];
afterEach(() => {
  for (const f of feeds) f.close();
  feeds = [];
});
const newFeed = (s: FeedSources) => {
  const f = new DashboardFeed(s);
  feeds.push(f);
  return f;
};

describe("DashboardFeed", () => {
  it("sends a page the state and the recent tasks at once, then members joined with their probed status", async () => {
    const feed = newFeed(sources());
    const res = fakeResponse();
    feed.subscribe(res);
    const first = events(res);
    expect(first.map(([e]) => e).slice(0, 2)).toEqual(["state", "tasks"]);
    expect(first[1]![1]).toMatchObject({ reset: true, tasks: [{ id: "a", state: "completed" }] });
    await feed.tick();
    const state = events(res).filter(([e]) => e === "state").at(-1)![1];
    expect(state.members.map((m: any) => [m.id, m.role, m.commitLag, m.applyLag])).toEqual([["n1", "leader", 0, 0], ["n2", "follower", 2, 1]]);
    expect(state.timeline).toEqual([expect.objectContaining({ term: 3, leaderId: "n1" })]);
    expect(state.workers).toHaveLength(1);
  });

  it("sends the rows an apply changed in the next frame, and counts the submit", async () => {
    const feed = newFeed(sources());
    const res = fakeResponse();
    feed.subscribe(res);
    await caughtUp(feed);
    await feed.tick();
    res.written.length = 0;
    feed.onApplied({ ok: true, created: true, task: task("b", 41) });
    await feed.tick();
    const got = events(res);
    expect(got.find(([e]) => e === "tasks")![1]).toEqual({ tasks: [expect.objectContaining({ id: "b", state: "pending", updatedIndex: 41 })] });
    const series = got.find(([e]) => e === "state")![1].series;
    expect(series.submitted.at(-1)).toBe(1);
  });

  it(`refuses stream ${MAX_DASHBOARD_STREAMS + 1} with OVERLOADED, and takes one again once a page left`, () => {
    const feed = newFeed(sources());
    const open = Array.from({ length: MAX_DASHBOARD_STREAMS }, () => fakeResponse());
    for (const r of open) feed.subscribe(r);
    expect(() => feed.subscribe(fakeResponse())).toThrow(expect.objectContaining({ code: "OVERLOADED" }));
    open[0]!.end();
    expect(feed.streamCount).toBe(MAX_DASHBOARD_STREAMS - 1);
    feed.subscribe(fakeResponse());
    feed.close();
    expect(feed.streamCount).toBe(0);
    expect(open.every((r) => r.destroyedNow)).toBe(true);
  });

  it("cuts a page that does not read (more than MAX_SSE_BUFFER_BYTES unsent) instead of buffering for it", async () => {
    const feed = newFeed(sources());
    const stuck = fakeResponse();
    feed.subscribe(stuck);
    (stuck as unknown as { writableLength: number }).writableLength = MAX_SSE_BUFFER_BYTES + 1;
    feed.onApplied({ ok: true, created: true, task: task("c", 50) });
    await feed.tick();
    expect(stuck.destroyedNow).toBe(true);
    expect(feed.streamCount).toBe(0);
  });

  it("does not wait on a leader read that never answers: the frame goes out with the last view", async () => {
    const feed = newFeed(sources({ cluster: () => new Promise(() => undefined) }));
    const res = fakeResponse();
    feed.subscribe(res);
    const t0 = Date.now();
    await feed.tick();
    expect(Date.now() - t0).toBeLessThan(10_000);
    expect(events(res).filter(([e]) => e === "state").length).toBeGreaterThanOrEqual(1);
  });

  it("leaves a restarted node's replay (no leader known yet, or applied behind commit) out of the sparklines", async () => {
    let status: MemberStatus = { ...selfStatus, leaderId: null, commitIndex: 90, appliedIndex: 10 };
    const feed = newFeed(sources({ status: () => status }));
    for (let i = 0; i < 5; i++) feed.onApplied({ ok: true, created: true, task: task(`old-${i}`, 11 + i) });
    feed.onApplied({ ok: true, task: task("old-0", 20, "completed") });
    await Promise.resolve();
    status = { ...selfStatus, commitIndex: 90, appliedIndex: 60 }; // a leader now, still catching up
    feed.onApplied({ ok: true, created: true, task: task("old-9", 61) });
    await Promise.resolve();
    status = { ...selfStatus, commitIndex: 91, appliedIndex: 91 };
    await caughtUp(feed);
    feed.onApplied({ ok: true, created: true, task: task("new", 92) });
    const res = fakeResponse();
    feed.subscribe(res);
    const series = events(res)[0]![1].series;
    expect(series.submitted.reduce((a: number, b: number) => a + b, 0)).toBe(1);
    expect(series.finished.reduce((a: number, b: number) => a + b, 0)).toBe(0);
  });

  it("records leader changes from the role hook with no page open", () => {
    let status = selfStatus;
    const feed = newFeed(sources({ status: () => status }));
    feed.noteLeader();
    status = { ...selfStatus, role: "follower", term: 4, leaderId: "n2" };
    feed.noteLeader();
    const res = fakeResponse();
    feed.subscribe(res);
    expect(events(res)[0]![1].timeline.map((c: any) => [c.term, c.leaderId])).toEqual([[3, "n1"], [4, "n2"]]);
  });
});

describe("the stream on the wire", () => {
  it("is text/event-stream with one JSON data line per event", async () => {
    const feed = newFeed(sources());
    const server = http.createServer((_req, res) => feed.subscribe(res));
    await new Promise<void>((r) => server.listen(0, "127.0.0.1", r));
    try {
      const ctrl = new AbortController();
      const res = await fetch(`http://127.0.0.1:${(server.address() as AddressInfo).port}/`, { signal: ctrl.signal });
      expect(res.headers.get("content-type")).toBe("text/event-stream; charset=utf-8");
      const reader = res.body!.getReader();
      let text = "";
      while (!text.includes("event: tasks")) text += new TextDecoder().decode((await reader.read()).value);
      ctrl.abort();
      expect(text.startsWith("retry: ")).toBe(true);
      expect(text).toMatch(/\nevent: state\ndata: \{[^\n]*\}\n\n/);
    } finally {
      feed.close();
      await new Promise((r) => server.close(r));
    }
  });
});
