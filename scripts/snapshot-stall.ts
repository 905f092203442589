// The longest event-loop stall of a node's whole snapshot path (issue #18 item 2): serialize the table in slices
// (snapshotAsync), wrap it (encodeSnapshotData), save it (LevelStore.saveSnapshot, synced, compacting the log),
// and the follower's side: install a received snapshot (LevelStore.persist with the snapshot).
//
//   npx tsx scripts/snapshot-stall.ts [--mb 31,92] [--dir <parent dir for the temp LevelDB stores>]
//
// A 1 ms interval stands in for heartbeats; the stall is the max of a 1 ms-resolution event-loop delay histogram,
// one per phase. Prints a markdown table with the date and the command. Wall times include waiting on a shared
// machine; the stall is what matters (a stall longer than the heartbeat interval can cost an election).
import { mkdtempSync, rmSync } from "node:fs";
import { loadavg, tmpdir } from "node:os";
import path from "node:path";
import { monitorEventLoopDelay } from "node:perf_hooks";
import { parseArgs } from "node:util";
import { encodeSnapshotData } from "../src/node/snapshot-data.js";
import type { ConfState, Snapshot } from "../src/raft/types.js";
import { TaskTable } from "../src/scheduler/table.js";
import { LevelStore } from "../src/storage/level.js";

const { values } = parseArgs({
  options: {
    mb: { type: "string", default: "31,92" },
    dir: { type: "string", default: tmpdir() },
  },
});

const CONF: ConfState = { voters: ["n1", "n2", "n3"], learners: [] };
const MEMBER_URLS = new Map(CONF.voters.map((id, i) => [id, `http://127.0.0.1:${7001 + i}`]));
const TERM = 3;
/** Log entries kept on disk before the snapshot, as a node with snapshotEveryEntries 10,000 would hold. */
const LOG_ENTRIES = 10_000;

const mib = (bytes: number): string => `${(bytes / 2 ** 20).toFixed(1)} MiB`;

/** Runs f with a stall histogram on and a 1 ms "heartbeat" interval; returns its value, wall ms and longest stall. */
async function measured<T>(f: () => Promise<T>): Promise<{ value: T; wallMs: number; stallMs: number }> {
  const delay = monitorEventLoopDelay({ resolution: 1 });
  const heartbeat = setInterval(() => {}, 1);
  delay.enable();
  const t0 = performance.now();
  const value = await f();
  const wallMs = performance.now() - t0;
  // One more turn so a block at the very end is recorded too.
  await new Promise((r) => setTimeout(r, 5));
  delay.disable();
  clearInterval(heartbeat);
  return { value, wallMs, stallMs: delay.max / 1e6 };
}

/** Submit-only tasks with a payload sized so that the table takes about `targetBytes` serialized. */
function buildTable(targetBytes: number): TaskTable {
  const table = new TaskTable();
  let index = 0;
  const pad = "x".repeat(40);
  let i = 0;
  // ~130 bytes per serialized task with this payload; check the real size at the end.
  const n = Math.round(targetBytes / 130);
  for (; i < n; i++) {
    const r = table.apply(++index, {
      type: "submit",
      id: `task-${i.toString(36)}`,
      payload: { job: "resize", image: `img/${i}.png`, pad },
      priority: i % 10,
      maxAttempts: 2,
      nowMs: 1_700_000_000_000 + i,
    });
    if (!r.ok) throw new Error(`submit: ${r.code} ${r.message}`);
  }
  return table;
}

async function storeWithLog(dir: string, lastIndex: number): Promise<LevelStore> {
  const store = await LevelStore.open(dir);
  const first = lastIndex - LOG_ENTRIES;
  await store.persist({ entries: [], snapshot: { meta: { index: first, term: TERM, conf: CONF }, data: new Uint8Array(0) } });
  const entries = [];
  for (let i = first + 1; i <= lastIndex; i++) entries.push({ index: i, term: TERM, kind: "normal" as const, data: new Uint8Array(64) });
  await store.persist({ entries, hardState: { term: TERM, vote: "n1", commit: lastIndex } });
  return store;
}

/** As the runner: write the data ahead where the store can (stageSnapshot), then the ordered save. */
async function saveAsTheNodeDoes(store: LevelStore, snapshot: Snapshot, compactTo: number): Promise<void> {
  await (store as { stageSnapshot?: (data: Uint8Array) => Promise<void> }).stageSnapshot?.(snapshot.data);
  await store.saveSnapshot(snapshot, compactTo);
}

/** While `save` runs, a node keeps persisting its Readies: one small synced append every 5 ms. Returns the longest
 *  time one of them waited (a Ready waiting on the disk sends no heartbeats and acknowledges no appends). */
async function withConcurrentWrites(store: LevelStore, lastIndex: number, save: () => Promise<void>): Promise<{ maxWaitMs: number; writes: number }> {
  let next = lastIndex + 1;
  let maxWaitMs = 0;
  let writes = 0;
  let done = false;
  const writer = (async () => {
    while (!done) {
      const t0 = performance.now();
      const index = next++;
      await store.persist({ entries: [{ index, term: TERM, kind: "normal", data: new Uint8Array(64) }], hardState: { term: TERM, vote: "n1", commit: index } });
      maxWaitMs = Math.max(maxWaitMs, performance.now() - t0);
      writes++;
      await new Promise((r) => setTimeout(r, 5));
    }
  })();
  await save();
  done = true;
  await writer;
  return { maxWaitMs, writes };
}

async function measure(targetMb: number): Promise<string[]> {
  const table = buildTable(targetMb * 1e6);
  const index = table.lastAppliedIndex;
  const serialize = await measured(async () => encodeSnapshotData({ memberUrls: MEMBER_URLS, table: await table.snapshotAsync() }));
  const snapshot: Snapshot = { meta: { index, term: TERM, conf: CONF }, data: serialize.value };

  const saveDir = mkdtempSync(path.join(values.dir, "raftsched-stall-save-"));
  const installDir = mkdtempSync(path.join(values.dir, "raftsched-stall-install-"));
  try {
    const store = await storeWithLog(saveDir, index);
    const save = await measured(() => withConcurrentWrites(store, index, () => saveAsTheNodeDoes(store, snapshot, index - 5000)));
    await store.close();
    const fresh = await LevelStore.open(installDir);
    const install = await measured(() => fresh.persist({ entries: [], snapshot, hardState: { term: TERM, vote: null, commit: index } }));
    await fresh.close();
    const whole = Math.max(serialize.stallMs, save.stallMs);
    const f = (x: { wallMs: number; stallMs: number }): string => `${Math.round(x.stallMs)} ms (of ${Math.round(x.wallMs)} ms)`;
    const waited = `${Math.round(save.value.maxWaitMs)} ms (${save.value.writes} writes)`;
    return [`| ${mib(snapshot.data.byteLength)} | ${f(serialize)} | ${f(save)} | **${Math.round(whole)} ms** | ${waited} | ${f(install)} |`];
  } finally {
    rmSync(saveDir, { recursive: true, force: true });
    rmSync(installDir, { recursive: true, force: true });
  }
}

const rows: string[] = [];
// What the machine itself costs: the longest stall of an idle loop for 2 s (a shared, loaded machine stalls too).
const idle = await measured(() => new Promise((r) => setTimeout(r, 2000)));
rows.push(`| idle loop, 2 s (baseline) | | | ${Math.round(idle.stallMs)} ms | | |`);
for (const mb of values.mb.split(",").map(Number)) {
  rows.push(...(await measure(mb)));
  console.error(rows[rows.length - 1]);
}
const date = new Date().toISOString().slice(0, 10);
console.log(
  [
    `Measured ${date} with \`npx tsx scripts/snapshot-stall.ts --mb ${values.mb}\` (Node ${process.version}, load average ` +
      `${loadavg().map((l) => l.toFixed(1)).join(" / ")} at the end). Longest event-loop stall (wall time of the phase):`,
    "",
    "| snapshot | serialize (sliced) | save (LevelStore.saveSnapshot) | whole path | a concurrent Ready's longest wait for the disk | follower install (persist) |",
    "| --- | --- | --- | --- | --- | --- |",
    ...rows,
  ].join("\n"),
);
