// The README's external worker example, as a program that runs: `npx tsx examples/worker.ts <cluster-file> [id]`.
// It connects to the cluster's nodes (any of them: it follows the leader), takes tasks whose payload is
// `{ "text": "..." }`, answers `{ "upper": "..." }`, and drains on SIGINT/SIGTERM (what runs finishes, then it
// exits). A test runs this very file (test/integration/external-worker-examples.test.ts).
import { readFileSync } from "node:fs";
import { setTimeout as sleep } from "node:timers/promises";
import { Worker } from "raftsched/worker";

const file = process.argv[2];
if (!file) throw new Error("usage: examples/worker.ts <cluster-file> [worker-id]");
const cluster = JSON.parse(readFileSync(file, "utf8")) as { token: string; nodes: { url: string }[] };

const worker = new Worker({
  urls: cluster.nodes.map((n) => n.url),
  token: process.env.RAFTSCHED_TOKEN ?? cluster.token,
  id: process.argv[3] ?? "example-worker",
  capacity: 2,
  tags: ["example"],
  handler: async ({ id, attempt, payload, signal, progress }) => {
    const text = (payload as { text?: unknown }).text;
    if (typeof text !== "string") throw new Error("payload.text must be a string");
    progress({ stage: "started" }); // the leader shows it as the task's `progress` while the attempt runs
    await sleep(50, undefined, { signal }); // stands for real work; an abort (cancel, reassignment) stops it
    console.log(`ran ${id} (attempt ${attempt})`);
    return { upper: text.toUpperCase() };
  },
});

await worker.start();
console.log("worker registered");
for (const signal of ["SIGINT", "SIGTERM"] as const) {
  process.once(signal, () => {
    void worker.close({ drain: true }).then(() => console.log("worker drained"));
  });
}
