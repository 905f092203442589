// The leader applies a large submit it proposed without decoding the entry's bytes again (issue 14.3): it has the
// command it encoded, and decoding a 1 MiB payload (msgpack unpack, then the JSON-value check) is one more long turn
// of its event loop per submit. Every other replica decodes the bytes, so the leader may use its own object only
// when decoding would give exactly that value back. msgpack (src/scheduler/commands.ts) changes three things: it
// writes -0 as 0, a string with a lone surrogate as UTF-8 with U+FFFD in its place, and msgpackr reads a key
// "__proto__" back as "__proto_". A payload holding any of them is decoded as before, so every replica (and every
// answer) sees the same table.
import { decodeCommand, encodeCommand, type Command } from "../scheduler/commands.js";
import { timedStage } from "../util/loop-block-trace.js";
import type { TaskTable } from "../scheduler/table.js";
import type { ApplyResult, JsonValue } from "../scheduler/types.js";

/** Commands from this size on are kept for their apply: a small one decodes in microseconds. */
export const REUSE_FROM_BYTES = 64 * 1024;

export class ProposedCommands {
  /** By the very bytes proposed: the core hands the same array back in the committed entry. A lost proposal's
   *  bytes are never applied and its entry goes with them. */
  private readonly byData = new WeakMap<Uint8Array, Command>();

  /** encodeCommand(command), remembering the command for the apply of these bytes when it is worth it. */
  encode(command: Command): Uint8Array {
    const data = encodeCommand(command);
    if (data.byteLength >= REUSE_FROM_BYTES && command.type === "submit" && decodesUnchanged(command.payload)) this.byData.set(data, command);
    return data;
  }

  /** table.applyEntry(index, data), with the command proposed as exactly these bytes when there is one. */
  apply(table: TaskTable, index: number, data: Uint8Array): ApplyResult {
    let command = this.byData.get(data);
    if (command === undefined) {
      const decoded = timedStage("decodeCommand", () => decodeCommand(data), data.byteLength);
      if (!decoded.ok) return table.applyEntry(index, data); // applied as the same no-op on every replica
      command = decoded.command;
    } else this.byData.delete(data);
    const c = command;
    return timedStage(`apply ${c.type}`, () => table.apply(index, c));
  }
}

/** Whether a JSON value comes back from msgpack as it is (see the top of this file). Iterative: no input can
 *  exhaust the stack (the payload is at most MAX_JSON_DEPTH deep anyway). */
export function decodesUnchanged(value: JsonValue): boolean {
  const stack: unknown[] = [value];
  while (stack.length > 0) {
    const v = stack.pop();
    if (typeof v === "string") {
      if (!isWellFormed(v)) return false;
    } else if (typeof v === "number") {
      if (Object.is(v, -0)) return false;
    } else if (Array.isArray(v)) {
      for (let i = 0; i < v.length; i++) stack.push(v[i]);
    } else if (typeof v === "object" && v !== null) {
      for (const key of Object.keys(v)) {
        if (key === "__proto__" || !isWellFormed(key)) return false;
        stack.push((v as Record<string, unknown>)[key]);
      }
    }
  }
  return true;
}

/** String.prototype.isWellFormed (Node 20; not in the ES2022 typings): no lone surrogate. */
function isWellFormed(s: string): boolean {
  return (s as unknown as { isWellFormed(): boolean }).isWellFormed();
}
