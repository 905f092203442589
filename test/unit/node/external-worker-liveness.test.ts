// The liveness rule for external workers (src/node/external-worker-liveness.ts), reached through the shared
// decideWorkerLiveness the node and the simulator call.
import { describe, expect, it } from "vitest";
import { type LivenessInput, decideWorkerLiveness } from "../../../src/node/worker-liveness.js";
import type { ExternalPresence } from "../../../src/node/external-presence.js";
import type { WorkerInfo } from "../../../src/scheduler/types.js";

const TIMEOUT = 1000;
const NOW = 100_000;
const member = (id: string): WorkerInfo => ({ id, alive: true, active: 0, capacity: 2, changedAtMs: 0, tags: [] });
const ext = (id: string, over: Partial<WorkerInfo> = {}, tags: string[] = []): WorkerInfo => ({
  id,
  alive: true,
  active: 0,
  capacity: 2,
  changedAtMs: 0,
  tags,
  extras: { kind: "external", tags },
  ...over,
});
const here = (over: Partial<ExternalPresence> = {}): ExternalPresence => ({ capacity: 2, tags: [], lastHeardMs: NOW - 100, connected: true, leaving: false, ...over });

function input(registered: WorkerInfo[], externals: Record<string, ExternalPresence>, over: Partial<LivenessInput> = {}): LivenessInput {
  return {
    selfId: "n1",
    nowMs: NOW,
    workerTimeoutMs: TIMEOUT,
    leaderSinceMs: 0,
    members: new Map([["n1", 2]]),
    registered: [member("n1"), ...registered],
    lastHeardMs: () => NOW,
    contacted: () => true,
    inFlight: () => false,
    inLatestConf: () => false,
    externals: new Map(Object.entries(externals)),
    ...over,
  };
}
const summary = (i: LivenessInput) => decideWorkerLiveness(i).map((d) => `${d.command.type} ${d.worker}`);

describe("external workers in decideWorkerLiveness", () => {
  it("an external worker is not a member, and is never removed for that (it was, before the kind was checked)", () => {
    expect(summary(input([ext("w1")], { w1: here() }))).toEqual([]);
  });

  it("a new connected worker: one workerUp carrying kind and tags; an unchanged one: nothing", () => {
    const d = decideWorkerLiveness(input([], { w1: here({ tags: ["gpu"] }) }));
    expect(d.map((x) => x.command)).toEqual([{ type: "workerUp", worker: "w1", capacity: 2, nowMs: NOW, kind: "external", tags: ["gpu"] }]);
    expect(summary(input([ext("w1", {}, ["gpu"])], { w1: here({ tags: ["gpu"] }) }))).toEqual([]);
  });

  it("changed capacity or tags, or dead and back: workerUp again", () => {
    expect(summary(input([ext("w1")], { w1: here({ capacity: 0 }) }))).toEqual(["workerUp w1"]);
    expect(summary(input([ext("w1")], { w1: here({ tags: ["a"] }) }))).toEqual(["workerUp w1"]);
    expect(summary(input([ext("w1", { alive: false })], { w1: here() }))).toEqual(["workerUp w1"]);
  });

  it("silent for workerTimeoutMs: dead, after the leader's grace; never heard by this leader counts from its start", () => {
    expect(summary(input([ext("w1")], { w1: here({ lastHeardMs: NOW - TIMEOUT }) }))).toEqual(["workerDead w1"]);
    expect(summary(input([ext("w1")], { w1: here({ lastHeardMs: NOW - TIMEOUT, connected: false }) }))).toEqual(["workerDead w1"]);
    // A new leader: the worker has not reconnected yet, but it is within the grace period.
    expect(summary(input([ext("w1")], {}, { leaderSinceMs: NOW - 500 }))).toEqual([]);
    expect(summary(input([ext("w1")], {}, { leaderSinceMs: NOW - TIMEOUT }))).toEqual(["workerDead w1"]);
  });

  it("a worker that said bye after draining is dead at once, even in the grace period", () => {
    expect(summary(input([ext("w1")], { w1: here({ leaving: true }) }, { leaderSinceMs: NOW - 10 }))).toEqual(["workerDead w1"]);
  });

  it("dead, disconnected and idle for 10 × workerTimeoutMs: removed; connected or younger: kept", () => {
    const dead = ext("w1", { alive: false, changedAtMs: NOW - 10 * TIMEOUT });
    expect(summary(input([dead], {}))).toEqual(["workerRemoved w1"]);
    expect(summary(input([ext("w1", { alive: false, changedAtMs: NOW - 9 * TIMEOUT })], {}))).toEqual([]);
    expect(summary(input([dead], { w1: here({ lastHeardMs: NOW - 5 * TIMEOUT }) }))).toEqual([]);
  });

  it("a decision in flight, or an id that is a member's, makes nothing", () => {
    expect(summary(input([], { w1: here() }, { inFlight: (id) => id === "w1" }))).toEqual([]);
    expect(summary(input([], { n2: here() }, { inLatestConf: (id) => id === "n2" }))).toEqual([]);
  });
});
