// A large request body parsed in slices of the event loop (issue 14.3). JSON.parse of a 1 MiB body is one turn of
// 15-30 ms of CPU (a loaded 2-core box stretches it to 50-300 ms of wall time, past the 150 ms election timeout).
// Here a large array or object is cut at its top-level commas into pieces of at most PIECE_CHARS of text, each
// piece is parsed by JSON.parse itself (so numbers, strings and escapes are read exactly as JSON.parse reads them),
// and the pieces are joined in order; the event loop turns between pieces and during the scan.
//
// The result is what JSON.parse returns: same values, same key order, a repeated key keeps its first place and
// its last value, and a "__proto__" key is an own property. Text JSON.parse refuses is refused (the message may
// differ). Containers nested deeper than MAX_SPLIT_DEPTH are handed to JSON.parse whole.

/** Bodies from this many characters on are parsed in slices; a smaller one is one short JSON.parse. */
export const SLICED_PARSE_FROM_CHARS = 128 * 1024;
const PIECE_CHARS = 32 * 1024;
const MAX_SPLIT_DEPTH = 64;
/** CPU per slice before the event loop gets a turn. */
const SLICE_MS = 4;

export interface SliceOptions {
  readonly pieceChars?: number;
  /** Lets the event loop turn; default setImmediate. Tests pass a synchronous no-op. */
  readonly yieldNow?: () => Promise<void> | void;
}

const isSpace = (c: number): boolean => c === 0x20 || c === 0x0a || c === 0x0d || c === 0x09;

class SlicedParser {
  private sliceStart = performance.now();
  private readonly pieceChars: number;
  private readonly yieldNow: () => Promise<void> | void;

  constructor(
    private readonly text: string,
    o: SliceOptions,
  ) {
    this.pieceChars = o.pieceChars ?? PIECE_CHARS;
    this.yieldNow = o.yieldNow ?? (() => new Promise<void>((r) => setImmediate(r)));
  }

  private async breathe(): Promise<void> {
    if (performance.now() - this.sliceStart < SLICE_MS) return;
    await this.yieldNow();
    this.sliceStart = performance.now();
  }

  async parse(): Promise<unknown> {
    let [start, end] = [0, this.text.length];
    while (start < end && isSpace(this.text.charCodeAt(start))) start++;
    while (end > start && isSpace(this.text.charCodeAt(end - 1))) end--;
    return await this.value(start, end, 0);
  }

  /** The value whose text (no surrounding whitespace) is text[start, end). */
  private async value(start: number, end: number, depth: number): Promise<unknown> {
    const open = this.text.charCodeAt(start);
    if (end - start <= this.pieceChars || depth >= MAX_SPLIT_DEPTH || (open !== 0x5b && open !== 0x7b)) {
      await this.breathe();
      return JSON.parse(this.text.slice(start, end));
    }
    const parts = await this.split(start, end, open === 0x7b);
    return open === 0x5b ? await this.array(parts, depth) : await this.object(parts, depth);
  }

  /** The top-level members of the container text[start, end): [memberStart, memberEnd, colonAt] (colonAt -1 in an
   *  array), trimmed. Throws on text that cannot be one array or object. */
  private async split(start: number, end: number, isObject: boolean): Promise<Array<[number, number, number]>> {
    const t = this.text;
    const close = isObject ? 0x7d : 0x5d;
    if (t.charCodeAt(end - 1) !== close) throw new SyntaxError(`expected ${String.fromCharCode(close)} at position ${end - 1}`);
    const parts: Array<[number, number, number]> = [];
    let [depth, inString, memberStart, colonAt] = [0, false, start + 1, -1];
    for (let i = start + 1; i < end - 1; i++) {
      if ((i & 0x3fff) === 0) await this.breathe();
      const c = t.charCodeAt(i);
      if (inString) {
        if (c === 0x5c) i++; // an escape: the next character cannot end the string
        else if (c === 0x22) inString = false;
      } else if (c === 0x22) inString = true;
      else if (c === 0x5b || c === 0x7b) depth++;
      else if (c === 0x5d || c === 0x7d) {
        if (--depth < 0) throw new SyntaxError(`unexpected ${String.fromCharCode(c)} at position ${i}`);
      } else if (depth === 0 && c === 0x3a && isObject && colonAt < 0) colonAt = i;
      else if (depth === 0 && c === 0x2c) {
        parts.push(this.member(memberStart, i, colonAt, isObject));
        [memberStart, colonAt] = [i + 1, -1];
      }
    }
    if (inString || depth !== 0) throw new SyntaxError("unterminated string or container");
    let rest = memberStart;
    while (rest < end - 1 && isSpace(t.charCodeAt(rest))) rest++;
    if (parts.length === 0 && rest === end - 1) return parts; // an empty container
    parts.push(this.member(memberStart, end - 1, colonAt, isObject));
    return parts;
  }

  private member(start: number, end: number, colonAt: number, isObject: boolean): [number, number, number] {
    while (start < end && isSpace(this.text.charCodeAt(start))) start++;
    while (end > start && isSpace(this.text.charCodeAt(end - 1))) end--;
    if (start === end) throw new SyntaxError(`unexpected ',' or end of container at position ${start}`);
    if (isObject && start < end && colonAt < 0) throw new SyntaxError(`expected ':' after the key at position ${start}`);
    return [start, end, colonAt];
  }

  private async array(parts: ReadonlyArray<[number, number, number]>, depth: number): Promise<unknown[]> {
    const out: unknown[] = [];
    for (let k = 0; k < parts.length; ) {
      const [s, e] = parts[k]!;
      if (e - s > this.pieceChars) {
        out.push(await this.value(s, e, depth + 1));
        k++;
        continue;
      }
      // A run of small elements: one JSON.parse of their text, commas and all.
      let j = k;
      while (j + 1 < parts.length && parts[j + 1]![1] - s <= this.pieceChars) j++;
      await this.breathe();
      const piece = JSON.parse(`[${this.text.slice(s, parts[j]![1])}]`) as unknown[];
      for (const v of piece) out.push(v);
      k = j + 1;
    }
    return out;
  }

  private async object(parts: ReadonlyArray<[number, number, number]>, depth: number): Promise<Record<string, unknown>> {
    const out: Record<string, unknown> = {};
    for (let k = 0; k < parts.length; ) {
      const [s, e, colon] = parts[k]!;
      if (e - s > this.pieceChars) {
        const key = JSON.parse(this.text.slice(s, colon)) as unknown;
        if (typeof key !== "string") throw new SyntaxError(`a key must be a string at position ${s}`);
        let vs = colon + 1;
        while (vs < e && isSpace(this.text.charCodeAt(vs))) vs++;
        if (vs === e) throw new SyntaxError(`missing value at position ${e}`);
        setOwn(out, key, await this.value(vs, e, depth + 1));
        k++;
        continue;
      }
      let j = k;
      while (j + 1 < parts.length && parts[j + 1]![1] - s <= this.pieceChars) j++;
      await this.breathe();
      const piece = JSON.parse(`{${this.text.slice(s, parts[j]![1])}}`) as Record<string, unknown>;
      for (const key of Object.keys(piece)) setOwn(out, key, piece[key]);
      k = j + 1;
    }
    return out;
  }
}

/** As JSON.parse stores a member: an own data property, "__proto__" included; a repeated key keeps its place. */
function setOwn(o: Record<string, unknown>, key: string, value: unknown): void {
  if (key === "__proto__") Object.defineProperty(o, key, { value, writable: true, enumerable: true, configurable: true });
  else o[key] = value;
}

/** JSON.parse(text), in slices when the text is large. */
export async function parseJsonInSlices(text: string, o: SliceOptions = {}): Promise<unknown> {
  if (text.length < SLICED_PARSE_FROM_CHARS && o.pieceChars === undefined) return JSON.parse(text);
  return await new SlicedParser(text, o).parse();
}
