// The limits of the house, measured on source text so a test can feed them a synthetic tree: file length,
// function length (TypeScript's own parser: declarations, methods, constructors, accessors, arrows, function
// expressions), imports from src/node up into the HTTP/CLI layers, and import cycles (type-only imports count:
// a type cycle still ties the files' designs together).
import path from "node:path";
import ts from "typescript";

export const MAX_FILE_LINES = 400;
export const MAX_FUNCTION_LINES = 70;
/** src/node is the replica; nothing in it may reach up into the layers that serve it. */
export const UPWARD_FROM = "src/node/";
export const UPWARD_TO: readonly string[] = ["src/api/", "src/dashboard/", "src/cli/"];

/** Source files by repository-relative path ("src/raft/raft.ts"). */
export type SourceTree = ReadonlyMap<string, string>;

export interface Debt {
  /** file → its line count today (over MAX_FILE_LINES) */
  readonly fileLines: Readonly<Record<string, number>>;
  /** "file name" → the function's line count today (over MAX_FUNCTION_LINES) */
  readonly functionLines: Readonly<Record<string, number>>;
  /** "from -> to" imports from src/node up into src/api, src/dashboard or src/cli */
  readonly upwardImports: readonly string[];
  /** each import cycle as the files of its strongly connected component, sorted, joined with " <-> " */
  readonly cycles: readonly string[];
}

/** Tells where a debt entry is written, for the failure message ("test/unit/house.test.ts:42"). */
export type LocateDebt = (key: string) => string;

export function lineCount(text: string): number {
  const lines = text.split("\n");
  return lines[lines.length - 1] === "" ? lines.length - 1 : lines.length;
}

/** Every function-like node's length in lines, keyed "file name" (anonymous ones by their enclosing name). */
export function functionLengths(file: string, text: string): Map<string, number> {
  const sf = ts.createSourceFile(file, text, ts.ScriptTarget.Latest, true, ts.ScriptKind.TS);
  const out = new Map<string, number>();
  const visit = (node: ts.Node, enclosing: string): void => {
    let inner = enclosing;
    if (ts.isFunctionLike(node) && "body" in node && node.body !== undefined) {
      inner = functionName(node, enclosing);
      const start = sf.getLineAndCharacterOfPosition(node.getStart(sf)).line;
      const end = sf.getLineAndCharacterOfPosition(node.getEnd()).line;
      let key = `${file} ${inner}`;
      for (let n = 2; out.has(key); n++) key = `${file} ${inner}#${n}`;
      out.set(key, end - start + 1);
    } else if (ts.isClassLike(node) && node.name) {
      inner = node.name.text;
    }
    ts.forEachChild(node, (child) => visit(child, inner));
  };
  visit(sf, "");
  return out;
}

function functionName(node: ts.SignatureDeclaration, enclosing: string): string {
  const prefix = enclosing === "" ? "" : `${enclosing}.`;
  if (ts.isConstructorDeclaration(node)) return `${prefix}constructor`;
  const own = node.name && (ts.isIdentifier(node.name) || ts.isStringLiteral(node.name)) ? node.name.text : undefined;
  if (own !== undefined) return `${prefix}${own}`;
  const parent = node.parent;
  if (parent && (ts.isVariableDeclaration(parent) || ts.isPropertyAssignment(parent) || ts.isPropertyDeclaration(parent))) {
    if (ts.isIdentifier(parent.name)) return `${prefix}${parent.name.text}`;
  }
  return `${prefix}<anonymous>`;
}

/** The src-relative files each file imports (static, re-exports, type-only and dynamic import("...")). */
export function importGraph(tree: SourceTree): Map<string, Set<string>> {
  const graph = new Map<string, Set<string>>();
  for (const [file, text] of tree) {
    const targets = new Set<string>();
    const sf = ts.createSourceFile(file, text, ts.ScriptTarget.Latest, true, ts.ScriptKind.TS);
    const add = (spec: ts.Expression | undefined): void => {
      if (!spec || !ts.isStringLiteral(spec) || !spec.text.startsWith(".")) return;
      const resolved = resolveSpecifier(tree, path.posix.join(path.posix.dirname(file), spec.text));
      if (resolved !== undefined) targets.add(resolved);
    };
    const visit = (node: ts.Node): void => {
      if (ts.isImportDeclaration(node) || ts.isExportDeclaration(node)) add(node.moduleSpecifier);
      else if (ts.isCallExpression(node) && node.expression.kind === ts.SyntaxKind.ImportKeyword) add(node.arguments[0]);
      ts.forEachChild(node, visit);
    };
    visit(sf);
    graph.set(file, targets);
  }
  return graph;
}

function resolveSpecifier(tree: SourceTree, target: string): string | undefined {
  const candidates = [target.replace(/\.js$/, ".ts"), target, `${target}.ts`, `${target}/index.ts`];
  return candidates.find((c) => tree.has(c));
}

/** Strongly connected components with more than one file (or a file importing itself): the import cycles. */
export function importCycles(graph: ReadonlyMap<string, ReadonlySet<string>>): string[] {
  // Tarjan's algorithm, iterative enough for a source tree (recursion depth is the longest import chain).
  let counter = 0;
  const index = new Map<string, number>();
  const low = new Map<string, number>();
  const stack: string[] = [];
  const onStack = new Set<string>();
  const cycles: string[] = [];
  const strongConnect = (v: string): void => {
    index.set(v, counter);
    low.set(v, counter++);
    stack.push(v);
    onStack.add(v);
    for (const w of graph.get(v) ?? []) {
      if (!index.has(w)) {
        strongConnect(w);
        low.set(v, Math.min(low.get(v)!, low.get(w)!));
      } else if (onStack.has(w)) {
        low.set(v, Math.min(low.get(v)!, index.get(w)!));
      }
    }
    if (low.get(v) !== index.get(v)) return;
    const component: string[] = [];
    let w: string;
    do {
      w = stack.pop()!;
      onStack.delete(w);
      component.push(w);
    } while (w !== v);
    if (component.length > 1 || graph.get(v)?.has(v)) cycles.push(component.sort().join(" <-> "));
  };
  for (const v of [...graph.keys()].sort()) if (!index.has(v)) strongConnect(v);
  return cycles.sort();
}

/** Every rule's problems, each a sentence that says what to change (and which debt line, if one is involved). */
export function houseProblems(tree: SourceTree, debt: Debt, locate: LocateDebt): string[] {
  const fileLines = new Map<string, number>();
  const functionLines = new Map<string, number>();
  for (const [file, text] of tree) {
    fileLines.set(file, lineCount(text));
    for (const [key, n] of functionLengths(file, text)) functionLines.set(key, n);
  }
  const graph = importGraph(tree);
  const upward: string[] = [];
  for (const [from, targets] of graph) {
    if (!from.startsWith(UPWARD_FROM)) continue;
    for (const to of targets) if (UPWARD_TO.some((layer) => to.startsWith(layer))) upward.push(`${from} -> ${to}`);
  }
  return [
    ...sizeRatchet("file", fileLines, MAX_FILE_LINES, debt.fileLines, locate),
    ...sizeRatchet("function", functionLines, MAX_FUNCTION_LINES, debt.functionLines, locate),
    ...setRatchet("import from src/node up into api/dashboard/cli", upward.sort(), debt.upwardImports, locate),
    ...setRatchet("import cycle", importCycles(graph), debt.cycles, locate),
  ];
}

function sizeRatchet(
  what: string,
  measured: ReadonlyMap<string, number>,
  limit: number,
  debt: Readonly<Record<string, number>>,
  locate: LocateDebt,
): string[] {
  const problems: string[] = [];
  for (const [key, n] of measured) {
    if (n <= limit) continue;
    const allowed = debt[key];
    if (allowed === undefined) {
      problems.push(`${what} ${key} is ${n} lines, over the limit of ${limit}: split it (new debt is not taken on)`);
    } else if (n > allowed) {
      problems.push(`${what} ${key} grew to ${n} lines; its debt entry at ${locate(key)} allows ${allowed}: split it instead of growing it`);
    }
  }
  for (const key of Object.keys(debt)) {
    const n = measured.get(key);
    if (n === undefined) problems.push(`${what} ${key} no longer exists: delete its debt entry at ${locate(key)}`);
    else if (n <= limit) problems.push(`${what} ${key} is ${n} lines, within the limit of ${limit}: delete its debt entry at ${locate(key)}`);
  }
  return problems;
}

function setRatchet(what: string, found: readonly string[], debt: readonly string[], locate: LocateDebt): string[] {
  const problems: string[] = [];
  for (const item of found) if (!debt.includes(item)) problems.push(`new ${what}: ${item}`);
  for (const item of debt) {
    if (!found.includes(item)) problems.push(`${what} ${item} is gone: delete its debt entry at ${locate(item)}`);
  }
  return problems;
}
