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

/** At most `limit` values in `value` (depth-first, counting containers): true when there are fewer. */
export function fewerValuesThan(value: unknown, limit: number): boolean {
  const stack: unknown[] = [value];
  let seen = 0;
  while (stack.length > 0) {
    const v = stack.pop();
    if (++seen >= limit) return false;
    if (Array.isArray(v)) {
      for (const item of v) stack.push(item);
    } else if (typeof v === "object" && v !== null) {
      for (const key in v) stack.push((v as Record<string, unknown>)[key]);
    }
  }
  return true;
}

/** Writes JSON.stringify(value) in steps; `between` runs between two steps (default: one turn of the loop). */
export class JsonSliceWriter {
  private readonly parts: string[] = [];
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
        this.parts.push(top.keys === null ? "]" : "}");
        this.stack.pop();
        continue;
      }
      const i = top.next++;
      if (top.keys === null) {
        if (top.wrote) this.parts.push(",");
        top.wrote = true;
        const item = (top.container as readonly unknown[])[i];
        this.write(item === undefined || typeof item === "function" || typeof item === "symbol" ? null : item);
      } else {
        const key = top.keys[i]!;
        const member = (top.container as Record<string, unknown>)[key];
        if (member === undefined || typeof member === "function" || typeof member === "symbol") continue;
        this.parts.push(`${top.wrote ? "," : ""}${JSON.stringify(key)}:`);
        top.wrote = true;
        this.write(member);
      }
      budget -= 1;
    }
    this.finished = this.stack.length === 0;
    return this.finished;
  }

  /** The text; only once step() returned true. */
  text(): string {
    if (!this.finished) throw new Error("json: not finished");
    return this.parts.join("");
  }

  /** One value: a container opens a frame, anything else is written whole. */
  private write(v: unknown): void {
    if (Array.isArray(v)) {
      this.parts.push("[");
      this.stack.push({ keys: null, container: v, next: 0, wrote: false });
    } else if (typeof v === "object" && v !== null && typeof (v as { toJSON?: unknown }).toJSON !== "function") {
      this.parts.push("{");
      this.stack.push({ keys: Object.keys(v), container: v as Record<string, unknown>, next: 0, wrote: false });
    } else {
      this.parts.push(JSON.stringify(v) ?? "null");
    }
  }
}

/** JSON.stringify(value), the same text, written in steps with the event loop turning between them. */
export async function stringifyInSlices(value: unknown): Promise<string> {
  if (fewerValuesThan(value, VALUES_PER_STEP)) return JSON.stringify(value);
  const writer = new JsonSliceWriter(value);
  while (!writer.step()) await new Promise<void>((resolve) => setImmediate(resolve));
  return writer.text();
}

/** A JSON answer as sendJson writes it (same headers, same bytes), its serialization in slices. */
export async function sendJsonInSlices(res: ServerResponse, status: number, body: unknown): Promise<void> {
  sendJsonText(res, status, await stringifyInSlices(body));
}

/** A JSON answer whose text is already written (a leader's answer a follower passes on as it came). */
export function sendJsonText(res: ServerResponse, status: number, text: string): void {
  res.writeHead(status, { "content-type": "application/json; charset=utf-8", "content-length": Buffer.byteLength(text) });
  res.end(text);
}
