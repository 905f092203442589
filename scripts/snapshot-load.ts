// Issue #18 "done when": a 3-node cluster with snapshotEveryEntries 500 and a 20,000-task table under a steady write
// load for 5 minutes, with no fault injected. Counts elections (term changes), leader changes and failed writes,
// and each node's snapshots with their longest event-loop block (from the nodes' own log lines).
//
//   npm run build && npx tsx scripts/snapshot-load.ts [--tasks 20000] [--minutes 5] [--payload-bytes 1500] [--clients 4]
//
// Writes go to every node in turn and are NOT retried: any non-2xx answer or error is a failed write.
import { copyFileSync, mkdtempSync } from "node:fs";
import { loadavg, tmpdir } from "node:os";
import path from "node:path";
import { parseArgs } from "node:util";
import { Cluster, sleep } from "../test/integration/cluster-harness.js";

const { values } = parseArgs({
  options: {
    tasks: { type: "string", default: "20000" },
    minutes: { type: "string", default: "5" },
    "payload-bytes": { type: "string", default: "1500" },
    clients: { type: "string", default: "4" },
    every: { type: "string", default: "500" },
  },
});
const TASKS = Number(values.tasks);
const LOAD_MS = Number(values.minutes) * 60_000;
const PAD = "x".repeat(Number(values["payload-bytes"]));
const CLIENTS = Number(values.clients);

interface Tally {
  ok: number;
  failed: Map<string, number>;
  latencies: number[];
}

async function submitOne(c: Cluster, via: string, id: string, t: Tally): Promise<void> {
  const t0 = Date.now();
  try {
    const r = await c.submit(via, { id, payload: { pad: PAD } }, { timeoutMs: 10_000 });
    if (r.status === 200 || r.status === 201) {
      t.ok++;
      t.latencies.push(Date.now() - t0);
      return;
    }
    const key = `${r.status} ${r.body?.error?.code ?? ""}`.trim();
    t.failed.set(key, (t.failed.get(key) ?? 0) + 1);
  } catch (err) {
    const e = err as Error & { cause?: { code?: string } };
    const key = e.name === "TimeoutError" ? "client timeout" : (e.cause?.code ?? e.message);
    t.failed.set(key, (t.failed.get(key) ?? 0) + 1);
  }
}

/** Samples every node's status: each new term is an election, each new (term, leader) a leader change. */
function watchLeaders(c: Cluster): { stop: () => Promise<{ terms: number[]; leaders: string[] }> } {
  const terms = new Set<number>();
  const leaders: string[] = [];
  let stopping = false;
  const loop = (async () => {
    while (!stopping) {
      for (const [, st] of await c.statusAll()) {
        terms.add(st.term);
        if (st.role === "leader" && !leaders.includes(`${st.term}:${st.id}`)) leaders.push(`${st.term}:${st.id}`);
      }
      await sleep(100);
    }
  })();
  return {
    stop: async () => {
      stopping = true;
      await loop;
      return { terms: [...terms].sort((a, b) => a - b), leaders };
    },
  };
}

/** From a node's JSON log: its snapshots and their longest event-loop block, and its elections won/started. */
function nodeLogFacts(log: string): { snapshots: number; maxBlockMs: number; maxDurationMs: number; leaderships: number } {
  let snapshots = 0;
  let maxBlockMs = 0;
  let maxDurationMs = 0;
  let campaigns = 0;
  for (const line of log.split("\n")) {
    if (!line.startsWith("{")) continue;
    let j: { msg?: string; maxEventLoopBlockMs?: number; durationMs?: number };
    try {
      j = JSON.parse(line);
    } catch {
      continue;
    }
    if (j.msg === "snapshot taken and log compacted") {
      snapshots++;
      maxBlockMs = Math.max(maxBlockMs, j.maxEventLoopBlockMs ?? 0);
      maxDurationMs = Math.max(maxDurationMs, j.durationMs ?? 0);
    }
    if (j.msg === "became leader") campaigns++;
  }
  return { snapshots, maxBlockMs, maxDurationMs, leaderships: campaigns };
}

async function main(): Promise<void> {
  const c = await Cluster.start({ nodes: 3, snapshotEveryEntries: Number(values.every), startTimeoutMs: 60_000 });
  try {
    await c.waitForLeader(30_000);
    // ---- fill the table ----
    const fill: Tally = { ok: 0, failed: new Map(), latencies: [] };
    let next = 0;
    await Promise.all(
      Array.from({ length: 16 }, async (_, k) => {
        while (next < TASKS) {
          const i = next++;
          await submitOne(c, c.ids[(i + k) % c.ids.length]!, `fill-${i}`, fill);
        }
      }),
    );
    const afterFill = await c.statusAll();
    const startTerms = [...afterFill.values()].map((s) => s.term);
    console.error(`filled ${fill.ok} tasks (${JSON.stringify(Object.fromEntries(fill.failed))} failed); terms ${startTerms.join(",")}`);

    // ---- the load ----
    const watch = watchLeaders(c);
    const load: Tally = { ok: 0, failed: new Map(), latencies: [] };
    const end = Date.now() + LOAD_MS;
    let seq = 0;
    await Promise.all(
      Array.from({ length: CLIENTS }, async (_, k) => {
        while (Date.now() < end) {
          const i = seq++;
          await submitOne(c, c.ids[(i + k) % c.ids.length]!, `load-${k}-${i}`, load);
        }
      }),
    );
    const seen = await watch.stop();
    const facts = c.ids.map((id) => ({ id, ...nodeLogFacts(c.logText(id)) }));
    const lat = load.latencies.sort((a, b) => a - b);
    const pct = (q: number): number => lat[Math.min(lat.length - 1, Math.floor(q * lat.length))] ?? 0;
    const failed = [...load.failed.values()].reduce((a, b) => a + b, 0);
    const elections = seen.terms.length - 1;
    const date = new Date().toISOString().slice(0, 10);
    console.log(
      [
        `Measured ${date} with \`npx tsx scripts/snapshot-load.ts --tasks ${TASKS} --minutes ${values.minutes} --payload-bytes ${values["payload-bytes"]} --clients ${CLIENTS} --every ${values.every}\` ` +
          `(load average ${loadavg().map((l) => l.toFixed(1)).join(" / ")} at the end):`,
        `- table: ${fill.ok} tasks filled (${fill.failed.size === 0 ? "none failed" : JSON.stringify(Object.fromEntries(fill.failed))})`,
        `- ${values.minutes} min load: ${load.ok} writes acknowledged, ${failed} failed ${JSON.stringify(Object.fromEntries(load.failed))}; latency p50 ${pct(0.5)} ms, p99 ${pct(0.99)} ms, max ${lat[lat.length - 1] ?? 0} ms`,
        `- elections during the load: ${elections} (terms ${seen.terms.join(", ")}); leaders seen: ${seen.leaders.join(" ")}`,
        ...facts.map(
          (f) => `- ${f.id}: ${f.snapshots} snapshots, longest event-loop block during one ${Math.round(f.maxBlockMs)} ms, longest snapshot ${Math.round(f.maxDurationMs)} ms, became leader ${f.leaderships} times (whole run)`,
        ),
      ].join("\n"),
    );
    // Keep the nodes' logs for finding out why an election happened.
    const keep = mkdtempSync(path.join(tmpdir(), "raftsched-snapshot-load-logs-"));
    for (const id of c.ids) copyFileSync(c.logPath(id), path.join(keep, `${id}.log`));
    console.error(`node logs copied to ${keep}`);
  } finally {
    await c.stopAll();
  }
}

await main();
