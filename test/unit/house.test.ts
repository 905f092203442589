// The limits of the house, checked on every `npm test`: no file in src/ over 400 lines, no function over 70, no
// import from src/node up into src/api, src/dashboard or src/cli, no import cycle in src/. The rules live in
// house-rules.ts; this file holds the debt list and proves the rules fire on a synthetic tree.
import { readdirSync, readFileSync, statSync } from "node:fs";
import path from "node:path";
import { fileURLToPath } from "node:url";
import { describe, expect, it } from "vitest";
import { type Debt, houseProblems, MAX_FUNCTION_LINES, type SourceTree } from "./house-rules.js";

const HERE = fileURLToPath(import.meta.url);
const ROOT = path.resolve(path.dirname(HERE), "../..");

// Violations that predate the rules (as of 2026-12-07). The list only shrinks: an entry may not grow, and an entry
// that is fixed must be deleted (the test says which line). Do not add entries: split the file or function.
const DEBT: Debt = {
  fileLines: {},
  functionLines: {
  },
  upwardImports: [],
  cycles: [],
};

/** "test/unit/house.test.ts:NN", the line of this file where a debt entry is written. */
function locateIn(source: string, file: string): (key: string) => string {
  const lines = source.split("\n");
  return (key) => {
    const i = lines.findIndex((l) => l.includes(JSON.stringify(key)));
    return `${file}:${i < 0 ? "?" : i + 1}`;
  };
}

function readSourceTree(dir: string): Map<string, string> {
  const tree = new Map<string, string>();
  const walk = (rel: string): void => {
    for (const name of readdirSync(path.join(ROOT, rel)).sort()) {
      const child = `${rel}/${name}`;
      if (statSync(path.join(ROOT, child)).isDirectory()) walk(child);
      else if (name.endsWith(".ts")) tree.set(child, readFileSync(path.join(ROOT, child), "utf8"));
    }
  };
  walk(dir);
  return tree;
}

describe("the house", () => {
  it("src/ keeps its limits (files, functions, layering, cycles), apart from the shrinking debt list", () => {
    const tree = readSourceTree("src");
    expect(tree.size).toBeGreaterThan(50);
    const locate = locateIn(readFileSync(HERE, "utf8"), path.relative(ROOT, HERE));
    expect(houseProblems(tree, DEBT, locate)).toEqual([]);
  });
});

describe("the house rules fire on a synthetic tree", () => {
  const none: Debt = { fileLines: {}, functionLines: {}, upwardImports: [], cycles: [] };
  const at = (key: string) => `debt.ts:<${key}>`;
  const body = (lines: number) => Array.from({ length: lines - 2 }, (_, i) => `  const v${i} = ${i};`).join("\n");
  const fn = (name: string, lines: number) => `export function ${name}() {\n${body(lines)}\n}\n`;

  it("a file over 400 lines", () => {
    const tree: SourceTree = new Map([["src/x/big.ts", "const a = 1;\n".repeat(401)]]);
    expect(houseProblems(tree, none, at)).toEqual([expect.stringMatching(/^file src\/x\/big\.ts is 401 lines, over the limit of 400/)]);
    expect(houseProblems(new Map([["src/x/ok.ts", "const a = 1;\n".repeat(400)]]), none, at)).toEqual([]);
  });

  it("functions, methods, constructors and arrows over 70 lines, each by name", () => {
    const cls = `class K {\n  constructor() {\n${body(MAX_FUNCTION_LINES + 1)}\n  }\n  m() {\n${body(MAX_FUNCTION_LINES + 1)}\n  }\n}\n`;
    const arrow = `const arrow = () => {\n${body(MAX_FUNCTION_LINES + 1)}\n};\n`;
    const tree: SourceTree = new Map([["src/x/f.ts", fn("long", 71) + fn("fine", 70) + cls + arrow]]);
    const problems = houseProblems(tree, none, at);
    expect(problems.map((p) => p.split(" is ")[0])).toEqual([
      "function src/x/f.ts long",
      "function src/x/f.ts K.constructor",
      "function src/x/f.ts K.m",
      "function src/x/f.ts arrow",
    ]);
  });

  it("an import from src/node up into src/api, src/dashboard or src/cli, whatever its form", () => {
    const tree: SourceTree = new Map([
      ["src/node/n.ts", 'import type { R } from "../api/router.js";\nexport { page } from "../dashboard/page.js";\nconst c = import("../cli/main.js");\n'],
      ["src/api/router.ts", 'import { n } from "../node/n.js";\n'],
      ["src/dashboard/page.ts", ""],
      ["src/cli/main.ts", ""],
    ]);
    expect(houseProblems(tree, none, at).filter((p) => p.startsWith("new import from"))).toEqual([
      "new import from src/node up into api/dashboard/cli: src/node/n.ts -> src/api/router.ts",
      "new import from src/node up into api/dashboard/cli: src/node/n.ts -> src/cli/main.ts",
      "new import from src/node up into api/dashboard/cli: src/node/n.ts -> src/dashboard/page.ts",
    ]);
  });

  it("an import cycle, including one through type-only imports", () => {
    const tree: SourceTree = new Map([
      ["src/a.ts", 'import { b } from "./b.js";\n'],
      ["src/b.ts", 'import type { C } from "./c.js";\n'],
      ["src/c.ts", 'import { a } from "./a.js";\n'],
      ["src/d.ts", 'import { a } from "./a.js";\n'],
    ]);
    expect(houseProblems(tree, none, at)).toEqual(["new import cycle: src/a.ts <-> src/b.ts <-> src/c.ts"]);
  });

  it("the debt list only shrinks: an entry may not grow, and a fixed or vanished entry must be deleted", () => {
    const tree: SourceTree = new Map([
      ["src/grown.ts", "const a = 1;\n".repeat(450)],
      ["src/fixed.ts", "const a = 1;\n".repeat(10)],
      ["src/f.ts", fn("long", 80)],
    ]);
    const debt: Debt = {
      fileLines: { "src/grown.ts": 420, "src/fixed.ts": 500, "src/gone.ts": 500 },
      functionLines: { "src/f.ts long": 80 },
      upwardImports: ["src/node/n.ts -> src/api/router.ts"],
      cycles: ["src/a.ts <-> src/b.ts"],
    };
    expect(houseProblems(tree, debt, at)).toEqual([
      "file src/grown.ts grew to 450 lines; its debt entry at debt.ts:<src/grown.ts> allows 420: split it instead of growing it",
      "file src/fixed.ts is 10 lines, within the limit of 400: delete its debt entry at debt.ts:<src/fixed.ts>",
      "file src/gone.ts no longer exists: delete its debt entry at debt.ts:<src/gone.ts>",
      "import from src/node up into api/dashboard/cli src/node/n.ts -> src/api/router.ts is gone: delete its debt entry at debt.ts:<src/node/n.ts -> src/api/router.ts>",
      "import cycle src/a.ts <-> src/b.ts is gone: delete its debt entry at debt.ts:<src/a.ts <-> src/b.ts>",
    ]);
  });

  it("a debt entry is located by its line in the file that lists it", () => {
    const source = ["const DEBT = {", "  functionLines: {", '    "src/x.ts f": 80,', "  },", "};"].join("\n");
    expect(locateIn(source, "debt.ts")("src/x.ts f")).toBe("debt.ts:3");
    expect(locateIn(source, "debt.ts")("src/y.ts g")).toBe("debt.ts:?");
  });
});
