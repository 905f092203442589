// The Ready plan the node's runner and the simulator's both follow (src/node/ready-plan.ts).
import { describe, expect, it } from "vitest";
import { changesTermOrVote, planReady } from "../../../src/node/ready-plan.js";
import type { Entry, HardState, Message, Ready, Snapshot } from "../../../src/raft/types.js";

const entry = (index: number, term = 1): Entry => ({ index, term, kind: "normal", data: new Uint8Array(0) }) as Entry;
const msg = (type: Message["type"]): Message => ({ type, from: "n1", to: "n2", term: 1 }) as unknown as Message;
const durable: HardState = { term: 3, vote: "n1", commit: 5 };

function ready(over: Partial<Ready>): Ready {
  return { entries: [], messages: [], committedEntries: [], readStates: [], mustSync: false, ...over };
}

describe("changesTermOrVote", () => {
  it("compares term and vote with the durable hard state, not the commit index", () => {
    expect(changesTermOrVote(undefined, durable)).toBe(false);
    expect(changesTermOrVote({ ...durable, commit: 9 }, durable)).toBe(false);
    expect(changesTermOrVote({ ...durable, term: 4 }, durable)).toBe(true);
    expect(changesTermOrVote({ ...durable, vote: "n2" }, durable)).toBe(true);
  });
});

describe("planReady", () => {
  const messages = [msg("append"), msg("voteResp"), msg("heartbeat"), msg("appendResp")];

  it("a leader sends its appends and heartbeats early, and nothing else", () => {
    const plan = planReady(ready({ messages, entries: [entry(6)], mustSync: true }), true, durable);
    expect([...plan.sendEarly]).toEqual([0, 2]);
    expect(plan.needsWrite).toBe(true);
    expect(plan.sync).toBe(true);
  });

  it("nothing leaves early from a follower, or from a leader whose Ready changes term or vote", () => {
    expect(planReady(ready({ messages }), false, durable).sendEarly.size).toBe(0);
    const newTerm = ready({ messages, hardState: { term: 4, vote: "n1", commit: 5 }, mustSync: true });
    expect(planReady(newTerm, true, durable).sendEarly.size).toBe(0);
    const commitOnly = ready({ messages, hardState: { ...durable, commit: 7 } });
    expect([...planReady(commitOnly, true, durable).sendEarly]).toEqual([0, 2]);
  });

  it("applies during the write only the committed entries below the Ready's new ones", () => {
    const rd = ready({ entries: [entry(7), entry(8)], committedEntries: [entry(5), entry(6), entry(7)], mustSync: true });
    expect(planReady(rd, true, durable).applyDuringWrite).toBe(2);
    expect(planReady(ready({ committedEntries: [entry(5), entry(6)] }), false, durable).applyDuringWrite).toBe(2);
  });

  it("applies nothing during the write of a snapshot", () => {
    const snapshot = { meta: { index: 10, term: 2, conf: { voters: ["n1"], learners: [] } }, data: new Uint8Array(0) } as Snapshot;
    const rd = ready({ snapshot, committedEntries: [entry(11)], mustSync: true });
    const plan = planReady(rd, false, durable);
    expect(plan.applyDuringWrite).toBe(0);
    expect(plan.needsWrite).toBe(true);
  });

  it("a Ready with only messages needs no write", () => {
    expect(planReady(ready({ messages }), true, durable).needsWrite).toBe(false);
  });
});
