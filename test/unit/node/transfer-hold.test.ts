// Which forwarding failures a follower may resend to the next leader. Resending is safe only when the write was
// certainly not applied: the leader's own refusal, or a connection refused before anything was sent. A reset or a
// timeout may come after the leader proposed the write; resending it then finds the task this very request created
// and answers 200 "it already existed" (`raftsched chaos --seed 7` caught this after a kill-leader mid-forward).
import { describe, expect, it } from "vitest";
import { NOT_APPLIED_DETAIL, TransferHold, forwardThroughHandOver, isHandOverRefusal, proposeThroughHandOver, readBeforeHeldWrite } from "../../../src/node/transfer-hold.js";
import { isHeldWrite } from "../../../src/api/leader-forward.js";
import { RaftschedError } from "../../../src/util/errors.js";

const refusal = (code: string, notApplied: boolean) => new RaftschedError(code, "x", { [NOT_APPLIED_DETAIL]: notApplied });

describe("isHandOverRefusal", () => {
  it("takes a leader's own TRANSFER_IN_PROGRESS / NO_LEADER / NOT_LEADER answer, or a refused connection", () => {
    for (const code of ["TRANSFER_IN_PROGRESS", "NO_LEADER", "NOT_LEADER"]) expect(isHandOverRefusal(refusal(code, true))).toBe(true);
  });

  it("does not take a reset connection (the leader may have proposed the write before it died), nor other codes", () => {
    expect(isHandOverRefusal(refusal("NO_LEADER", false))).toBe(false);
    expect(isHandOverRefusal(new RaftschedError("NO_LEADER", "no detail"))).toBe(false);
    expect(isHandOverRefusal(refusal("OUTCOME_UNKNOWN", true))).toBe(false);
    expect(isHandOverRefusal(refusal("NOT_COMMITTED", true))).toBe(false);
  });
});

describe("forwardThroughHandOver", () => {
  const hold = () =>
    new TransferHold({ selfId: "n1", view: () => ({ isLeader: false, transferring: false, knownLeader: "n3" }), maxHoldMs: () => 200 });

  it("resends to the next leader after a refusal", async () => {
    const sent: Array<string | null> = [];
    const r = await forwardThroughHandOver(hold(), "n2", async (to) => {
      sent.push(to);
      if (to === null) throw refusal("TRANSFER_IN_PROGRESS", true);
      return "ok";
    });
    expect(r).toBe("ok");
    expect(sent).toEqual([null, "n3"]);
  });

  it("sends once and passes the error on when the connection was reset mid-forward", async () => {
    const sent: Array<string | null> = [];
    await expect(
      forwardThroughHandOver(hold(), "n2", async (to) => {
        sent.push(to);
        throw refusal("NO_LEADER", false);
      }),
    ).rejects.toMatchObject({ code: "NO_LEADER" });
    expect(sent).toEqual([null]);
  });
});

describe("lifecycle writes held through a hand-over (issue 13)", () => {
  it("a follower holds and resends DELETE, retry and schedule writes as it does submits; not reads or membership", () => {
    for (const [m, p] of [["POST", "/v1/tasks"], ["POST", "/v1/tasks/a/retry"], ["DELETE", "/v1/tasks/a"], ["POST", "/v1/schedules"], ["DELETE", "/v1/schedules/s"]] as const) expect(isHeldWrite(m, p), `${m} ${p}`).toBe(true);
    for (const [m, p] of [["GET", "/v1/tasks/a"], ["GET", "/v1/schedules"], ["POST", "/v1/cluster/members"], ["DELETE", "/v1/cluster/members/n2"], ["POST", "/v1/cluster/transfer-leader"]] as const) expect(isHeldWrite(m, p), `${m} ${p}`).toBe(false);
  });

  it("the read before a DELETE's proposal: a failure while leadership moves is TRANSFER_IN_PROGRESS (held), otherwise itself", async () => {
    const failing = () => Promise.reject(new RaftschedError("NO_LEADER", "read lost"));
    const settled = { isLeader: true, transferring: false, knownLeader: "n1" };
    await expect(readBeforeHeldWrite(failing, () => ({ ...settled, transferring: true }))).rejects.toMatchObject({ code: "TRANSFER_IN_PROGRESS" });
    await expect(readBeforeHeldWrite(failing, () => ({ ...settled, isLeader: false, knownLeader: "n2" }))).rejects.toMatchObject({ code: "TRANSFER_IN_PROGRESS" });
    await expect(readBeforeHeldWrite(failing, () => settled)).rejects.toMatchObject({ code: "NO_LEADER" });
    await expect(readBeforeHeldWrite(() => Promise.resolve(), () => settled)).resolves.toBeUndefined();
  });
});

describe("proposeThroughHandOver", () => {
  it("a NOT_LEADER from the core (the hand-over finished before the proposal) sends the write to the new leader", async () => {
    const hold = new TransferHold({ selfId: "n1", view: () => ({ isLeader: false, transferring: false, knownLeader: "n2" }), maxHoldMs: () => 200 });
    const r = await proposeThroughHandOver(
      hold,
      async () => {
        throw new RaftschedError("NOT_LEADER", "not the leader", { leaderId: "n2" });
      },
      async () => "sent to n2",
    );
    expect(r).toBe("sent to n2");
  });

  it("passes other errors on as they are", async () => {
    const hold = new TransferHold({ selfId: "n1", view: () => ({ isLeader: true, transferring: false, knownLeader: "n1" }), maxHoldMs: () => 200 });
    await expect(proposeThroughHandOver(hold, async () => Promise.reject(new RaftschedError("OUTCOME_UNKNOWN", "x")), async () => "no")).rejects.toMatchObject({ code: "OUTCOME_UNKNOWN" });
  });
});
