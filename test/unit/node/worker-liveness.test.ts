// The leader's liveness decision the node and the simulator both make (src/node/worker-liveness.ts).
import { describe, expect, it } from "vitest";
import { type LivenessInput, decideWorkerLiveness } from "../../../src/node/worker-liveness.js";
import type { WorkerInfo } from "../../../src/scheduler/types.js";

const TIMEOUT = 1000;
const worker = (id: string, over: Partial<WorkerInfo> = {}): WorkerInfo => ({ id, alive: true, active: 0, capacity: 2, changedAtMs: 0, tags: [], ...over });

function input(over: Partial<LivenessInput> & { heard?: Record<string, number> }): LivenessInput {
  const heard = over.heard ?? {};
  return {
    selfId: "n1",
    nowMs: 10_000,
    workerTimeoutMs: TIMEOUT,
    leaderSinceMs: 0,
    members: new Map([["n1", 2], ["n2", 2], ["n3", 2]]),
    registered: [worker("n1"), worker("n2"), worker("n3")],
    lastHeardMs: (id) => heard[id],
    contacted: (id) => heard[id] !== undefined,
    inFlight: () => false,
    inLatestConf: () => false,
    ...over,
  };
}
const summary = (i: LivenessInput) => decideWorkerLiveness(i).map((d) => `${d.command.type} ${d.worker}`);

describe("decideWorkerLiveness", () => {
  it("declares dead a worker silent for the timeout, after the grace period", () => {
    expect(summary(input({ heard: { n2: 9_500, n3: 8_999 } }))).toEqual(["workerDead n3"]);
    const d = decideWorkerLiveness(input({ heard: { n2: 9_500, n3: 8_000 } }))[0]!;
    expect(d.silentMs).toBe(2_000);
  });

  it("declares no one dead within the first timeout of a leadership", () => {
    // n3 was last heard long ago (before this leadership): still no verdict until the grace is over.
    expect(summary(input({ leaderSinceMs: 9_500, heard: { n2: 9_600, n3: 1_000 } }))).toEqual([]);
    expect(summary(input({ leaderSinceMs: 9_000, heard: { n2: 9_600, n3: 1_000 } }))).toEqual(["workerDead n3"]);
    // Once the grace is over, a member never heard counts as heard when the leadership began.
    expect(summary(input({ leaderSinceMs: 9_000, heard: { n2: 9_600 } }))).toEqual(["workerDead n3"]);
  });

  it("registers alive only a member actually contacted during this leadership (the leader itself always)", () => {
    const registered = [worker("n2", { alive: false })];
    expect(summary(input({ registered, leaderSinceMs: 9_800, heard: {} }))).toEqual(["workerUp n1"]);
    expect(summary(input({ registered, heard: { n2: 9_900, n3: 9_900 } }))).toEqual(["workerUp n1", "workerUp n2", "workerUp n3"]);
  });

  it("updates a changed capacity", () => {
    const d = decideWorkerLiveness(input({ members: new Map([["n1", 5]]), registered: [worker("n1")] }));
    expect(d.map((x) => x.command)).toEqual([{ type: "workerUp", worker: "n1", capacity: 5, nowMs: 10_000 }]);
  });

  it("releases a worker gone from the membership, unless the latest configuration in the log holds it again", () => {
    const registered = [worker("n1"), worker("n4", { alive: false, active: 1 })];
    const members = new Map([["n1", 2]]);
    expect(summary(input({ members, registered }))).toEqual(["workerRemoved n4"]);
    expect(summary(input({ members, registered, inLatestConf: (id) => id === "n4" }))).toEqual([]);
    expect(summary(input({ members, registered: [worker("n1"), worker("n4", { alive: false })] }))).toEqual([]);
  });

  it("makes no second decision about a worker whose decision is in flight", () => {
    expect(summary(input({ heard: { n2: 9_500 }, inFlight: (id) => id === "n3" }))).toEqual([]);
  });
});

describe("member tags (cluster file nodes[].tags)", () => {
  const heard = { n2: 9_900, n3: 9_900 };
  it("registers a member's tags with its workerUp, and again when they differ from the table's", () => {
    const memberTags = (id: string) => (id === "n2" ? ["gpu"] : []);
    const decisions = decideWorkerLiveness(input({ heard, memberTags }));
    expect(decisions.map((d) => d.command)).toEqual([{ type: "workerUp", worker: "n2", capacity: 2, nowMs: 10_000, tags: ["gpu"] }]);
    const registered = [worker("n1"), worker("n2", { tags: ["gpu"] }), worker("n3")];
    expect(summary(input({ heard, memberTags, registered }))).toEqual([]);
    // Tags taken away: registered again without them.
    expect(decideWorkerLiveness(input({ heard, registered })).map((d) => d.command)).toEqual([
      { type: "workerUp", worker: "n2", capacity: 2, nowMs: 10_000 },
    ]);
  });
});
