// The runner's promises, driven by hand: a real RaftNode on a MemoryStorage, an in-memory DurableStore whose
// persist can be made to fail, and messages from the other voter stepped in by the test. No timers are needed to
// elect: campaign() and a granted vote make "a" leader; pre-vote and check-quorum are off so nothing else moves.
import pino from "pino";
import { afterEach, describe, expect, it } from "vitest";
import { RaftNode } from "../../../src/raft/raft.js";
import { makePrng } from "../../../src/raft/prng.js";
import type { Entry, Message, Snapshot } from "../../../src/raft/types.js";
import type { DurableStore, PersistBatch } from "../../../src/storage/durable.js";
import { MemoryStorage } from "../../../src/storage/memory.js";
import { RaftRunner } from "../../../src/node/raft-runner.js";

/** Keeps every batch in memory; `failNext` makes the next persist reject (a failed fsync). */
class MemoryDurable implements DurableStore {
  readonly batches: PersistBatch[] = [];
  failNext: Error | null = null;
  constructor(private readonly storage: MemoryStorage) {}
  async load(): Promise<MemoryStorage> {
    return this.storage;
  }
  async persist(batch: PersistBatch): Promise<void> {
    if (this.failNext) {
      const err = this.failNext;
      this.failNext = null;
      throw err;
    }
    this.batches.push(batch);
  }
  async saveSnapshot(): Promise<void> {}
  async close(): Promise<void> {}
}

interface Rig {
  readonly runner: RaftRunner;
  readonly durable: MemoryDurable;
  readonly sent: Message[];
  readonly applied: Entry[];
}

const runners: RaftRunner[] = [];
afterEach(async () => {
  for (const r of runners.splice(0)) await r.stop();
});

function rig(voters: string[], restore: (s: Snapshot) => void | Promise<void> = () => {}): Rig {
  const storage = new MemoryStorage({ voters, learners: [] });
  const core = new RaftNode({
    id: "a",
    storage,
    electionTicksMin: 1000,
    electionTicksMax: 2000,
    heartbeatTicks: 100,
    random: makePrng(7),
    preVote: false,
    checkQuorum: false,
  });
  const durable = new MemoryDurable(storage);
  const sent: Message[] = [];
  const applied: Entry[] = [];
  const runner = new RaftRunner({
    core,
    storage,
    durable,
    tickMs: 1_000, // the test drives every step; ticks would only add noise
    logger: pino({ level: "silent" }),
    send: (msgs) => sent.push(...msgs),
    apply: (e) => {
      applied.push(e);
      return e.kind === "normal" ? `applied ${new TextDecoder().decode(e.data)} at ${e.index}` : undefined;
    },
    restore,
  });
  runners.push(runner);
  return { runner, durable, sent, applied };
}

/** Makes "a" leader of a two-voter cluster {a, b}: "a" campaigns, "b" grants the vote. */
async function electA(r: Rig): Promise<number> {
  r.runner.campaign();
  await r.runner.idle();
  const term = r.runner.status().term;
  r.runner.step({ type: "voteResp", from: "b", to: "a", term, reject: false });
  await r.runner.idle();
  expect(r.runner.isLeader).toBe(true);
  return term;
}

const bytes = (s: string): Uint8Array => new TextEncoder().encode(s);

describe("RaftRunner", () => {
  it("resolves a proposal with what apply returned, once its entry is applied", async () => {
    const r = rig(["a"]);
    r.runner.campaign();
    await r.runner.idle();
    expect(r.runner.isLeader).toBe(true);
    const answer = await r.runner.propose(bytes("x"), 5_000);
    expect(answer).toMatch(/^applied x at \d+$/);
    expect(r.applied.some((e) => e.kind === "normal" && new TextDecoder().decode(e.data) === "x")).toBe(true);
    // Persisted before applied: the batch holding the entry was written.
    expect(r.durable.batches.some((b) => b.entries.some((e) => new TextDecoder().decode(e.data) === "x"))).toBe(true);
  });

  it("does not resolve before a quorum has the entry, then resolves on the follower's ack", async () => {
    const r = rig(["a", "b"]);
    const term = await electA(r);
    let settled = false;
    const p = r.runner.propose(bytes("y"), 5_000).finally(() => (settled = true));
    await r.runner.idle();
    expect(settled).toBe(false);
    const last = r.runner.status().lastIndex;
    r.runner.step({ type: "appendResp", from: "b", to: "a", term, index: last, reject: false });
    await expect(p).resolves.toMatch(/^applied y at /);
  });

  it("fails a pending proposal with OUTCOME_UNKNOWN when leadership is lost", { timeout: 3_000 }, async () => {
    const r = rig(["a", "b"]);
    const term = await electA(r);
    const p = r.runner.propose(bytes("z"), 60_000); // far beyond the test's timeout: only the step-down may end it
    await r.runner.idle();
    // "b" leads a newer term: "a" steps down without knowing whether "z" will survive.
    r.runner.step({ type: "heartbeat", from: "b", to: "a", term: term + 1, commit: 0 });
    await expect(p).rejects.toMatchObject({ code: "OUTCOME_UNKNOWN", message: expect.stringMatching(/leadership was lost/) });
    expect(r.runner.isLeader).toBe(false);
    expect(r.runner.pendingProposals).toBe(0);
  });

  it("stops for good on a persist error: pending proposals fail with NODE_FAILED, new ones are refused", async () => {
    const r = rig(["a"]);
    r.runner.campaign();
    await r.runner.idle();
    r.durable.failNext = new Error("EIO: fsync failed");
    const p = r.runner.propose(bytes("lost"), 5_000);
    await expect(p).rejects.toMatchObject({ code: "NODE_FAILED" });
    expect(r.runner.fatalError?.message).toMatch(/fsync failed/);
    expect(r.applied.some((e) => e.kind === "normal" && new TextDecoder().decode(e.data) === "lost")).toBe(false);
    await expect(r.runner.propose(bytes("after"), 1_000)).rejects.toMatchObject({ code: "SHUTTING_DOWN" });
  });

  it("keeps stepping the leader's messages while a snapshot restores over many turns, and applies after it", async () => {
    // Issue 14.3: a big table restores in slices (table-restore-async.ts); the runner awaits it. Meanwhile the
    // leader's heartbeats are stepped (so this follower's election timer keeps being reset), and what the Ready
    // after the snapshot carries waits for the table.
    let finishRestore: () => void = () => {};
    const restores: number[] = [];
    const r = rig(["a", "b"], (s) => new Promise<void>((resolve) => (finishRestore = () => (restores.push(s.meta.index), resolve()))));
    const snapshot: Snapshot = { meta: { index: 10, term: 1, conf: { voters: ["a", "b"], learners: [] } }, data: new Uint8Array(0) };
    r.runner.step({ type: "snapshot", from: "b", to: "a", term: 1, snapshot });
    for (let turn = 0; turn < 5; turn++) await new Promise((resolve) => setImmediate(resolve));
    expect(r.runner.appliedIndex).toBe(0); // still restoring
    r.runner.step({ type: "heartbeat", from: "b", to: "a", term: 1, commit: 10 });
    expect(r.runner.knownLeader).toBe("b");
    expect(r.sent.some((m) => m.type === "heartbeatResp")).toBe(false); // the next Ready waits for the restore
    finishRestore();
    await new Promise((resolve) => setTimeout(resolve, 10));
    await r.runner.idle();
    expect(restores).toEqual([10]);
    expect(r.runner.appliedIndex).toBe(10);
    expect(r.sent.some((m) => m.type === "heartbeatResp")).toBe(true);
  });
});
