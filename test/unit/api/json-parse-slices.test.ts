// Issue 14.3: a large body is parsed in slices, and must give exactly what JSON.parse gives (values, key order,
// repeated keys, "__proto__"), and refuse what JSON.parse refuses.
import { describe, expect, it } from "vitest";
import { parseJsonInSlices } from "../../../src/api/json-parse-slices.js";
import { makePrng } from "../../../src/raft/prng.js";

const sync = { yieldNow: () => undefined };

function randomText(next: () => number, depth: number): string {
  const r = next();
  const ws = () => [" ", "", "\n\t", "  \r\n"][Math.floor(next() * 4)]!;
  const leaves = ["0", "-1.5e-3", "1e20", "123456789012345678901234567890", "true", "false", "null", '""', '"a,b]c}d{e[f:g"', '"esc \\" \\\\ \\/ \\n \\u00e9 \\ud83d\\ude00"', '"é😀"'];
  if (depth > 3 || r < 0.35) return leaves[Math.floor(next() * leaves.length)]!;
  const n = Math.floor(next() * 12);
  if (r < 0.65) return `[${ws()}${Array.from({ length: n }, () => randomText(next, depth + 1)).join(`${ws()},${ws()}`)}${ws()}]`;
  const keys = ['"k"', '"__proto__"', '"1"', '"10"', '"a:b"', '"x,y"', '"k"', '"z"'];
  return `{${ws()}${Array.from({ length: n }, () => `${keys[Math.floor(next() * keys.length)]}${ws()}:${ws()}${randomText(next, depth + 1)}`).join(`${ws()},${ws()}`)}${ws()}}`;
}

const same = (a: unknown, b: unknown): void => {
  expect(JSON.stringify(a)).toBe(JSON.stringify(b));
  expect(a).toEqual(b);
};

describe("parseJsonInSlices", () => {
  it("gives what JSON.parse gives, cut at any piece size (400 random texts)", async () => {
    const next = makePrng(143);
    for (let n = 0; n < 400; n++) {
      const text = `${n % 2 ? " " : ""}${randomText(next, 0)}${n % 3 ? "\n" : ""}`;
      same(await parseJsonInSlices(text, { ...sync, pieceChars: 1 + (n % 40) }), JSON.parse(text));
    }
  });

  it("keeps a repeated key's first place and last value, and '__proto__' as an own key, across pieces", async () => {
    const text = `{"b":1,"__proto__":{"x":1},"a":[${"1,".repeat(50)}2],"b":2,"__proto__":3}`;
    const got = (await parseJsonInSlices(text, { ...sync, pieceChars: 8 })) as Record<string, unknown>;
    same(got, JSON.parse(text));
    expect(Object.keys(got)).toEqual(["b", "__proto__", "a"]);
    expect(Object.getPrototypeOf(got)).toBe(Object.prototype);
  });

  it("refuses what JSON.parse refuses", async () => {
    const big = "1,".repeat(30);
    for (const text of [`[${big}1,]`, `[,${big}1]`, `[${big},,1]`, `[${big}1}`, `{"a":[${big}1]`, `{"a" [${big}1]}`, `{"a":1,,"b":[${big}1]}`, `{1:[${big}1]}`, `[${big}1] x`, `[${big}01]`, `["${big}]`, `[[${big}1}]`, `{"a":[${big}1]:2}`, `[{"a":1}{"b":[${big}1]}]`, `{"a":}`, ""]) {
      expect(() => JSON.parse(text), text).toThrow();
      await expect(parseJsonInSlices(text, { ...sync, pieceChars: 4 }), text).rejects.toThrow();
    }
  });

  it("lets the event loop turn while parsing a 1 MiB body", async () => {
    const text = `{"id":"x","payload":[${Array<string>(200_000).fill("1e20").join(",")}]}`;
    let turns = 0;
    const got = await parseJsonInSlices(text, { yieldNow: () => void turns++ });
    same(got, JSON.parse(text));
    expect(turns).toBeGreaterThan(0); // at least one yield (4 ms slices; the whole takes longer than that)
  });
});
