// `npm run bench:raft`: a fresh 3-node loopback cluster, C closed-loop clients submitting unique tasks with
// 256-byte payloads to the leader for a fixed time, per C in --clients (default 1,16,64). Every answer counted is a
// 2xx, i.e. the submit is committed on a majority and applied. Prints committed submits/s and latency percentiles,
// and writes JSON to bench-results/.
//
// Nodes run with capacity 0 so that no task executes: this measures the replication path (HTTP → propose →
// persist with fsync → replicate → commit → apply → answer), the same thing etcd's put benchmark measures.
import { spawn, type ChildProcess } from "node:child_process";
import http from "node:http";
import net from "node:net";
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from "node:fs";
import os from "node:os";
import path from "node:path";
import { fileURLToPath } from "node:url";

const ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), "..");
const TOKEN = "bench-token-0123456789";

interface Args {
  clients: number[];
  durationS: number;
  warmupS: number;
}

function parse(argv: string[]): Args {
  const a: Args = { clients: [1, 16, 64], durationS: 10, warmupS: 1 };
  for (let i = 0; i < argv.length; i++) {
    const k = argv[i];
    const v = argv[i + 1];
    if (k === "--clients" && v) (a.clients = v.split(",").map(Number)), i++;
    else if (k === "--duration" && v) (a.durationS = Number(v)), i++;
    else if (k === "--warmup" && v) (a.warmupS = Number(v)), i++;
    else throw new Error(`unknown argument ${k} (use --clients 1,16,64 --duration 10 --warmup 1)`);
  }
  return a;
}

async function freePort(): Promise<number> {
  return await new Promise((resolve, reject) => {
    const s = net.createServer();
    s.once("error", reject);
    s.listen(0, "127.0.0.1", () => {
      const p = (s.address() as net.AddressInfo).port;
      s.close(() => resolve(p));
    });
  });
}

const agent = new http.Agent({ keepAlive: true, maxSockets: 256 });

function request(url: string, method: string, body?: string): Promise<{ status: number; text: string }> {
  return new Promise((resolve, reject) => {
    const u = new URL(url);
    const req = http.request(
      {
        host: u.hostname,
        port: u.port,
        path: u.pathname + u.search,
        method,
        agent,
        headers: body ? { "content-type": "application/json", "content-length": Buffer.byteLength(body), authorization: `Bearer ${TOKEN}` } : {},
        timeout: 10_000,
      },
      (res) => {
        const chunks: Buffer[] = [];
        res.on("data", (c: Buffer) => chunks.push(c));
        res.on("end", () => resolve({ status: res.statusCode ?? 0, text: Buffer.concat(chunks).toString() }));
      },
    );
    req.on("timeout", () => req.destroy(new Error("timeout")));
    req.on("error", reject);
    if (body) req.write(body);
    req.end();
  });
}

function pct(sorted: number[], p: number): number {
  if (sorted.length === 0) return NaN;
  return sorted[Math.min(sorted.length - 1, Math.floor((p / 100) * sorted.length))]!;
}

async function main(): Promise<void> {
  const args = parse(process.argv.slice(2));
  const dir = mkdtempSync(path.join(os.tmpdir(), "raftsched-bench-"));
  const ports = [await freePort(), await freePort(), await freePort()];
  const nodes = ports.map((p, i) => ({ id: `n${i + 1}`, url: `http://127.0.0.1:${p}`, capacity: 0 }));
  const cfgPath = path.join(dir, "cluster.json");
  writeFileSync(cfgPath, JSON.stringify({ cluster: "bench", token: TOKEN, electionTimeoutMs: [150, 300], heartbeatMs: 50, nodes }, null, 2));
  const procs: ChildProcess[] = nodes.map((n) =>
    spawn(process.execPath, [path.join(ROOT, "bin/raftsched.js"), "start", "--config", cfgPath, "--id", n.id, "--data-dir", path.join(dir, n.id)], {
      stdio: "ignore",
      env: { ...process.env, RAFTSCHED_LOG_LEVEL: "warn" },
    }),
  );
  const cleanup = (): void => {
    for (const p of procs) if (p.exitCode === null) p.kill("SIGKILL");
    rmSync(dir, { recursive: true, force: true });
  };
  process.on("SIGINT", () => {
    cleanup();
    process.exit(130);
  });
  try {
    let leader: string | null = null;
    const deadline = Date.now() + 15_000;
    while (!leader && Date.now() < deadline) {
      await new Promise((r) => setTimeout(r, 100));
      for (const n of nodes) {
        try {
          const s = JSON.parse((await request(`${n.url}/v1/status`, "GET")).text) as { role: string };
          if (s.role === "leader") leader = n.url;
        } catch {
          /* not up yet */
        }
      }
    }
    if (!leader) throw new Error("no leader within 15 s");
    const payload = "x".repeat(256);
    const rows: Array<Record<string, number>> = [];
    console.log(`bench:raft — 3 nodes on loopback, leader ${leader}, ${args.durationS}s per row (+${args.warmupS}s warmup), 256-byte payloads`);
    for (const c of args.clients) {
      const lat: number[] = [];
      let errors = 0;
      let seq = 0;
      const startAt = Date.now() + args.warmupS * 1000;
      const endAt = startAt + args.durationS * 1000;
      const client = async (k: number): Promise<void> => {
        while (Date.now() < endAt) {
          const body = JSON.stringify({ id: `b${c}-${k}-${++seq}`, payload });
          const t0 = performance.now();
          try {
            const r = await request(`${leader}/v1/tasks`, "POST", body);
            const t1 = performance.now();
            if (r.status === 201 || r.status === 200) {
              if (Date.now() >= startAt && Date.now() < endAt) lat.push(t1 - t0);
            } else errors++;
          } catch {
            errors++;
          }
        }
      };
      const progress = setInterval(() => process.stdout.write(`  C=${c}: ${lat.length} committed so far\r`), 1000);
      await Promise.all(Array.from({ length: c }, (_, k) => client(k)));
      clearInterval(progress);
      lat.sort((a, b) => a - b);
      const row = {
        clients: c,
        opsPerS: Math.round(lat.length / args.durationS),
        p50Ms: +pct(lat, 50).toFixed(2),
        p90Ms: +pct(lat, 90).toFixed(2),
        p99Ms: +pct(lat, 99).toFixed(2),
        maxMs: +(lat[lat.length - 1] ?? NaN).toFixed(2),
        errors,
      };
      rows.push(row);
      console.log(`  C=${String(c).padStart(2)}  ${String(row.opsPerS).padStart(6)} submits/s  p50 ${row.p50Ms} ms  p90 ${row.p90Ms} ms  p99 ${row.p99Ms} ms  max ${row.maxMs} ms  errors ${errors}`);
    }
    mkdirSync(path.join(ROOT, "bench-results"), { recursive: true });
    const out = path.join(ROOT, "bench-results", `bench-raft-${new Date().toISOString().replace(/[:.]/g, "")}.json`);
    writeFileSync(out, JSON.stringify({ date: new Date().toISOString(), durationS: args.durationS, rows }, null, 2));
    console.log(`results: ${out}`);
  } finally {
    cleanup();
  }
}

main().catch((err) => {
  console.error(`bench:raft: ${(err as Error).message}`);
  process.exitCode = 1;
});
