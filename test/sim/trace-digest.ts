// Prints one line per seed: the seed and a SHA-256 of its full event trace (every message), stats and violations.
// A pure refactor of production code the simulator runs must leave every line unchanged:
//
//   npx tsx test/sim/trace-digest.ts --start 1 --seeds 60 > before.txt   # on the old code
//   npx tsx test/sim/trace-digest.ts --start 1 --seeds 60 > after.txt    # on the new code
//   diff before.txt after.txt
import { createHash } from "node:crypto";
import { runSeed } from "./cluster.js";

function flag(name: string, fallback: number): number {
  const i = process.argv.indexOf(name);
  const n = i >= 0 ? Number(process.argv[i + 1]) : fallback;
  if (!Number.isSafeInteger(n) || n < 0) throw new RangeError(`${name} needs a non-negative integer`);
  return n;
}

const start = flag("--start", 1);
const seeds = flag("--seeds", 60);
for (let seed = start; seed < start + seeds; seed++) {
  const r = runSeed({ seed, trace: true });
  const hash = createHash("sha256");
  for (const line of r.trace) hash.update(line).update("\n");
  hash.update(JSON.stringify(r.stats)).update(JSON.stringify(r.violations));
  process.stdout.write(`seed ${seed} events=${r.trace.length} violations=${r.violations.length} ${hash.digest("hex")}\n`);
}
