// A large command's msgpack encoding and decoding in steps (issue 14.3: nothing may hold a node's event loop for
// long). msgpackr packs or unpacks a 1 MiB payload in one call: 20-100 ms of one turn on a loaded 2-core box, on
// the leader (encode) and on every follower (decode at apply). These do the same work a bounded number of values
// at a time, so the caller can let the event loop turn between steps.
//
// Equivalence with commands.ts is the rule: the bytes written here unpack (by msgpackr, and by the decoder below)
// to the value msgpackr's own bytes unpack to, and the decoder returns exactly what decodeCommand would. Anything
// outside the plain subset handled here (a type msgpack-JSON never holds, a 64-bit integer, a float32, invalid
// UTF-8, a non-string key, depth past the limit, a non-finite number) gives "fallback": the caller then runs
// encodeCommand/decodeCommand itself, so every replica still sees one answer for the same bytes.
import { isUtf8 } from "node:buffer";
import { commandProblem, type Command } from "./commands.js";
import { MAX_JSON_DEPTH } from "./json-value.js";

export const FALLBACK = "fallback" as const;
/** A command's JSON fields may sit one level below its root, so its whole tree is at most this deep. */
const MAX_COMMAND_DEPTH = MAX_JSON_DEPTH + 1;
/** The command fields that carry opaque JSON values: checked during the walk, not walked again. */
const JSON_FIELDS = ["payload", "result", "error"] as const;

interface EncodeFrame {
  readonly values: readonly unknown[];
  /** Object keys to write before each value, or null for an array. */
  readonly keys: readonly string[] | null;
  next: number;
}

/** msgpack bytes of a command, written a bounded number of values per step. */
export class SlicedCommandEncoder {
  private buf = Buffer.allocUnsafe(64 * 1024);
  private pos = 0;
  private readonly stack: EncodeFrame[] = [];
  private failed = false;

  constructor(command: Command) {
    // The small fields are checked as encodeCommand checks them; the JSON fields are checked by the walk.
    const shallow: Record<string, unknown> = { ...command };
    for (const f of JSON_FIELDS) if (shallow[f] !== undefined) shallow[f] = null;
    if (commandProblem(shallow) !== null) this.failed = true;
    else this.open(command);
  }

  /** Writes up to `maxValues` values; true when done (then call result()). */
  step(maxValues: number): boolean {
    for (let n = 0; n < maxValues && !this.failed; n++) {
      const top = this.stack[this.stack.length - 1];
      if (top === undefined) return true;
      if (top.next >= top.values.length) {
        this.stack.pop();
        continue;
      }
      const i = top.next++;
      if (top.keys !== null) this.string(top.keys[i]!);
      this.value(top.values[i]);
    }
    return this.failed || this.stack.length === 0;
  }

  /** The bytes (a copy of their exact length), or FALLBACK: let encodeCommand encode it (or refuse it). */
  result(): Uint8Array | typeof FALLBACK {
    if (this.failed || this.stack.length > 0) return FALLBACK;
    return Buffer.from(this.buf.subarray(0, this.pos));
  }

  private value(v: unknown): void {
    if (v === null) return this.byte(0xc0);
    switch (typeof v) {
      case "boolean":
        return this.byte(v ? 0xc3 : 0xc2);
      case "number":
        return this.number(v);
      case "string":
        return this.string(v);
      case "object":
        return this.open(v);
      default:
        this.failed = true; // undefined, a function, a bigint: not JSON
    }
  }

  private open(v: object): void {
    if (this.stack.length >= MAX_COMMAND_DEPTH) return void (this.failed = true);
    if (Array.isArray(v)) {
      this.header(v.length, 0x90, 0xdc, 0xdd);
      this.stack.push({ values: v, keys: null, next: 0 });
    } else if (Object.getPrototypeOf(v) === Object.prototype) {
      const keys = Object.keys(v);
      this.header(keys.length, 0x80, 0xde, 0xdf);
      this.stack.push({ values: keys.map((k) => (v as Record<string, unknown>)[k]), keys, next: 0 });
    } else this.failed = true;
  }

  private number(v: number): void {
    this.room(9);
    const b = this.buf;
    if (Number.isInteger(v) && v >= -(2 ** 31) && v < 2 ** 32) {
      if (v >= 0 && v < 128) b[this.pos++] = v; // -0 too: msgpackr writes it as 0 as well
      else if (v < 0 && v >= -32) b[this.pos++] = 0x100 + v;
      else if (v >= 0) {
        b[this.pos++] = 0xce;
        this.pos = b.writeUInt32BE(v, this.pos);
      } else {
        b[this.pos++] = 0xd2;
        this.pos = b.writeInt32BE(v, this.pos);
      }
    } else if (Number.isFinite(v)) {
      b[this.pos++] = 0xcb;
      this.pos = b.writeDoubleBE(v, this.pos);
    } else this.failed = true;
  }

  private string(s: string): void {
    const ascii = s.length < 64 && isAsciiShort(s);
    // msgpackr writes a lone surrogate as its own three bytes, Buffer as U+FFFD: such a string is left to msgpackr.
    if (!ascii && !(s as unknown as { isWellFormed(): boolean }).isWellFormed()) return void (this.failed = true);
    const length = ascii ? s.length : Buffer.byteLength(s, "utf8");
    this.room(5 + length);
    if (length < 32) this.buf[this.pos++] = 0xa0 | length;
    else if (length < 0x100) {
      this.buf[this.pos++] = 0xd9;
      this.buf[this.pos++] = length;
    } else if (length < 0x10000) {
      this.buf[this.pos++] = 0xda;
      this.pos = this.buf.writeUInt16BE(length, this.pos);
    } else {
      this.buf[this.pos++] = 0xdb;
      this.pos = this.buf.writeUInt32BE(length, this.pos);
    }
    this.pos += this.buf.write(s, this.pos, length, "utf8");
  }

  private header(count: number, fix: number, c16: number, c32: number): void {
    this.room(5);
    if (count < 16) this.buf[this.pos++] = fix | count;
    else if (count < 0x10000) {
      this.buf[this.pos++] = c16;
      this.pos = this.buf.writeUInt16BE(count, this.pos);
    } else {
      this.buf[this.pos++] = c32;
      this.pos = this.buf.writeUInt32BE(count, this.pos);
    }
  }

  private byte(b: number): void {
    this.room(1);
    this.buf[this.pos++] = b;
  }

  private room(bytes: number): void {
    if (this.pos + bytes <= this.buf.length) return;
    const next = Buffer.allocUnsafe(Math.max(this.buf.length * 2, this.pos + bytes));
    this.buf.copy(next, 0, 0, this.pos);
    this.buf = next;
  }
}

function isAsciiShort(s: string): boolean {
  for (let i = 0; i < s.length; i++) if (s.charCodeAt(i) > 0x7f) return false;
  return true;
}

interface DecodeFrame {
  readonly container: unknown[] | Record<string, unknown>;
  readonly count: number;
  /** The command's root is at depth 0. */
  readonly depth: number;
  done: number;
  /** For a map: the key read, waiting for its value. */
  key: string | null;
}

/** A command from msgpack bytes, a bounded number of values per step; the same command decodeCommand returns. */
export class SlicedCommandDecoder {
  private pos = 0;
  private readonly stack: DecodeFrame[] = [];
  private root: unknown = undefined;
  private failed = false;
  private readonly view: DataView;

  constructor(private readonly bytes: Uint8Array) {
    this.view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  }

  /** Reads up to `maxValues` values; true when done (then call result()). */
  step(maxValues: number): boolean {
    for (let n = 0; n < maxValues && !this.failed; n++) {
      if (this.root !== undefined && this.stack.length === 0) break;
      this.readOne();
    }
    return this.failed || (this.root !== undefined && this.stack.length === 0);
  }

  /** The command, or FALLBACK: decodeCommand must decide (it may be a BAD_COMMAND no-op). */
  result(): Command | typeof FALLBACK {
    if (this.failed || this.stack.length > 0 || this.pos !== this.bytes.length) return FALLBACK;
    const c = this.root;
    if (typeof c !== "object" || c === null || Array.isArray(c)) return FALLBACK;
    // Every JSON field is a JSON value no deeper than the limit by construction: check the rest as decodeCommand does.
    const shallow: Record<string, unknown> = { ...(c as Record<string, unknown>) };
    for (const f of JSON_FIELDS) if (shallow[f] !== undefined) shallow[f] = null;
    return commandProblem(shallow) === null ? (c as Command) : FALLBACK;
  }

  private readOne(): void {
    const top = this.stack[this.stack.length - 1];
    if (top !== undefined && !Array.isArray(top.container) && top.key === null) {
      const key = this.scalar();
      if (typeof key !== "string") return void (this.failed = true);
      top.key = key === "__proto__" ? "__proto_" : key; // as msgpackr reads it
      return;
    }
    const b = this.bytes[this.pos];
    if (b === undefined) return void (this.failed = true);
    let value: unknown;
    if ((b & 0xf0) === 0x90 || b === 0xdc || b === 0xdd) {
      value = this.container(b, 0x90, 0xdc, []);
    } else if ((b & 0xf0) === 0x80 || b === 0xde || b === 0xdf) {
      value = this.container(b, 0x80, 0xde, {});
    } else {
      value = this.scalar();
      if (value === undefined) return void (this.failed = true);
    }
    if (this.failed) return;
    this.place(value);
  }

  /** Starts a container: it is placed in its parent now and filled by the next reads. */
  private container(b: number, fix: number, c16: number, container: unknown[] | Record<string, unknown>): unknown {
    let count: number;
    if ((b & 0xf0) === fix) [count, this.pos] = [b & 0x0f, this.pos + 1];
    else if (b === c16) [count, this.pos] = [this.u16(this.pos + 1), this.pos + 3];
    else [count, this.pos] = [this.u32(this.pos + 1), this.pos + 5];
    if (this.failed) return undefined;
    // Its parent may be complete and leave the stack once this is placed in it: the depth is counted, not the stack.
    const depth = (this.stack[this.stack.length - 1]?.depth ?? -1) + 1;
    if (depth >= MAX_COMMAND_DEPTH) return void (this.failed = true);
    this.place(container);
    if (count > 0) this.stack.push({ container, count, depth, done: 0, key: null });
    return PLACED;
  }

  private place(value: unknown): void {
    if (value === PLACED) return;
    const top = this.stack[this.stack.length - 1];
    if (top === undefined) {
      this.root = value;
      return;
    }
    if (Array.isArray(top.container)) top.container.push(value);
    else {
      top.container[top.key!] = value;
      top.key = null;
    }
    if (++top.done === top.count) this.stack.pop();
  }

  /** nil, booleans, 32-bit integers, float64 and strings; undefined for anything else (the caller falls back). */
  private scalar(): unknown {
    const b = this.bytes[this.pos];
    if (b === undefined) return undefined;
    if (b < 0x80) return (this.pos++, b);
    if (b >= 0xe0) return (this.pos++, b - 0x100);
    if ((b & 0xe0) === 0xa0) return this.str(this.pos + 1, b & 0x1f);
    switch (b) {
      case 0xc0:
        return (this.pos++, null);
      case 0xc2:
        return (this.pos++, false);
      case 0xc3:
        return (this.pos++, true);
      case 0xcc:
        return this.fixed(2, () => this.bytes[this.pos + 1]!);
      case 0xcd:
        return this.fixed(3, () => this.view.getUint16(this.pos + 1));
      case 0xce:
        return this.fixed(5, () => this.view.getUint32(this.pos + 1));
      case 0xd0:
        return this.fixed(2, () => this.view.getInt8(this.pos + 1));
      case 0xd1:
        return this.fixed(3, () => this.view.getInt16(this.pos + 1));
      case 0xd2:
        return this.fixed(5, () => this.view.getInt32(this.pos + 1));
      case 0xcb: {
        const v = this.fixed(9, () => this.view.getFloat64(this.pos + 1));
        return v !== undefined && Number.isFinite(v) ? v : undefined;
      }
      case 0xd9:
        return this.pos + 2 <= this.bytes.length ? this.str(this.pos + 2, this.bytes[this.pos + 1]!) : undefined;
      case 0xda:
        return this.pos + 3 <= this.bytes.length ? this.str(this.pos + 3, this.u16(this.pos + 1)) : undefined;
      case 0xdb:
        return this.pos + 5 <= this.bytes.length ? this.str(this.pos + 5, this.u32(this.pos + 1)) : undefined;
      default:
        return undefined;
    }
  }

  private fixed(length: number, read: () => number): number | undefined {
    if (this.pos + length > this.bytes.length) return undefined;
    const v = read();
    this.pos += length;
    return v;
  }

  private str(start: number, length: number): string | undefined {
    const end = start + length;
    if (end > this.bytes.length) return undefined;
    const slice = this.bytes.subarray(start, end);
    if (!isUtf8(slice)) return undefined; // msgpackr's own UTF-8 reader may differ from Buffer's on bad bytes
    this.pos = end;
    return Buffer.from(slice.buffer, slice.byteOffset, slice.byteLength).toString("utf8");
  }

  private u16(at: number): number {
    if (at + 2 > this.bytes.length) return (this.failed = true), 0;
    return this.view.getUint16(at);
  }

  private u32(at: number): number {
    if (at + 4 > this.bytes.length) return (this.failed = true), 0;
    return this.view.getUint32(at);
  }
}

/** Marks a container already placed in its parent by container(). */
const PLACED = Symbol("placed");
