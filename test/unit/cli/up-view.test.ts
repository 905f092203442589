// What `raftsched up` shows, from what it polled (src/cli/up-view.ts).
import { describe, expect, it } from "vitest";
import { describeChanges, leaderLine, leaderOf, nodeRows, type ClusterPoll, type PolledStatus } from "../../../src/cli/up-view.js";

const st = (role: string, term: number, leaderId: string | null, pid: number): PolledStatus => ({ role, term, leaderId, commitIndex: 9, appliedIndex: 9, pid });
const nodes = ["n1", "n2", "n3"].map((id, i) => ({ id, url: `http://127.0.0.1:700${i + 1}` }));

function poll(p: Partial<ClusterPoll>): ClusterPoll {
  return { nodes, statuses: new Map(), members: null, workers: [], childExits: new Map(), childPids: new Map(), ...p };
}

describe("raftsched up's view", () => {
  it("shows a node restarted by hand as up, with its new pid, although up's own child for it was killed", () => {
    const rows = nodeRows(
      poll({
        statuses: new Map([["n1", st("follower", 2, "n2", 4242)], ["n2", st("leader", 2, "n2", 100)], ["n3", null]]),
        childExits: new Map([["n1", "killed by SIGKILL"], ["n3", "killed by SIGKILL"]]),
        childPids: new Map([["n2", 100]]),
      }),
    );
    expect(rows.map((r) => [r.id, r.state, r.pid])).toEqual([
      ["n1", "follower", "4242"],
      ["n2", "leader", "100"],
      ["n3", "down (killed by SIGKILL)", "-"],
    ]);
  });

  it("says removed for a member the leader no longer lists, unreachable for one nobody knows about", () => {
    const rows = nodeRows(poll({ statuses: new Map([["n1", st("leader", 3, "n1", 1)]]), members: new Set(["n1", "n2"]) }));
    expect(rows.map((r) => r.state)).toEqual(["leader", "unreachable", "removed"]);
  });

  it("finds the leader from the nodes' answers; 'no leader yet' only when no answering node knows one", () => {
    expect(leaderOf({ statuses: new Map([["n1", st("leader", 2, "n1", 5)], ["n2", st("leader", 3, "n2", 6)]]) })).toEqual({ id: "n2", term: 3, pid: 6 });
    expect(leaderOf({ statuses: new Map([["n1", st("follower", 4, "n3", 5)], ["n3", null]]) })).toEqual({ id: "n3", term: 4, pid: null });
    expect(leaderLine(leaderOf({ statuses: new Map([["n1", st("candidate", 4, null, 5)], ["n2", null]]) }))).toMatch(/no leader yet/);
  });

  it("without a terminal, reports only what changed between polls", () => {
    const first = nodeRows(poll({ statuses: new Map([["n1", st("leader", 1, "n1", 11)], ["n2", st("follower", 1, "n1", 12)], ["n3", st("follower", 1, "n1", 13)]]) }));
    const a = describeChanges(null, first, undefined, { id: "n1", term: 1, pid: 11 });
    expect(a.lines).toEqual(["n1: leader (pid 11)", "n2: follower (pid 12)", "n3: follower (pid 13)", "leader: n1 (term 1)"]);
    // The same states again (only indexes moved): nothing to print.
    expect(describeChanges(a.after, first, a.leaderAfter, { id: "n1", term: 1, pid: 11 }).lines).toEqual([]);
    const second = nodeRows(
      poll({
        statuses: new Map([["n1", null], ["n2", st("leader", 2, "n2", 12)], ["n3", st("follower", 2, "n2", 13)]]),
        childExits: new Map([["n1", "killed by SIGKILL"]]),
      }),
    );
    expect(describeChanges(a.after, second, a.leaderAfter, { id: "n2", term: 2, pid: 12 }).lines).toEqual([
      "n1: leader (pid 11) → down (killed by SIGKILL)",
      "n2: follower (pid 12) → leader (pid 12)",
      "leader: n2 (term 2)",
    ]);
  });
});
