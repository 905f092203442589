// Soak benchmark for issue 13.2: does a cluster under steady load hold bounded memory with retention on?
//
//   npm run build && npx tsx scripts/soak.ts [--minutes 30] [--rate 20] [--capacity 16] [--every 5] [--out docs/soak]
//
// Starts a three-node cluster (real processes, loopback, built-in handler, `capacity` slots each) with a short
// retention policy, submits `rate` tasks a second at a fixed pace (each completes at once), and every `every` seconds samples each node's RSS
// and V8 heap (its /metrics), its LevelDB data dir size, its last snapshot's size (from its log) and its table's
// task count. Writes <out>.csv and <out>.svg (one panel per figure, one line per node). At the end it stops the
// nodes and measures what LevelDB reclaims: each data dir's size before and after a full compactRange.
import { mkdirSync, readdirSync, rmSync, statSync, writeFileSync } from "node:fs";
import { loadavg } from "node:os";
import path from "node:path";
import { parseArgs } from "node:util";
import { Level } from "level";
import { ProcessCluster } from "../src/process-cluster/process-cluster.js";

const { values } = parseArgs({
  options: {
    minutes: { type: "string", default: "30" },
    rate: { type: "string", default: "20" },
    every: { type: "string", default: "5" },
    out: { type: "string", default: "docs/soak" },
    capacity: { type: "string", default: "16" },
  },
});
const MINUTES = Number(values.minutes);
const RATE = Number(values.rate);
const EVERY_S = Number(values.every);
const OUT = values.out!;
const CAPACITY = Number(values.capacity);
const TOKEN = "soak-token-0123";
const RETENTION = { completedMs: 30_000, deadMs: 60_000, cancelledMs: 60_000, maxTerminal: 5000, dedupeIds: 2000 };
const MAX_IN_FLIGHT = 256;

interface Sample {
  readonly t: number;
  readonly node: string;
  readonly rssMiB: number;
  readonly heapMiB: number;
  readonly levelMiB: number;
  readonly snapshotKiB: number;
  readonly tasks: number;
  readonly pending: number;
}

const mib = (b: number) => b / 2 ** 20;

function dirBytes(dir: string): number {
  let total = 0;
  let names: string[] = [];
  try {
    names = readdirSync(dir);
  } catch {
    return 0;
  }
  for (const name of names) {
    const p = path.join(dir, name);
    const st = statSync(p, { throwIfNoEntry: false });
    if (st === undefined) continue;
    total += st.isDirectory() ? dirBytes(p) : st.size;
  }
  return total;
}

/** The last "snapshot taken" record's size in this node's log (0 before the first). */
function lastSnapshotBytes(logText: string): number {
  const at = logText.lastIndexOf('"snapshot taken and log compacted"');
  if (at < 0) return 0;
  const lineStart = logText.lastIndexOf("\n", at) + 1;
  const lineEnd = logText.indexOf("\n", at);
  try {
    const rec = JSON.parse(logText.slice(lineStart, lineEnd < 0 ? undefined : lineEnd)) as { bytes?: number };
    return rec.bytes ?? 0;
  } catch {
    return 0;
  }
}

function metric(text: string, name: string): number {
  const m = new RegExp(`^${name}(?:\\{[^}]*\\})? ([0-9.e+]+)$`, "m").exec(text);
  return m ? Number(m[1]) : NaN;
}

async function get(url: string): Promise<Response | null> {
  try {
    return await fetch(url, { signal: AbortSignal.timeout(4000) });
  } catch {
    return null;
  }
}

async function sample(c: ProcessCluster, t: number): Promise<Sample[]> {
  const out: Sample[] = [];
  for (const node of c.ids) {
    const m = await get(`${c.url(node)}/metrics`);
    const text = m && m.ok ? await m.text() : "";
    const s = await get(`${c.url(node)}/v1/status`);
    const status = s && s.ok ? ((await s.json()) as { tasks?: { total?: number; pending?: number } }) : {};
    out.push({
      t,
      node,
      rssMiB: mib(metric(text, "process_resident_memory_bytes")),
      heapMiB: mib(metric(text, "nodejs_heap_size_used_bytes")),
      levelMiB: mib(dirBytes(c.dataDir(node))),
      snapshotKiB: lastSnapshotBytes(c.logText(node)) / 1024,
      tasks: status.tasks?.total ?? NaN,
      pending: status.tasks?.pending ?? NaN,
    });
  }
  return out;
}

/** Submits at a fixed pace to a rotating node; a follower forwards. Counts answers by kind. */
class Submitter {
  submitted = 0;
  accepted = 0;
  failed = 0;
  skipped = 0;
  private inFlight = 0;
  private timer: NodeJS.Timeout | null = null;
  constructor(private readonly c: ProcessCluster) {}

  start(): void {
    const periodMs = 1000 / RATE;
    const t0 = performance.now();
    let sent = 0;
    // Catch up on missed ticks (timers are late on a loaded machine) so the rate holds on average.
    this.timer = setInterval(() => {
      const due = Math.floor((performance.now() - t0) / periodMs);
      for (; sent < due; sent++) this.submitOne(sent);
    }, 10);
  }

  stop(): void {
    if (this.timer) clearInterval(this.timer);
  }

  private submitOne(n: number): void {
    if (this.inFlight >= MAX_IN_FLIGHT) {
      this.skipped++;
      return;
    }
    this.inFlight++;
    this.submitted++;
    const node = this.c.ids[n % this.c.ids.length]!;
    fetch(`${this.c.url(node)}/v1/tasks`, {
      method: "POST",
      headers: { "content-type": "application/json", authorization: `Bearer ${TOKEN}` },
      body: JSON.stringify({ id: `soak-${n}`, payload: { sleepMs: 0, n } }),
      signal: AbortSignal.timeout(10_000),
    })
      .then(async (r) => {
        await r.arrayBuffer();
        if (r.status === 201 || r.status === 200) this.accepted++;
        else this.failed++;
      })
      .catch(() => this.failed++)
      .finally(() => this.inFlight--);
  }
}

function svg(samples: readonly Sample[], ids: readonly string[], title: string): string {
  const panels: Array<[keyof Sample, string]> = [
    ["rssMiB", "RSS (MiB)"],
    ["heapMiB", "V8 heap used (MiB)"],
    ["levelMiB", "LevelDB dir (MiB)"],
    ["snapshotKiB", "last snapshot (KiB)"],
    ["tasks", "tasks in the table"],
    ["pending", "pending tasks"],
  ];
  const W = 720;
  const H = 150;
  const PAD = 48;
  const colors = ["#1f77b4", "#d62728", "#2ca02c"];
  const tMax = Math.max(1, ...samples.map((s) => s.t));
  const parts: string[] = [`<text x="${PAD}" y="18" font-size="13" font-family="sans-serif">${title}</text>`];
  panels.forEach(([key, label], i) => {
    const y0 = 30 + i * (H + 20);
    const vals = samples.map((s) => s[key] as number).filter((v) => Number.isFinite(v));
    const vMax = Math.max(1, ...vals) * 1.1;
    parts.push(`<rect x="${PAD}" y="${y0}" width="${W - PAD - 10}" height="${H}" fill="none" stroke="#999"/>`);
    parts.push(`<text x="${PAD + 4}" y="${y0 + 14}" font-size="11" font-family="sans-serif">${label} (max ${vMax.toFixed(0)})</text>`);
    parts.push(`<text x="4" y="${y0 + H}" font-size="10" font-family="sans-serif">0</text>`);
    ids.forEach((id, k) => {
      const pts = samples
        .filter((s) => s.node === id && Number.isFinite(s[key] as number))
        .map((s) => `${(PAD + (s.t / tMax) * (W - PAD - 10)).toFixed(1)},${(y0 + H - ((s[key] as number) / vMax) * H).toFixed(1)}`);
      parts.push(`<polyline fill="none" stroke="${colors[k % colors.length]}" stroke-width="1.2" points="${pts.join(" ")}"/>`);
    });
  });
  const hTotal = 30 + panels.length * (H + 20) + 20;
  parts.push(`<text x="${PAD}" y="${hTotal - 6}" font-size="11" font-family="sans-serif">time → ${(tMax / 60).toFixed(0)} min; ${ids.map((id, k) => `${id}: ${colors[k]}`).join(", ")}</text>`);
  return `<svg xmlns="http://www.w3.org/2000/svg" width="${W}" height="${hTotal}" viewBox="0 0 ${W} ${hTotal}">\n${parts.join("\n")}\n</svg>\n`;
}

async function compactAndMeasure(dir: string): Promise<{ before: number; after: number }> {
  const before = dirBytes(dir);
  const db = new Level<Uint8Array, Uint8Array>(dir, { keyEncoding: "view", valueEncoding: "view" });
  await db.open();
  // classic-level's compactRange (level's typings do not declare it): the whole key space.
  await (db as unknown as { compactRange(start: Uint8Array, end: Uint8Array): Promise<void> }).compactRange(new Uint8Array([0]), new Uint8Array(64).fill(255));
  await db.close();
  return { before, after: dirBytes(dir) };
}

async function main(): Promise<void> {
  const c = await ProcessCluster.create({
    nodes: 3,
    dirPrefix: "raftsched-soak-",
    file: { cluster: "soak", token: TOKEN, snapshotEveryEntries: 5000, retention: RETENTION },
    nodeFields: () => ({ capacity: CAPACITY }),
    dropEnv: ["RAFTSCHED_TOKEN"],
    cwd: process.cwd(),
  });
  const cfg = c.writeClusterFile();
  for (const id of c.ids) c.start(id, cfg);
  for (const id of c.ids) await c.waitHealthy(id, 60_000);
  const started = new Date().toISOString();
  const loadStart = loadavg()[0]!;
  console.error(`soak: ${c.ids.length} nodes in ${c.dir}; ${RATE} tasks/s for ${MINUTES} min; retention ${JSON.stringify(RETENTION)}`);
  const sub = new Submitter(c);
  sub.start();
  const samples: Sample[] = [];
  const csvHead = "elapsed_s,node,rss_mib,heap_mib,leveldb_mib,snapshot_kib,tasks,pending,submitted,accepted,failed,skipped,load1";
  const csv: string[] = [csvHead];
  mkdirSync(path.dirname(OUT), { recursive: true });
  const t0 = performance.now();
  const endMs = MINUTES * 60_000;
  while (performance.now() - t0 < endMs) {
    await new Promise((r) => setTimeout(r, EVERY_S * 1000));
    const t = (performance.now() - t0) / 1000;
    const rows = await sample(c, t);
    for (const s of rows) {
      samples.push(s);
      csv.push([t.toFixed(0), s.node, s.rssMiB.toFixed(1), s.heapMiB.toFixed(1), s.levelMiB.toFixed(2), s.snapshotKiB.toFixed(0), s.tasks, s.pending, sub.submitted, sub.accepted, sub.failed, sub.skipped, loadavg()[0]!.toFixed(1)].join(","));
    }
    writeFileSync(`${OUT}.csv`, csv.join("\n") + "\n");
    const n1 = rows[0]!;
    console.error(`${t.toFixed(0)} s: n1 rss ${n1.rssMiB.toFixed(0)} MiB heap ${n1.heapMiB.toFixed(0)} MiB level ${n1.levelMiB.toFixed(1)} MiB snap ${n1.snapshotKiB.toFixed(0)} KiB tasks ${n1.tasks} (pending ${n1.pending}); accepted ${sub.accepted} failed ${sub.failed} skipped ${sub.skipped}`);
  }
  sub.stop();
  const title = `raftsched soak ${started.slice(0, 16)}Z: ${RATE} tasks/s for ${MINUTES} min, 3 nodes, retention on (load ${loadStart.toFixed(0)}→${loadavg()[0]!.toFixed(0)})`;
  writeFileSync(`${OUT}.svg`, svg(samples, c.ids, title));
  await new Promise((r) => setTimeout(r, 2000));
  process.env.RAFTSCHED_KEEP_TEST_DIRS = "1"; // the data dirs are measured below, then removed
  await c.stopAll();
  const reclaimed: string[] = [];
  for (const id of c.ids) {
    const r = await compactAndMeasure(c.dataDir(id));
    reclaimed.push(`${id}: ${mib(r.before).toFixed(2)} → ${mib(r.after).toFixed(2)} MiB`);
  }
  const summary = `soak done ${new Date().toISOString()}: submitted ${sub.submitted}, accepted ${sub.accepted}, failed ${sub.failed}, skipped ${sub.skipped}; LevelDB before/after full compactRange: ${reclaimed.join("; ")}`;
  writeFileSync(`${OUT}-summary.txt`, `${title}\n${summary}\n`);
  console.error(summary);
  rmSync(c.dir, { recursive: true, force: true });
}

await main();
