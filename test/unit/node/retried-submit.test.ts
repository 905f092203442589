// Issue 11 point 7: a retried submit (an id the leader's table already holds) must be answered linearizably, like
// GET: a leader that was deposed without knowing it yet holds a table that may miss later changes of that task,
// so it confirms its leadership with a ReadIndex before it answers from the table.
import { describe, expect, it } from "vitest";
import { NodeApi } from "../../../src/api/node-api.js";
import type { ReplicaHandle } from "../../../src/node/replica-handle.js";
import { RaftschedError } from "../../../src/util/errors.js";

const TASK = { id: "t1", state: "completed", worker: "n1", attempt: 1, payload: null, priority: 0, maxAttempts: 3, createdIndex: 5, updatedIndex: 9 };

/** NodeApi on a node that believes it leads and already holds task t1; readIndex is what the test decides. */
function leaderHoldingTask(readIndex: () => Promise<number>): { api: NodeApi; events: string[] } {
  const events: string[] = [];
  const node = {
    id: "n1",
    cfg: { token: "tok", electionTimeoutMs: [150, 300] },
    runner: {
      isLeader: true,
      knownLeader: "n1",
      waitForLeader: async () => "n1",
      readIndex: async () => {
        events.push("readIndex");
        return readIndex();
      },
    },
    table: {
      getTask: (id: string) => {
        events.push("getTask");
        return id === "t1" ? TASK : undefined;
      },
    },
    newTaskId: () => "generated",
    proposeCommand: async () => {
      events.push("propose");
      throw new RaftschedError("OUTCOME_UNKNOWN", "not expected in this test");
    },
  } as unknown as ReplicaHandle;
  return { api: new NodeApi(node), events };
}

describe("a retried submit on the leader", () => {
  it("confirms leadership (ReadIndex) before answering the existing task", async () => {
    const { api, events } = leaderHoldingTask(async () => 9);
    const r = await api.submit({ id: "t1", payload: null, maxAttempts: 3, priority: 0 });
    expect(r).toEqual({ created: false, task: TASK });
    // The answer is read from the table after the read index, not before.
    expect(events.indexOf("readIndex")).toBeGreaterThanOrEqual(0);
    expect(events.lastIndexOf("getTask")).toBeGreaterThan(events.indexOf("readIndex"));
    expect(events).not.toContain("propose");
  });

  it("does not answer from its table when it cannot confirm its leadership (a deposed leader)", async () => {
    const { api } = leaderHoldingTask(async () => {
      throw new RaftschedError("READ_TIMEOUT", "no read index within 3000 ms (no quorum reachable?)");
    });
    await expect(api.submit({ id: "t1", payload: null, maxAttempts: 3, priority: 0 })).rejects.toMatchObject({ code: "READ_TIMEOUT" });
  });
});
