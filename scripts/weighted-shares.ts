// Measures the `weighted` strategy's shares on a real 3-node cluster (issue 17 point 3): capacities 1/2/4, quick
// tasks (sleepMs 0) submitted a few at a time, and how many each node ran. Prints one line per run, with the
// leader, and exits non-zero when a share is more than 5 points off its capacity share.
//
//   npm run build && npx tsx scripts/weighted-shares.ts [--runs 3] [--tasks 600] [--concurrency 4]
//
// Nodes run from bin/raftsched.js on free loopback ports and temp data dirs; each is killed by its PID at the end.
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import path from "node:path";
import { NodeProcess } from "../src/process-cluster/node-process.js";
import { freePorts } from "../src/util/ports.js";

const TOKEN = "weighted-shares-token";
const CAPACITIES: Record<string, number> = { n1: 1, n2: 2, n3: 4 };

function option(name: string, fallback: number): number {
  const i = process.argv.indexOf(`--${name}`);
  return i >= 0 ? Number(process.argv[i + 1]) : fallback;
}

async function http(url: string, method = "GET", body?: unknown): Promise<{ status: number; body: any }> {
  const res = await fetch(url, {
    method,
    headers: { authorization: `Bearer ${TOKEN}`, "content-type": "application/json" },
    ...(body !== undefined ? { body: JSON.stringify(body) } : {}),
    signal: AbortSignal.timeout(10_000),
  });
  return { status: res.status, body: await res.json() };
}

async function until<T>(what: string, timeoutMs: number, probe: () => Promise<T | undefined>): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const v = await probe().catch(() => undefined);
    if (v !== undefined) return v;
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 100));
  }
}

async function oneRun(run: number, tasks: number, concurrency: number): Promise<boolean> {
  const dir = mkdtempSync(path.join(tmpdir(), "weighted-shares-"));
  const ports = await freePorts(3);
  const ids = Object.keys(CAPACITIES);
  const urls = Object.fromEntries(ids.map((id, i) => [id, `http://127.0.0.1:${ports[i]}`]));
  const file = path.join(dir, "cluster.json");
  const nodes = ids.map((id) => ({ id, url: urls[id], capacity: CAPACITIES[id] }));
  writeFileSync(file, JSON.stringify({ cluster: "weighted-shares", token: TOKEN, strategy: "weighted", nodes }));
  const children = ids.map((id) => NodeProcess.spawn({ id, configPath: file, dataDir: path.join(dir, id), logFile: path.join(dir, `${id}.log`) }));
  try {
    const leader = await until("a leader", 30_000, async () => (await http(`${urls.n1}/v1/status`)).body.leaderId ?? undefined);
    await until("every worker alive", 30_000, async () => {
      const rows = (await http(`${urls[leader]}/v1/workers`)).body as { alive: boolean }[];
      return rows.length === 3 && rows.every((w) => w.alive) ? true : undefined;
    });
    let next = 0;
    const submitter = async (): Promise<void> => {
      while (next < tasks) {
        const id = `r${run}-t${next++}`;
        const r = await http(`${urls[leader]}/v1/tasks`, "POST", { id, payload: { sleepMs: 0 } });
        if (r.status !== 201) throw new Error(`submit ${id}: ${r.status} ${JSON.stringify(r.body)}`);
      }
    };
    await Promise.all(Array.from({ length: concurrency }, submitter));
    const counts: Record<string, number> = { n1: 0, n2: 0, n3: 0 };
    await until("every task completed", 60_000, async () => {
      for (const id of ids) counts[id] = 0;
      let after: string | null = null;
      let done = 0;
      do {
        const page: { tasks: { worker: string; state: string }[]; next: string | null } = (
          await http(`${urls[leader]}/v1/tasks?limit=1000${after ? `&after=${after}` : ""}`)
        ).body;
        for (const t of page.tasks) {
          if (t.state === "completed") done++;
          counts[t.worker] = (counts[t.worker] ?? 0) + 1;
        }
        after = page.next;
      } while (after !== null);
      return done === tasks ? true : undefined;
    });
    const total = Object.values(CAPACITIES).reduce((s, c) => s + c, 0);
    let ok = true;
    const parts = ids.map((id) => {
      const share = (100 * counts[id]!) / tasks;
      const expected = (100 * CAPACITIES[id]!) / total;
      if (Math.abs(share - expected) > 5) ok = false;
      return `${id} (capacity ${CAPACITIES[id]}${id === leader ? ", leader" : ""}) ${share.toFixed(1)} % vs ${expected.toFixed(1)} %`;
    });
    console.log(`run ${run}: ${parts.join("; ")}${ok ? "" : "  <-- more than 5 points off"}`);
    return ok;
  } finally {
    await Promise.all(children.map((c) => c.kill()));
    await new Promise((r) => setTimeout(r, 200));
    rmSync(dir, { recursive: true, force: true });
  }
}

const runs = option("runs", 3);
const tasks = option("tasks", 600);
const concurrency = option("concurrency", 4);
let failures = 0;
for (let run = 1; run <= runs; run++) if (!(await oneRun(run, tasks, concurrency))) failures++;
console.log(`weighted-shares: ${runs} runs of ${tasks} tasks, ${failures} more than 5 points off`);
process.exitCode = failures > 0 ? 1 : 0;
