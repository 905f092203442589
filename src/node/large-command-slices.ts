// Large commands encoded and decoded in slices of the event loop (issue 14.3), on the production codec of
// src/scheduler/large-command-codec.ts. The leader encodes a large submit in slices before proposing it; a
// follower starts decoding a large entry as soon as it arrives (while the entry is written and acknowledged), so
// by its commit the apply finds the command ready instead of unpacking megabytes in one turn.
import { encodeCommand, type Command } from "../scheduler/commands.js";
import { FALLBACK, SlicedCommandDecoder, SlicedCommandEncoder } from "../scheduler/large-command-codec.js";
import type { Entry } from "../raft/types.js";
import { yieldToEventLoop } from "./large-request-yield.js";

/** Entries (and commands) from this size on are worth slicing: a smaller one takes well under a millisecond. */
export const SLICE_FROM_BYTES = 64 * 1024;
/** CPU per slice: a quarter of the 50 ms heartbeat is 12.5 ms; a loaded machine stretches each slice several-fold. */
const SLICE_MS = 4;
/** Values between two looks at the clock. */
const VALUES_PER_CHECK = 1024;
/** Decodes running at once; an entry beyond them is decoded at its apply, as before. */
const MAX_DECODES_IN_FLIGHT = 8;

/** Runs `step` until it says done, yielding to the event loop every SLICE_MS. */
async function inSlices(step: () => boolean): Promise<void> {
  let sliceStart = performance.now();
  while (!step()) {
    if (performance.now() - sliceStart >= SLICE_MS) {
      await yieldToEventLoop();
      sliceStart = performance.now();
    }
  }
}

/** Whether a command is large enough to encode in slices: it holds more than a few thousand JSON values. */
function isLargeCommand(command: Command): boolean {
  const v = command.type === "submit" ? command.payload : command.type === "complete" ? command.result : command.type === "fail" ? command.error : undefined;
  if (typeof v !== "object" || v === null) return false;
  const stack: unknown[] = [v];
  let seen = 0;
  while (stack.length > 0) {
    const x = stack.pop();
    if (++seen > 4 * VALUES_PER_CHECK) return true;
    if (Array.isArray(x)) for (const c of x) stack.push(c);
    else if (typeof x === "object" && x !== null) for (const c of Object.values(x)) stack.push(c);
  }
  return false;
}

/** encodeCommand(command), in slices when it is large; the same refusals (BAD_COMMAND) as encodeCommand. */
export async function encodeCommandInSlices(command: Command): Promise<Uint8Array> {
  if (!isLargeCommand(command)) return encodeCommand(command);
  const encoder = new SlicedCommandEncoder(command);
  await inSlices(() => encoder.step(VALUES_PER_CHECK));
  const bytes = encoder.result();
  return bytes === FALLBACK ? encodeCommand(command) : bytes;
}

interface Decode {
  command: Command | typeof FALLBACK | null;
  readonly done: Promise<void>;
}

/** Large entries being decoded ahead of their apply, by the very bytes the log holds. */
export class LargeEntryDecodes {
  private readonly byData = new WeakMap<Uint8Array, Decode>();
  private inFlight = 0;

  /** Starts decoding the large normal entries among `entries` that `skip` does not cover (the leader's own). */
  arrived(entries: readonly Entry[], skip: (data: Uint8Array) => boolean): void {
    for (const e of entries) {
      if (e.kind !== "normal" || e.data.byteLength < SLICE_FROM_BYTES || this.byData.has(e.data) || skip(e.data)) continue;
      if (this.inFlight >= MAX_DECODES_IN_FLIGHT) return;
      this.inFlight++;
      const decoder = new SlicedCommandDecoder(e.data);
      const d: Decode = {
        command: null,
        done: inSlices(() => decoder.step(VALUES_PER_CHECK)).then(
          () => void ((d.command = decoder.result()), this.inFlight--),
          () => void ((d.command = FALLBACK), this.inFlight--), // the apply decodes it as before
        ),
      };
      this.byData.set(e.data, d);
    }
  }

  /** Resolves when every decode started for these entries is done; null when none is running. */
  ready(entries: readonly Entry[]): Promise<void> | null {
    const running = entries.map((e) => this.byData.get(e.data)).filter((d): d is Decode => d !== undefined && d.command === null);
    return running.length === 0 ? null : Promise.all(running.map((d) => d.done)).then(() => undefined);
  }

  /** The decoded command for these bytes (once), or undefined when there is none: decode them as before. */
  take(data: Uint8Array): Command | undefined {
    const d = this.byData.get(data);
    if (d === undefined || d.command === null) return undefined;
    this.byData.delete(data);
    return d.command === FALLBACK ? undefined : d.command;
  }
}
