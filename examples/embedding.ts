// The README's embedding example, as a program that runs: `npx tsx examples/embedding.ts [cluster-file] [data-dir]`.
// With no arguments it runs a one-node cluster (examples/single-node.json) in a temporary data dir. A test runs this
// very file (test/integration/embedding-example.test.ts) and `npm run typecheck` checks it under `strict`.
import { mkdtempSync } from "node:fs";
import { tmpdir } from "node:os";
import path from "node:path";
import { setTimeout as sleep } from "node:timers/promises";
import { fileURLToPath } from "node:url";
import { startNode, type JsonValue } from "raftsched";

const here = path.dirname(fileURLToPath(import.meta.url));
const config = process.argv[2] ?? path.join(here, "single-node.json");
const dataDir = process.argv[3] ?? mkdtempSync(path.join(tmpdir(), "raftsched-example-"));

/** A payload is JSON from the log: check its shape before trusting it. */
function urlOf(payload: JsonValue): string {
  if (typeof payload === "object" && payload !== null && !Array.isArray(payload) && typeof payload.url === "string") return payload.url;
  throw new Error("payload has no url");
}

const node = await startNode({ config, id: "n1", dataDir });
node.onTask(async (task) => {
  // task: { id, attempt, payload, priority, maxAttempts, signal }
  const res = await fetch(urlOf(task.payload), { signal: task.signal });
  return { status: res.status };
});
await node.ready(); // a leader is known and this node has applied what is committed

const t = await node.submit({ id: "crawl-1", payload: { url: `${node.url}/healthz` } });
let done = await node.getTask(t.id);                  // linearizable read
while (done?.state === "pending" || done?.state === "assigned") {
  await sleep(50);
  done = await node.getTask(t.id);
}
console.log(done?.state, done?.result);               // completed { status: 200 }
console.log(node.status());                            // { id, role, term, leaderId, commitIndex, appliedIndex }
await node.close({ handOver: true });                 // a leader hands over first
