// Measures a chunked snapshot transfer between two real WsTransports on loopback (not a test: run it by hand).
//   npx tsx test/unit/transport/measure-snapshot-transfer.ts [MiB=71] [chunkKiB=1024] [windowChunks=4] [runs=3]
import { createHash, randomBytes } from "node:crypto";
import type { SnapshotRequest } from "../../../src/raft/types.js";
import { startCluster, stopNode, waitFor } from "./harness.js";

const [mib = 71, chunkKiB = 1024, windowChunks = 4, runs = 3] = process.argv.slice(2).map(Number);
const nodes = await startCluster(["a", "b"], { snapshotChunkBytes: chunkKiB * 1024, snapshotWindowChunks: windowChunks });
const [a, b] = nodes as [(typeof nodes)[0], (typeof nodes)[0]];
await waitFor("connected", () => a.transport.stats().peers["b"]?.connected === true);
const data = randomBytes(mib * 1024 * 1024);
const want = createHash("sha256").update(data).digest("hex");
let outcome: boolean | null = null;
a.transport.onSnapshotSent((_to, ok) => (outcome = ok));
for (let run = 1; run <= runs; run++) {
  outcome = null;
  b.received.length = 0;
  const message: SnapshotRequest = { type: "snapshot", from: "a", to: "b", term: 3, snapshot: { meta: { index: run, term: 2, conf: { voters: ["a", "b"], learners: [] } }, data } };
  const started = process.hrtime.bigint();
  a.transport.send(message);
  await waitFor("delivered", () => b.received.length === 1, 120_000);
  const deliveredMs = Number(process.hrtime.bigint() - started) / 1e6;
  await waitFor("reported", () => outcome !== null, 120_000);
  const reportedMs = Number(process.hrtime.bigint() - started) / 1e6;
  const got = b.received[0] as SnapshotRequest;
  const intact = createHash("sha256").update(got.snapshot.data).digest("hex") === want;
  console.log(
    `run ${run}: ${mib} MiB, chunk ${chunkKiB} KiB, window ${windowChunks}: delivered in ${deliveredMs.toFixed(0)} ms ` +
      `(${(mib / (deliveredMs / 1000)).toFixed(0)} MiB/s), reported ok=${outcome} at ${reportedMs.toFixed(0)} ms, intact=${intact}, ` +
      `sender link peak ${((a.transport.stats().peers["b"]?.heldBytesPeak ?? 0) / 1024 / 1024).toFixed(2)} MiB`,
  );
}
for (const n of nodes) await stopNode(n);
