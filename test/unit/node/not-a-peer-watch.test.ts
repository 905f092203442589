import pino from "pino";
import { describe, expect, it } from "vitest";
import { NotAPeerWatch, removalConfirmedBy, shouldAskIfRemoved, type PeerLinkState } from "../../../src/node/not-a-peer-watch.js";

const refused = (peer: string, sinceMs: number): PeerLinkState => ({ peer, connected: false, notAPeerSinceMs: sinceMs });
const down = (peer: string): PeerLinkState => ({ peer, connected: false, notAPeerSinceMs: null });

describe("shouldAskIfRemoved", () => {
  const base = { selfIsMember: true, nowMs: 10_000, refusedForMs: 1_500 };
  it("asks once no peer accepts the node and one has refused it as not a peer for long enough", () => {
    expect(shouldAskIfRemoved({ ...base, links: [refused("n2", 8_000), down("n3")] })).toBe(true);
    expect(shouldAskIfRemoved({ ...base, links: [refused("n2", 9_000), refused("n3", 9_500)] })).toBe(false);
  });
  it("never while a peer accepts it, nor on plain connection failures", () => {
    expect(shouldAskIfRemoved({ ...base, links: [refused("n2", 0), { peer: "n3", connected: true, notAPeerSinceMs: null }] })).toBe(false);
    expect(shouldAskIfRemoved({ ...base, links: [down("n2"), down("n3")] })).toBe(false);
  });
  it("never for a node whose own configuration does not list it (a --join node not added yet)", () => {
    expect(shouldAskIfRemoved({ ...base, selfIsMember: false, links: [refused("n2", 0), refused("n3", 0)] })).toBe(false);
  });
});

describe("removalConfirmedBy", () => {
  it("needs an answer that names a leader and does not list the node", () => {
    expect(removalConfirmedBy("n3", { leaderId: "n1", members: [{ id: "n1" }, { id: "n2" }] })).toBe(true);
    expect(removalConfirmedBy("n3", { leaderId: "n1", members: [{ id: "n1" }, { id: "n3" }] })).toBe(false);
    expect(removalConfirmedBy("n3", { leaderId: null, members: [{ id: "n1" }] })).toBe(false);
    expect(removalConfirmedBy("n3", { leaderId: "n1", members: [] })).toBe(false);
    expect(removalConfirmedBy("n3", "nonsense")).toBe(false);
  });
});

describe("NotAPeerWatch.check", () => {
  function watch(answers: Record<string, unknown>, selfIsMember = true) {
    const confirmed: string[] = [];
    const asked: string[] = [];
    const w = new NotAPeerWatch({
      selfId: "n3",
      logger: pino({ level: "silent" }),
      token: "t",
      everyMs: 300,
      refusedForMs: 1_500,
      selfIsMember: () => selfIsMember,
      links: () => [refused("n1", 0), refused("n2", 0)],
      peerUrl: (p) => `http://${p}`,
      onRemovalConfirmed: (e) => confirmed.push(e),
      fetchCluster: async (url) => {
        asked.push(url);
        const a = answers[url];
        if (a instanceof Error) throw a;
        return a;
      },
    });
    return { w, confirmed, asked };
  }

  it("reports the removal once a peer's answer confirms it, naming the evidence", async () => {
    const { w, confirmed } = watch({ "http://n1": new Error("ECONNREFUSED"), "http://n2": { leaderId: "n1", members: [{ id: "n1" }, { id: "n2" }] } });
    await w.check(5_000);
    expect(confirmed).toEqual(["n2 answers leader n1, members n1, n2"]);
    await w.check(50_000);
    expect(confirmed).toHaveLength(1);
  });

  it("stays when the peers still list it, and asks again only after another refusal period", async () => {
    const { w, confirmed, asked } = watch({ "http://n1": { leaderId: "n1", members: [{ id: "n1" }, { id: "n3" }] }, "http://n2": new Error("timeout") });
    await w.check(5_000);
    await w.check(5_500);
    expect(asked).toHaveLength(2);
    await w.check(6_600);
    expect(asked).toHaveLength(4);
    expect(confirmed).toEqual([]);
  });

  it("never asks for a node that is not a member yet", async () => {
    const { w, asked } = watch({}, false);
    await w.check(5_000);
    expect(asked).toEqual([]);
  });
});
