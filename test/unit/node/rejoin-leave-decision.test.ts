import { describe, expect, it, vi } from "vitest";
import pino from "pino";
import { encodeConfChange } from "../../../src/raft/confchange.js";
import type { ConfChange, ConfState, Entry, Message } from "../../../src/raft/types.js";
import { decideLeave, latestConfInLog, membersOfEither, type LeaveDecisionInput } from "../../../src/node/rejoin-leave-decision.js";
import { RejoinLeaveWatcher } from "../../../src/node/rejoin-leave-watcher.js";

const without: ConfState = { voters: ["n2", "n3"], learners: [] };
const withSelf: ConfState = { voters: ["n1", "n2", "n3"], learners: [] };

function input(over: Partial<LeaveDecisionInput>): LeaveDecisionInput {
  return { selfId: "n1", removalApplied: true, appliedConf: without, latestConf: without, appliedIndex: 669, leaderCommitHeard: 669, ...over };
}

function configEntry(index: number, cc: ConfChange): Entry {
  return { index, term: 2, kind: "config", data: encodeConfChange(cc) } as Entry;
}

describe("decideLeave", () => {
  it("leaves once removed in the applied and the latest configuration, caught up to the leader's commit", () => {
    expect(decideLeave(input({}))).toBe("leave");
    expect(decideLeave(input({ appliedIndex: 700, leaderCommitHeard: 690 }))).toBe("leave");
  });

  it("waits while the log already holds its re-addition (issue #16: a replayed old removal)", () => {
    expect(decideLeave(input({ latestConf: { voters: ["n2", "n3"], learners: ["n1"] } }))).toBe("wait");
  });

  it("waits while the leader has told it of commits it has not applied (the re-addition may be among them)", () => {
    expect(decideLeave(input({ appliedIndex: 669, leaderCommitHeard: 678 }))).toBe("wait");
  });

  it("stays without a removal applied (a --join node with an empty configuration) or once added back", () => {
    const empty: ConfState = { voters: [], learners: [] };
    expect(decideLeave(input({ removalApplied: false, appliedConf: empty, latestConf: empty }))).toBe("stay");
    expect(decideLeave(input({ appliedConf: withSelf, latestConf: withSelf }))).toBe("stay");
  });

  it("the broken rule leaves on any removal, as before the fix", () => {
    expect(decideLeave(input({ latestConf: withSelf, leaderCommitHeard: 700 }), { leaveOnAnyRemoval: true })).toBe("leave");
  });
});

describe("latestConfInLog and membersOfEither", () => {
  it("folds every config entry after the applied point, skipping normal and undecodable ones", () => {
    const entries: Entry[] = [
      { index: 670, term: 2, kind: "normal", data: new Uint8Array([1]) } as Entry,
      configEntry(676, { op: "addLearner", id: "n1", url: "http://127.0.0.1:7001" }),
      { index: 677, term: 2, kind: "config", data: new TextEncoder().encode("nonsense") } as Entry,
      configEntry(678, { op: "addVoter", id: "n1" }),
    ];
    expect(latestConfInLog(without, entries)).toEqual({ voters: ["n2", "n3", "n1"], learners: [] });
    expect(latestConfInLog(without, [])).toBe(without);
    expect([...membersOfEither(without, { voters: ["n4"], learners: ["n1"] })].sort()).toEqual(["n1", "n2", "n3", "n4"]);
  });
});

describe("peers kept while a node replays a removal its log undoes (storage ids, links)", () => {
  it("a replayed 'remove n2' followed in the log by 'addVoter n2' keeps n2 (its disk is not forgotten)", () => {
    const afterRemoval: ConfState = { voters: ["n1", "n3"], learners: [] };
    const later = [configEntry(40, { op: "addLearner", id: "n2" }), configEntry(41, { op: "addVoter", id: "n2" })];
    expect(membersOfEither(afterRemoval, latestConfInLog(afterRemoval, later)).has("n2")).toBe(true);
    expect(membersOfEither(afterRemoval, latestConfInLog(afterRemoval, [])).has("n2")).toBe(false);
  });
});

describe("RejoinLeaveWatcher", () => {
  function watcher(state: { applied: ConfState; latest: ConfState; appliedIndex: number }, onLeave: () => void) {
    return new RejoinLeaveWatcher({
      selfId: "n1",
      logger: pino({ level: "silent" }),
      appliedConf: () => state.applied,
      latestConf: () => state.latest,
      appliedIndex: () => state.appliedIndex,
      onLeave,
    });
  }
  const heartbeat = (commit: number) => ({ type: "heartbeat", from: "n2", to: "n1", term: 3, commit }) as unknown as Message;

  it("a replayed removal followed by the re-addition does not exit (the pending exit is cancelled)", () => {
    vi.useFakeTimers();
    try {
      const state = { applied: without, latest: without, appliedIndex: 669 };
      const onLeave = vi.fn();
      const w = watcher(state, onLeave);
      w.heard(heartbeat(678));
      w.onConfChangeApplied({ op: "remove", id: "n1" }, 669);
      vi.advanceTimersByTime(600);
      expect(onLeave).not.toHaveBeenCalled(); // not caught up: waits
      w.onConfChangeApplied({ op: "addLearner", id: "n1" }, 676);
      state.applied = { voters: ["n2", "n3"], learners: ["n1"] };
      state.appliedIndex = 678;
      vi.advanceTimersByTime(5000);
      expect(onLeave).not.toHaveBeenCalled();
    } finally {
      vi.useRealTimers();
    }
  });

  it("a real removal exits about 500 ms after it is applied, once", () => {
    vi.useFakeTimers();
    try {
      const onLeave = vi.fn();
      const w = watcher({ applied: without, latest: without, appliedIndex: 669 }, onLeave);
      w.heard(heartbeat(669));
      w.onConfChangeApplied({ op: "remove", id: "n1" }, 669);
      vi.advanceTimersByTime(400);
      expect(onLeave).not.toHaveBeenCalled();
      vi.advanceTimersByTime(200);
      expect(onLeave).toHaveBeenCalledTimes(1);
      w.onConfChangeApplied({ op: "remove", id: "n1" }, 700);
      vi.advanceTimersByTime(2000);
      expect(onLeave).toHaveBeenCalledTimes(1);
    } finally {
      vi.useRealTimers();
    }
  });

  it("waits while the log holds the re-addition, and leaves if a new leader truncates it away", () => {
    vi.useFakeTimers();
    try {
      const state = { applied: without, latest: { voters: ["n2", "n3"], learners: ["n1"] } as ConfState, appliedIndex: 669 };
      const onLeave = vi.fn();
      const w = watcher(state, onLeave);
      w.onConfChangeApplied({ op: "remove", id: "n1" }, 669);
      vi.advanceTimersByTime(3000);
      expect(onLeave).not.toHaveBeenCalled();
      state.latest = without; // the uncommitted re-addition was overwritten
      vi.advanceTimersByTime(600);
      expect(onLeave).toHaveBeenCalledTimes(1);
    } finally {
      vi.useRealTimers();
    }
  });
});
