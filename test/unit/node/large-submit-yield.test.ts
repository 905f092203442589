// Issue 11 point 8: a body-limit submit ran JSON.parse, validation, encodeCommand and (after the apply) the answer's
// serialization back to back in one event-loop turn; on a busy machine that outlasted the election timeout, the
// leader sent no heartbeats, lost its leadership, and the submit ended 504 OUTCOME_UNKNOWN. A large submit must let
// the event loop turn (timers, I/O: heartbeats) between its stages; a small one is not delayed.
import { describe, expect, it } from "vitest";
import { NodeApi } from "../../../src/api/node-api.js";
import type { ReplicaHandle } from "../../../src/node/replica-handle.js";
import { LARGE_REQUEST_BYTES } from "../../../src/node/large-request-yield.js";

const TASK = { id: "t1", state: "pending", worker: null, attempt: 0, payload: null, priority: 0, maxAttempts: 3, createdIndex: 5, updatedIndex: 5 };

function leaderApi(events: string[]): NodeApi {
  const node = {
    id: "n1",
    cfg: { token: "tok", electionTimeoutMs: [150, 300] },
    runner: { isLeader: true, knownLeader: "n1", waitForLeader: async () => "n1" },
    table: { getTask: () => undefined },
    newTaskId: () => "t1",
    proposeCommand: async () => {
      events.push("propose");
      return { ok: true, created: true, task: TASK };
    },
  } as unknown as ReplicaHandle;
  return new NodeApi(node);
}

/** Submits, counting how many event-loop turns (setImmediate rounds) pass before the proposal and before the answer. */
async function turnsAroundSubmit(bodyBytes: number): Promise<string[]> {
  const events: string[] = [];
  let stop = false;
  const turn = (): void => {
    if (stop) return;
    events.push("turn");
    setImmediate(turn);
  };
  setImmediate(turn);
  const api = leaderApi(events);
  await api.submit({ id: "t1", payload: null, maxAttempts: 3, priority: 0 }, { forwarded: false, body: Buffer.alloc(bodyBytes, 0x20) });
  events.push("answer");
  stop = true;
  return events;
}

describe("a large submit on the leader", () => {
  it("lets the event loop turn before it proposes and before it answers", async () => {
    const events = await turnsAroundSubmit(LARGE_REQUEST_BYTES * 16);
    const propose = events.indexOf("propose");
    expect(events.slice(0, propose)).toContain("turn"); // parse | validation | proposal are separate turns
    expect(events.slice(propose, events.indexOf("answer"))).toContain("turn"); // apply | answer's serialization
  });

  it("does not delay a small one", async () => {
    const events = await turnsAroundSubmit(200);
    expect(events.slice(0, events.indexOf("answer"))).not.toContain("turn");
  });
});
