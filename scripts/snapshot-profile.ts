// Where the snapshot path's event-loop time goes (issue #18 item 2): each turn of the loop the path takes, by phase
// (encoder steps, the final assembly, the wrap in encodeSnapshotData, the chunked store write), and every GC pause
// (kind, duration) seen meanwhile.
//
//   npx tsx --expose-gc scripts/snapshot-profile.ts [--mb 30] [--slice-ms 8] [--rest-ms 4] [--old]
import { mkdtempSync, rmSync } from "node:fs";
import { loadavg, tmpdir } from "node:os";
import path from "node:path";
import { PerformanceObserver, constants, monitorEventLoopDelay } from "node:perf_hooks";
import { parseArgs } from "node:util";
import { encodeSnapshotData } from "../src/node/snapshot-data.js";
import { SnapshotEncoder } from "../src/scheduler/snapshot.js";
import { TaskTable } from "../src/scheduler/table.js";
import { LevelStore } from "../src/storage/level.js";

const { values } = parseArgs({
  options: { mb: { type: "string", default: "30" }, "slice-ms": { type: "string", default: "8" }, "rest-ms": { type: "string", default: "4" }, old: { type: "boolean", default: false } },
});
const restMs = Number(values["rest-ms"]);
const sliceMs = Number(values["slice-ms"]);

function buildTable(targetBytes: number): TaskTable {
  const table = new TaskTable();
  const pad = "x".repeat(1500);
  const n = Math.round(targetBytes / 1600);
  for (let i = 0; i < n; i++) {
    const r = table.apply(i + 1, { type: "submit", id: `task-${i.toString(36)}`, payload: { pad }, priority: i % 10, maxAttempts: 2, nowMs: 1_700_000_000_000 + i });
    if (!r.ok) throw new Error(r.message);
  }
  return table;
}

const gcKinds: Record<number, string> = {
  [constants.NODE_PERFORMANCE_GC_MAJOR]: "major",
  [constants.NODE_PERFORMANCE_GC_MINOR]: "minor",
  [constants.NODE_PERFORMANCE_GC_INCREMENTAL]: "incremental",
  [constants.NODE_PERFORMANCE_GC_WEAKCB]: "weakcb",
};
const gcs: { at: number; kind: string; ms: number }[] = [];
new PerformanceObserver((list) => {
  for (const e of list.getEntries()) gcs.push({ at: e.startTime, kind: gcKinds[(e as unknown as { detail: { kind: number } }).detail.kind] ?? "?", ms: e.duration });
}).observe({ entryTypes: ["gc"] });

const table = buildTable(Number(values.mb) * 1e6);
(globalThis as { gc?: () => void }).gc?.();
gcs.length = 0;
const turns: Record<string, number[]> = {};
const note = (phase: string, ms: number): void => void (turns[phase] ??= []).push(ms);
const yieldNow = (): Promise<void> => new Promise((r) => setImmediate(r));
const delay = monitorEventLoopDelay({ resolution: 1 });
const tick = setInterval(() => {}, 1);
delay.enable();

let t = performance.now();
// --old: the path before issue #18's fix (table bytes assembled, then wrapped in a second copy); default: the table
// packed straight after the wrapper's header (encodeSnapshotDataSliced's way).
const encoder = values.old ? new SnapshotEncoder(table.beginSnapshot()) : new SnapshotEncoder(table.beginSnapshot(), { prefix: Buffer.from("RSN1\0\0\0\0") });
note("capture+header", performance.now() - t);
await yieldNow();
for (;;) {
  t = performance.now();
  const done = encoder.step(t + sliceMs);
  const assembling = (encoder as unknown as { out: Uint8Array | null }).out !== null;
  note(assembling ? "encoder step: assembly" : "encoder step: packing rows", performance.now() - t);
  if (done) break;
  if (restMs > 0) await new Promise((r) => setTimeout(r, restMs));
  else await yieldNow();
}
t = performance.now();
const tableBytes = encoder.result();
let data = tableBytes;
if (values.old) {
  data = encodeSnapshotData({ memberUrls: new Map([["n1", "http://127.0.0.1:1"]]), table: tableBytes });
  note("encodeSnapshotData (wrap)", performance.now() - t);
}
await yieldNow();
const dir = mkdtempSync(path.join(tmpdir(), "raftsched-profile-"));
const store = await LevelStore.open(dir);
t = performance.now();
await store.stageSnapshot(data);
note("stageSnapshot (whole, wall)", performance.now() - t);
await store.close();
rmSync(dir, { recursive: true, force: true });
await new Promise((r) => setTimeout(r, 5));
delay.disable();
clearInterval(tick);

const fmt = (xs: number[]): string => {
  const s = [...xs].sort((a, b) => a - b);
  return `${s.length} turns, median ${s[s.length >> 1]!.toFixed(1)} ms, max ${s[s.length - 1]!.toFixed(1)} ms, sum ${s.reduce((a, b) => a + b, 0).toFixed(0)} ms`;
};
console.log(`${values.old ? "old path" : "new path"}: table ${(tableBytes.byteLength / 2 ** 20).toFixed(1)} MiB, slice ${sliceMs} ms, rest ${restMs} ms, load ${loadavg().map((l) => l.toFixed(1)).join("/")}, ${process.version}`);
for (const [phase, xs] of Object.entries(turns)) console.log(`- ${phase}: ${fmt(xs)}`);
const byKind = new Map<string, number[]>();
for (const g of gcs) (byKind.get(g.kind) ?? byKind.set(g.kind, []).get(g.kind)!).push(g.ms);
if (process.env.VERBOSE) for (const g of gcs) console.log(`  gc ${g.kind} ${g.ms.toFixed(1)} ms at ${g.at.toFixed(0)}`);
for (const [kind, xs] of byKind) console.log(`- GC ${kind}: ${fmt(xs)}`);
console.log(`- event-loop delay max ${(delay.max / 1e6).toFixed(1)} ms`);
