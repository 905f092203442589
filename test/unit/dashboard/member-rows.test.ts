// The dashboard's member rows (the leader's configuration joined with each member's own status) and its leader
// timeline.
import { describe, expect, it } from "vitest";
import { LeaderTimeline, MAX_LEADER_CHANGES, memberRows, type ClusterView, type MemberStatus } from "../../../src/dashboard/member-rows.js";

const cluster: ClusterView = {
  leaderId: "n1",
  term: 4,
  members: [
    { id: "n1", url: "http://127.0.0.1:1", role: "voter", matchIndex: 100, alive: true },
    { id: "n2", url: "http://127.0.0.1:2", role: "voter", matchIndex: 90, alive: true },
    { id: "n3", url: "http://127.0.0.1:3", role: "learner", matchIndex: 10, alive: false },
  ],
};
const status = (id: string, role: string, commitIndex: number, appliedIndex: number): MemberStatus => ({ id, role, term: 4, leaderId: "n1", commitIndex, appliedIndex });

describe("memberRows", () => {
  it("gives each member its role, term, commit and apply lag, and marks one that did not answer", () => {
    const rows = memberRows(cluster, new Map([["n1", status("n1", "leader", 100, 98)], ["n2", status("n2", "follower", 95, 95)], ["n3", null]]));
    expect(rows.map((r) => [r.id, r.role, r.commitLag, r.applyLag, r.reachable, r.alive])).toEqual([
      ["n1", "leader", 0, 2, true, true],
      ["n2", "follower", 5, 0, true, true],
      ["n3", null, null, null, false, false],
    ]);
    expect(rows[2]!.member).toBe("learner");
  });
});

describe("LeaderTimeline", () => {
  it("records each (term, leader) once, ignores unknown leaders and older terms, keeps the last MAX_LEADER_CHANGES", () => {
    const t = new LeaderTimeline();
    t.note("n1", 1, 10);
    t.note("n1", 1, 20);
    t.note(null, 2, 30);
    t.note("n2", 2, 40);
    t.note("n1", 1, 50); // a stale member still believes in term 1
    expect(t.list()).toEqual([{ term: 1, leaderId: "n1", atMs: 10 }, { term: 2, leaderId: "n2", atMs: 40 }]);
    for (let term = 3; term < 3 + MAX_LEADER_CHANGES; term++) t.note("n3", term, term);
    expect(t.list().length).toBe(MAX_LEADER_CHANGES);
    expect(t.list()[0]!.term).toBe(3); // terms 1 and 2 dropped
  });
});
