// The disk fault layer (issue 14.5): latency, a stall held until released, EIO and ENOSPC on the store's write path,
// and what a failed write leaves on disk (everything acknowledged before it).
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import path from "node:path";
import { afterEach, describe, expect, it } from "vitest";
import type { Entry, HardState } from "../../../src/raft/types.js";
import { checkDiskFaultSpec, diskErrnoOf, DiskFaults, InjectedDiskError } from "../../../src/storage/disk-faults.js";
import { LevelStore, openLevelStore } from "../../../src/storage/level.js";

const dirs: string[] = [];
const stores: LevelStore[] = [];

function tempDir(): string {
  const dir = mkdtempSync(path.join(tmpdir(), "raftsched-diskfault-"));
  dirs.push(dir);
  return dir;
}

async function open(dir: string): Promise<LevelStore> {
  const s = await openLevelStore(dir);
  stores.push(s);
  return s;
}

afterEach(async () => {
  for (const s of stores.splice(0)) {
    s.faults.set({ mode: "none" });
    await s.close();
  }
  for (const d of dirs.splice(0)) rmSync(d, { recursive: true, force: true });
});

const hs = (term: number, commit: number): HardState => ({ term, vote: null, commit });
function run(from: number, to: number, term: number): Entry[] {
  const out: Entry[] = [];
  for (let i = from; i <= to; i++) out.push({ index: i, term, kind: "normal", data: new TextEncoder().encode(`e${i}`) });
  return out;
}
const settle = () => new Promise((r) => setTimeout(r, 30));

describe("DiskFaults on the LevelStore write path", () => {
  it("holds a write while stalled and writes it, in order, once released", async () => {
    const store = await open(tempDir());
    await store.persist({ hardState: hs(1, 0), entries: run(1, 1, 1) });
    store.faults.set({ mode: "stall" });
    const done: number[] = [];
    const first = store.persist({ entries: run(2, 2, 1) }).then(() => done.push(2));
    const second = store.persist({ entries: run(3, 3, 1) }).then(() => done.push(3));
    await settle();
    expect(done).toEqual([]);
    expect(store.faults.faultedWrites()).toBeGreaterThan(0);
    store.faults.release();
    await Promise.all([first, second]);
    expect(done).toEqual([2, 3]);
    expect(store.faults.current().mode).toBe("none");
    expect((await store.load()).lastIndex()).toBe(3);
  });

  it("holds a snapshot's chunk writes while stalled, staged or written with the save, and fails them with the log's codes", async () => {
    const store = await open(tempDir());
    await store.persist({ hardState: hs(1, 3), entries: run(1, 3, 1) });
    const data = new Uint8Array(300_000).fill(7);
    store.faults.set({ mode: "stall" });
    let staged = false;
    const stage = store.stageSnapshot(data).then(() => (staged = true));
    let saved = false;
    const other = new Uint8Array(1000).fill(9);
    const save = store.saveSnapshot({ meta: { index: 2, term: 1, conf: { voters: ["a"], learners: [] } }, data: other }, 1).then(() => (saved = true));
    await settle();
    expect([staged, saved]).toEqual([false, false]);
    store.faults.release();
    await Promise.all([stage, save]);
    expect((await store.load()).snapshot().data).toEqual(other);

    store.faults.set({ mode: "eio" });
    await expect(store.stageSnapshot(data)).rejects.toMatchObject({ code: "STORAGE_IO_ERROR", message: expect.stringContaining("writing a snapshot") });
    store.faults.set({ mode: "enospc" });
    await expect(store.stageSnapshot(data)).rejects.toMatchObject({ code: "STORAGE_NO_SPACE" });
  });

  it("adds latency to each batch", async () => {
    const store = await open(tempDir());
    store.faults.set({ mode: "latency", latencyMs: 40 });
    const t0 = performance.now();
    await store.persist({ hardState: hs(1, 0), entries: run(1, 1, 1) });
    // A lower bound only (a timer never fires early); nothing asserts how fast the disk is.
    expect(performance.now() - t0).toBeGreaterThanOrEqual(35);
  });

  it.each([
    ["enospc", "STORAGE_NO_SPACE"],
    ["eio", "STORAGE_IO_ERROR"],
  ] as const)("%s fails the write and every later one with %s; what was acknowledged survives a reopen", async (mode, code) => {
    const dir = tempDir();
    const store = await open(dir);
    await store.persist({ hardState: hs(1, 1), entries: run(1, 2, 1) });
    store.faults.set({ mode });
    await expect(store.persist({ entries: run(3, 3, 1) })).rejects.toMatchObject({ code });
    store.faults.set({ mode: "none" });
    // The store stays failed: what reached the disk is unknown, the node must stop and reload.
    await expect(store.persist({ entries: run(3, 3, 1) })).rejects.toMatchObject({ code });
    await store.close();
    stores.splice(stores.indexOf(store), 1);
    const reopened = await open(dir);
    const mem = await reopened.load();
    expect(mem.lastIndex()).toBe(2);
    expect(mem.initialState().hardState).toEqual(hs(1, 1));
  });
});

describe("checkDiskFaultSpec / diskErrnoOf", () => {
  it("accepts the modes and refuses anything else with BAD_FIELD", () => {
    expect(checkDiskFaultSpec({ mode: "stall" })).toEqual({ mode: "stall" });
    expect(checkDiskFaultSpec({ mode: "latency", latencyMs: 5 })).toEqual({ mode: "latency", latencyMs: 5 });
    for (const bad of [null, [], { mode: "melt" }, { mode: "latency" }, { mode: "latency", latencyMs: -1 }, { mode: "eio", latencyMs: 1 }, { mode: "none", x: 1 }]) {
      expect(() => checkDiskFaultSpec(bad)).toThrow(expect.objectContaining({ code: "BAD_FIELD" }));
    }
  });

  it("names the errno of injected, Node and LevelDB-wrapped errors", () => {
    expect(diskErrnoOf(new InjectedDiskError("ENOSPC"))).toBe("ENOSPC");
    expect(diskErrnoOf(Object.assign(new Error("write"), { code: "EIO" }))).toBe("EIO");
    expect(diskErrnoOf(new Error("batch failed", { cause: new Error("IO error: No space left on device") }))).toBe("ENOSPC");
    expect(diskErrnoOf(new Error("IO error: Input/output error"))).toBe("EIO");
    expect(diskErrnoOf(new Error("database is not open"))).toBeNull();
  });

  it("a stall set twice is released once; leaving stall for another mode releases it", async () => {
    const f = new DiskFaults();
    f.set({ mode: "stall" });
    f.set({ mode: "stall" });
    let passed = false;
    void f.beforeWrite()!.then(() => (passed = true));
    await settle();
    expect(passed).toBe(false);
    f.set({ mode: "latency", latencyMs: 0 });
    await settle();
    expect(passed).toBe(true);
  });
});
