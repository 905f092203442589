// The leader applies a large submit it proposed without decoding the entry's bytes again (issue 14.3): it has the
// command it encoded, and decoding a 1 MiB payload (msgpack unpack, then the JSON-value check) is one more long turn
// of its event loop per submit. Every other replica decodes the bytes, so the leader may use its own object only
// when decoding would give exactly that value back. msgpack (src/scheduler/commands.ts) changes three things: it
// writes -0 as 0, a string with a lone surrogate as UTF-8 with U+FFFD in its place, and msgpackr reads a key
// "__proto__" back as "__proto_". A payload holding any of them is decoded as before, so every replica (and every
// answer) sees the same table.
import type { Command } from "../scheduler/commands.js";
import type { Entry } from "../raft/types.js";
import { LargeEntryDecodes, encodeCommandInSlices } from "./large-command-slices.js";
import { timedStage } from "../util/loop-block-trace.js";
import type { TaskTable } from "../scheduler/table.js";
import type { ApplyResult, JsonValue } from "../scheduler/types.js";

/** Commands from this size on are kept for their apply: a small one decodes in microseconds. */
export const REUSE_FROM_BYTES = 64 * 1024;

export class ProposedCommands {
  /** By the very bytes proposed: the core hands the same array back in the committed entry. A lost proposal's
   *  bytes are never applied and its entry goes with them. */
  private readonly byData = new WeakMap<Uint8Array, Command>();

  /** Large entries of others (a follower's, or a new leader's), decoded in slices ahead of their apply. */
  private readonly ahead = new LargeEntryDecodes();

  /** encodeCommand(command) (in slices when large), remembering the command for the apply of these bytes when it
   *  is worth it. */
  async encode(command: Command): Promise<Uint8Array> {
    const data = await timedStage("encodeCommand", () => encodeCommandInSlices(command));
    if (data.byteLength >= REUSE_FROM_BYTES && command.type === "submit" && decodesUnchanged(command.payload)) this.byData.set(data, command);
    return data;
  }

  /** Starts decoding these entries' large commands, but not this node's own proposals. */
  decodeAhead(entries: readonly Entry[]): void {
    this.ahead.arrived(entries, (data) => this.byData.has(data));
  }

  /** What to wait for before applying these entries (null: nothing). */
  decodedAhead(entries: readonly Entry[]): Promise<void> | null {
    return this.ahead.ready(entries);
  }

  /** table.applyEntry(index, data), with the command proposed as exactly these bytes when there is one. */
  apply(table: TaskTable, index: number, data: Uint8Array): ApplyResult {
    const command = this.byData.get(data) ?? this.ahead.take(data);
    if (command === undefined) return timedStage("decode+apply", () => table.applyEntry(index, data), data.byteLength);
    this.byData.delete(data);
    return timedStage(`apply ${command.type}`, () => table.apply(index, command));
  }
}

/** The runner's hooks for large entries: a follower decodes them in slices from their arrival and applies them
 *  once decoded; a leader never waits (its heartbeats would wait with it), it decodes at apply what is not ready. */
export function largeEntryHooks(p: ProposedCommands, isLeader: () => boolean): { arrived(entries: readonly Entry[]): void; beforeApply(entries: readonly Entry[]): Promise<void> | null } {
  return {
    arrived: (entries) => p.decodeAhead(entries),
    beforeApply: (entries) => (isLeader() ? null : p.decodedAhead(entries)),
  };
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
