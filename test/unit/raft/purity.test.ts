// src/raft must stay pure: time arrives as tick(), randomness from the injected PRNG, I/O through Ready.
import { readdirSync, readFileSync } from "node:fs";
import path from "node:path";
import { fileURLToPath } from "node:url";
import { describe, expect, it } from "vitest";

const RAFT_DIR = path.resolve(path.dirname(fileURLToPath(import.meta.url)), "../../../src/raft");

const FORBIDDEN: readonly [string, RegExp][] = [
  ["setTimeout", /\bsetTimeout\b/],
  ["setInterval", /\bsetInterval\b/],
  ["setImmediate", /\bsetImmediate\b/],
  ["Date", /\bDate\b/],
  ["Math.random", /\bMath\.random\b/],
  ["performance.now", /\bperformance\.now\b/],
  ["process.", /\bprocess\./],
  ["require(", /\brequire\(/],
  ["node: import", /from\s+["']node:/],
  ["fs/net/ws/level import", /from\s+["'](fs|net|ws|level|classic-level|http|https|crypto|os|child_process)(\/[^"']*)?["']/],
  ["dynamic import", /\bimport\(\s*["']/],
  ["console.", /\bconsole\./],
];

/** Drops comments so a comment that mentions a forbidden API does not trip the scan. */
function stripComments(src: string): string {
  return src.replace(/\/\*[\s\S]*?\*\//g, "").replace(/(^|[^:"'])\/\/.*$/gm, "$1");
}

describe("src/raft purity", () => {
  const files = readdirSync(RAFT_DIR).filter((f) => f.endsWith(".ts"));

  it("finds the core's files, including every concern split out of raft.ts", () => {
    const concerns = ["raft.ts", "state.ts", "step.ts", "elections.ts", "roles.ts", "follower.ts", "replication.ts"];
    concerns.push("leader-send.ts", "propose.ts", "read-index.ts", "transfer.ts", "membership.ts", "ready.ts");
    expect(files).toEqual(expect.arrayContaining(concerns));
    expect(files.length).toBeGreaterThanOrEqual(20);
  });

  // The core's only dependencies are its own files: a helper from src/node or src/util could bring I/O in.
  for (const f of files) {
    it(`${f} imports nothing from outside src/raft`, () => {
      const src = stripComments(readFileSync(path.join(RAFT_DIR, f), "utf8"));
      const specifiers = [...src.matchAll(/\bfrom\s+["']([^"']+)["']/g)].map((m) => m[1]!);
      expect(specifiers.filter((spec) => !spec.startsWith("./"))).toEqual([]);
    });
  }

  for (const f of files) {
    it(`${f} uses no timers, clocks, randomness, I/O or console`, () => {
      const src = stripComments(readFileSync(path.join(RAFT_DIR, f), "utf8"));
      const hits = FORBIDDEN.filter(([, re]) => re.test(src)).map(([name]) => name);
      expect(hits).toEqual([]);
    });
  }

  it("the scan itself catches a forbidden use", () => {
    const sample = stripComments('const t = Date.now(); import x from "node:fs"; console.log(1);');
    const hits = FORBIDDEN.filter(([, re]) => re.test(sample)).map(([name]) => name);
    expect(hits).toEqual(expect.arrayContaining(["Date", "node: import", "console."]));
  });
});
