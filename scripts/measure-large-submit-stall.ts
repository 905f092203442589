// The longest event-loop stall of a leader while it takes one body-limit (1 MiB) submit over HTTP: a one-node
// cluster in this process, a 1 MiB `{"payload":[1e20,...]}` body (it re-serializes ~4× larger), and Node's
// event-loop delay histogram sampled every 5 ms. A stall longer than the election timeout's lower end (150 ms in
// the test clusters) is what lets followers elect another leader meanwhile. Run it under load, e.g. two busy loops:
//   for i in 1 2; do node -e 'for(;;){}' & done; npx tsx scripts/measure-large-submit-stall.ts; kill %1 %2
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import path from "node:path";
import { monitorEventLoopDelay } from "node:perf_hooks";
import pino from "pino";
import { MAX_BODY_BYTES } from "../src/api/http-util.js";
import { startNode } from "../src/server.js";
import { parseClusterFile } from "../src/config/cluster-file.js";
import { freePorts } from "../src/util/ports.js";

const rounds = Number(process.argv[process.argv.indexOf("--rounds") + 1] || 5);

function numbersBody(size: number, id: string): string {
  const head = `{"id":"${id}","payload":[`;
  const text = `${head}${Array<string>(Math.floor((size - head.length - 2) / 5)).fill("1e20").join(",")}]`;
  return `${text}${" ".repeat(size - text.length - 1)}}`;
}

const [port] = await freePorts(1);
const dir = mkdtempSync(path.join(tmpdir(), "raftsched-stall-"));
const config = parseClusterFile(JSON.stringify({ cluster: "stall", token: "stall-token", electionTimeoutMs: [150, 300], heartbeatMs: 50, workerTimeoutMs: 1000, nodes: [{ id: "n1", url: `http://127.0.0.1:${port}` }] }), "stall");
const node = await startNode({ config, id: "n1", dataDir: dir, logger: pino({ level: "warn" }) });
while (node.status().role !== "leader") await new Promise((r) => setTimeout(r, 20));
const stalls: number[] = [];
for (let r = 0; r < rounds; r++) {
  const body = numbersBody(MAX_BODY_BYTES, `big-${r}`);
  const h = monitorEventLoopDelay({ resolution: 5 });
  h.enable();
  const res = await fetch(`http://127.0.0.1:${port}/v1/tasks`, { method: "POST", headers: { authorization: "Bearer stall-token", "content-type": "application/json" }, body });
  await res.arrayBuffer();
  h.disable();
  stalls.push(h.max / 1e6);
  if (res.status !== 201) console.log(`round ${r}: HTTP ${res.status}`);
}
await node.close();
rmSync(dir, { recursive: true, force: true });
const sorted = [...stalls].sort((a, b) => a - b);
console.log(`longest event-loop stall per 1 MiB submit over ${rounds} rounds (ms): ${stalls.map((s) => s.toFixed(0)).join(", ")}; median ${sorted[Math.floor(rounds / 2)]!.toFixed(0)}, max ${sorted[rounds - 1]!.toFixed(0)}`);
