// JSON answers that never hold the event loop for long (issue 14.3). A task holding a body-limit payload answers
// with up to ~4 MiB of JSON (1e20 is written 100000000000000000000); one JSON.stringify of it took tens of ms of
// CPU, hundreds on a loaded box, in a single turn, and a leader that stops for that long sends no heartbeats.
//
// stringifyInSlices writes the same text as JSON.stringify, byte for byte, for JSON values (what the API answers):
// every string, key and number goes through JSON.stringify itself, objects list their keys in Object.keys order
// (the order JSON.stringify uses), `undefined` members are left out and `undefined` array items written null as it
// does. It works through at most VALUES_PER_STEP values per step and lets the event loop turn between steps. A
// small answer (fewer values than one step) is written by one JSON.stringify, as before.
import type { ServerResponse } from "node:http";
import { timedStage } from "../util/loop-block-trace.js";

/** Values (strings, numbers, containers…) written in one turn of the event loop at most. */
export const VALUES_PER_STEP = 4096;

/** A container being written: its children, by position, and the next one's position. */
interface Frame {
  readonly keys: readonly string[] | null;
  readonly container: readonly unknown[] | Record<string, unknown>;
  next: number;
  /** Whether a member was written yet (where a comma goes). */
  wrote: boolean;
}

/** At most `limit` values in `value` (depth-first, counting containers): true when there are fewer. A container
 *  is counted by its length before its members are looked at, so a 200k-item array answers at once. */
export function fewerValuesThan(value: unknown, limit: number): boolean {
  const stack: unknown[] = [value];
  let seen = 1; // a value is counted when its container is looked at
  while (stack.length > 0) {
    const v = stack.pop();
    if (Array.isArray(v)) {
      if ((seen += v.length) >= limit) return false;
      for (const item of v) stack.push(item);
    } else if (typeof v === "object" && v !== null) {
      const keys = Object.keys(v);
      if ((seen += keys.length) >= limit) return false;
      for (const key of keys) stack.push((v as Record<string, unknown>)[key]);
    }
  }
  return seen < limit;
}

/** Writes JSON.stringify(value) in steps; `between` runs between two steps (default: one turn of the loop). */
export class JsonSliceWriter {
  /** The text of the steps so far, one Buffer per step: a few dozen pieces, not one string per value (which cost
   *  as much garbage collection as writing). */
  private readonly chunks: Buffer[] = [];
  /** The current step's text. */
  private out = "";
  private readonly stack: Frame[] = [];
  private started = false;
  private finished = false;

  constructor(private readonly value: unknown) {}

  /** Writes up to `budget` values; true once the whole text is written. */
  step(budget = VALUES_PER_STEP): boolean {
    if (!this.started) {
      this.started = true;
      this.write(this.value);
      budget -= 1;
    }
    while (this.stack.length > 0 && budget > 0) {
      const top = this.stack[this.stack.length - 1]!;
      const length = top.keys === null ? (top.container as readonly unknown[]).length : top.keys.length;
      if (top.next >= length) {
        this.emit(top.keys === null ? "]" : "}");
        this.stack.pop();
        continue;
      }
      const i = top.next++;
      if (top.keys === null) {
        if (top.wrote) this.emit(",");
        top.wrote = true;
        const item = (top.container as readonly unknown[])[i];
        this.write(item === undefined || typeof item === "function" || typeof item === "symbol" ? null : item);
      } else {
        const key = top.keys[i]!;
        const member = (top.container as Record<string, unknown>)[key];
        if (member === undefined || typeof member === "function" || typeof member === "symbol") continue;
        this.emit(`${top.wrote ? "," : ""}${JSON.stringify(key)}:`);
        top.wrote = true;
        this.write(member);
      }
      budget -= 1;
    }
    this.chunks.push(Buffer.from(this.out, "utf8"));
    this.out = "";
    this.finished = this.stack.length === 0;
    return this.finished;
  }

  /** The UTF-8 bytes of the text, in pieces; only once step() returned true. */
  bytes(): readonly Buffer[] {
    if (!this.finished) throw new Error("json: not finished");
    return this.chunks;
  }

  /** The text; only once step() returned true. */
  text(): string {
    return Buffer.concat(this.bytes()).toString("utf8");
  }

  private emit(text: string): void {
    this.out += text;
  }

  /** One value: a container opens a frame, anything else is written whole. */
  private write(v: unknown): void {
    if (Array.isArray(v)) {
      this.emit("[");
      this.stack.push({ keys: null, container: v, next: 0, wrote: false });
    } else if (typeof v === "object" && v !== null && typeof (v as { toJSON?: unknown }).toJSON !== "function") {
      this.emit("{");
      this.stack.push({ keys: Object.keys(v), container: v as Record<string, unknown>, next: 0, wrote: false });
    } else {
      this.emit(JSON.stringify(v) ?? "null");
    }
  }
}

/** JSON.stringify(value) as UTF-8 bytes, written in steps with the event loop turning between them. */
export async function stringifyInSlices(value: unknown): Promise<readonly Buffer[] | string> {
  if (fewerValuesThan(value, VALUES_PER_STEP)) return JSON.stringify(value);
  const writer = new JsonSliceWriter(value);
  while (!timedStage("answer slice", () => writer.step())) await new Promise<void>((resolve) => setImmediate(resolve));
  return writer.bytes();
}

/** A JSON answer as sendJson writes it (same headers, same bytes), its serialization in slices. */
export async function sendJsonInSlices(res: ServerResponse, status: number, body: unknown): Promise<void> {
  const text = await stringifyInSlices(body);
  if (typeof text === "string") return sendJsonText(res, status, text);
  res.writeHead(status, { "content-type": "application/json; charset=utf-8", "content-length": text.reduce((n, b) => n + b.length, 0) });
  for (const chunk of text) res.write(chunk);
  res.end();
}

/** A JSON answer whose text is already written (a leader's answer a follower passes on as it came). */
export function sendJsonText(res: ServerResponse, status: number, text: string): void {
  res.writeHead(status, { "content-type": "application/json; charset=utf-8", "content-length": Buffer.byteLength(text) });
  res.end(text);
}
