// `npx tsx scripts/cpuprofile-top.ts <file.cpuprofile> [--top 40] [--by function|file]`: self time of a V8 CPU
// profile (node --cpu-prof) summed by function (name + file:line) or by file, largest first, with the share of
// the whole profile and of its non-idle part. For reading where a node's CPU goes (README "Performance").
import { readFileSync } from "node:fs";

interface ProfileNode {
  id: number;
  callFrame: { functionName: string; url: string; lineNumber: number };
  children?: number[];
}
interface Profile {
  nodes: ProfileNode[];
  startTime: number;
  endTime: number;
  samples: number[];
  timeDeltas: number[];
}

/** Self time of the functions named `name`, split by their stack (5 callers up), largest first. */
function printCallers(p: Profile, byId: Map<number, ProfileNode>, name: string, busyUs: number): void {
  const parent = new Map<number, number>();
  for (const n of p.nodes) for (const c of n.children ?? []) parent.set(c, n.id);
  const stacks = new Map<string, number>();
  p.samples.forEach((id, i) => {
    const n = byId.get(id);
    if (!n || n.callFrame.functionName !== name) return;
    const chain: string[] = [];
    for (let cur = parent.get(id); cur !== undefined && chain.length < (Number(process.env.DEPTH) || 6); cur = parent.get(cur)) {
      const f = byId.get(cur)!.callFrame;
      chain.push(`${f.functionName || "(anon)"}@${f.url.split("/").pop()}:${f.lineNumber + 1}`);
    }
    const k = chain.join(" < ");
    stacks.set(k, (stacks.get(k) ?? 0) + (p.timeDeltas[i] ?? 0));
  });
  for (const [k, us] of [...stacks.entries()].sort((a, b) => b[1] - a[1]).slice(0, 15))
    process.stdout.write(`${(us / 1000).toFixed(0).padStart(7)} ms ${((us / busyUs) * 100).toFixed(1).padStart(5)} %  ${k}\n`);
}

/** Non-idle time by the outermost frame of the project's own code (src/ or dist/) on each sampled stack — where a
 *  member's work comes in (a Ready processed, an HTTP request, a peer frame, a timer) — or "(outside)" for stacks
 *  without it (GC, Node's internals alone). Inclusive time, not self time. */
function printEntries(p: Profile, byId: Map<number, ProfileNode>, busyUs: number): void {
  const parent = new Map<number, number>();
  for (const n of p.nodes) for (const c of n.children ?? []) parent.set(c, n.id);
  const byEntry = new Map<string, number>();
  p.samples.forEach((id, i) => {
    const n = byId.get(id);
    if (!n || n.callFrame.functionName === "(idle)") return;
    let entry = "(outside)";
    for (let cur: number | undefined = id; cur !== undefined; cur = parent.get(cur)) {
      const f = byId.get(cur)!.callFrame;
      if (/\/(dist|src)\//.test(f.url)) entry = `${f.functionName || "(anon)"} ${f.url.split("/").slice(-2).join("/")}:${f.lineNumber + 1}`;
    }
    byEntry.set(entry, (byEntry.get(entry) ?? 0) + (p.timeDeltas[i] ?? 0));
  });
  for (const [k, us] of [...byEntry.entries()].sort((a, b) => b[1] - a[1]).slice(0, 25))
    process.stdout.write(`${(us / 1000).toFixed(0).padStart(7)} ms ${((us / busyUs) * 100).toFixed(1).padStart(5)} %  ${k}\n`);
}

function main(): void {
  const args = process.argv.slice(2);
  const file = args.find((a, i) => !a.startsWith("--") && !(args[i - 1] ?? "").startsWith("--"));
  if (!file) throw new Error("usage: scripts/cpuprofile-top.ts <file.cpuprofile> [--top N] [--by function|file]");
  const ti = args.indexOf("--top");
  const top = ti >= 0 ? Number(args[ti + 1]) : 40;
  const bi = args.indexOf("--by");
  const by = bi >= 0 ? args[bi + 1] : "function";
  const p = JSON.parse(readFileSync(file, "utf8")) as Profile;
  const byId = new Map(p.nodes.map((n) => [n.id, n]));
  const selfUs = new Map<string, number>();
  let totalUs = 0;
  let idleUs = 0;
  const ui = args.indexOf("--under");
  const under = ui >= 0 ? args[ui + 1] : undefined;
  const parentOf = new Map<number, number>();
  for (const n of p.nodes) for (const c of n.children ?? []) parentOf.set(c, n.id);
  /** --under NAME: only samples with a frame NAME (function) or NAME:LINE on their stack. */
  const within = (id: number): boolean => {
    for (let cur: number | undefined = id; cur !== undefined; cur = parentOf.get(cur)) {
      const f = byId.get(cur)!.callFrame;
      if (f.functionName === under || `${f.functionName}:${f.lineNumber + 1}` === under) return true;
    }
    return false;
  };
  p.samples.forEach((id, i) => {
    const dt = p.timeDeltas[i] ?? 0;
    const n = byId.get(id);
    if (!n) return;
    if (under !== undefined && n.callFrame.functionName !== "(idle)" && !within(id)) return;
    totalUs += dt;
    const f = n.callFrame;
    if (f.functionName === "(idle)") idleUs += dt;
    const url = f.url.replace(/^file:\/\/.*?\/(node_modules|dist|src)\//, "$1/");
    const key = by === "file" ? url || f.functionName : `${f.functionName || "(anon)"} ${url}:${f.lineNumber + 1}`;
    selfUs.set(key, (selfUs.get(key) ?? 0) + dt);
  });
  const busy = totalUs - idleUs;
  selfUs.delete(by === "file" ? "(idle)" : "(idle) :0");
  if (args.includes("--entry")) return printEntries(p, byId, busy);
  const ci = args.indexOf("--callers");
  if (ci >= 0) return printCallers(p, byId, args[ci + 1] ?? "", busy);
  process.stdout.write(`${file}: ${(totalUs / 1e6).toFixed(2)} s sampled, ${((busy / totalUs) * 100).toFixed(1)} % busy (not idle)\n`);
  const rows = [...selfUs.entries()].sort((a, b) => b[1] - a[1]).slice(0, top);
  for (const [k, us] of rows) process.stdout.write(`${(us / 1000).toFixed(0).padStart(7)} ms ${((us / busy) * 100).toFixed(1).padStart(5)} % of busy  ${k}\n`);
}

main();
