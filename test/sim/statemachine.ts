// The simulated state machine, in two halves: the list of entries a node applied, in order (and the membership
// they imply), and the scheduler's task table those entries built (src/scheduler, the production code).
// A snapshot's data holds both at the snapshot index: the entry list, so a node restored from a snapshot holds
// exactly the entries it covers and the checkers compare a restored state entry by entry with what was committed
// (a wrong snapshot shows up as a state machine safety violation, not as silence); and TaskTable.snapshot()
// bytes, which the node restores with TaskTable.restore, as a real node does.
import { applyConfChange, decodeConfChange } from "../../src/raft/confchange.js";
import type { ConfState, Entry, EntryKind, Snapshot } from "../../src/raft/types.js";

const encoder = new TextEncoder();
const decoder = new TextDecoder();

/** Encoded entry: [index, term, kind ("n" | "c"), payload as base64]. */
type EncodedEntry = [number, number, "n" | "c", string];

export interface SimState {
  readonly entries: readonly Entry[];
  /** TaskTable.snapshot() bytes; empty for the bootstrap snapshot (an empty table). */
  readonly table: Uint8Array;
}

/** Decoding the same snapshot bytes twice gives the same state: snapshots travel by reference in the simulator,
 *  so the cache keeps a leader's repeated sends from costing a parse each. */
const decoded = new WeakMap<Uint8Array, SimState>();

/** Entries are immutable and shared between nodes: each is encoded once, however many snapshots hold it. */
const rows = new WeakMap<Entry, string>();

function rowOf(e: Entry): string {
  let row = rows.get(e);
  if (row === undefined) {
    const encoded: EncodedEntry = [e.index, e.term, e.kind === "config" ? "c" : "n", Buffer.from(e.data).toString("base64")];
    row = JSON.stringify(encoded);
    rows.set(e, row);
  }
  return row;
}

/** Layout: u32 length of the entry list's JSON | the JSON | the table bytes. */
export function encodeState(applied: readonly Entry[], table: Uint8Array): Uint8Array {
  const json = encoder.encode(`[${applied.map(rowOf).join(",")}]`);
  const data = new Uint8Array(4 + json.byteLength + table.byteLength);
  new DataView(data.buffer).setUint32(0, json.byteLength);
  data.set(json, 4);
  data.set(table, 4 + json.byteLength);
  decoded.set(data, { entries: applied.slice(), table: data.subarray(4 + json.byteLength) });
  return data;
}

/** The state a snapshot's data holds. Throws on data that is not an encoded state (a corrupt snapshot). */
export function decodeState(data: Uint8Array): SimState {
  if (data.byteLength === 0) return { entries: [], table: new Uint8Array(0) }; // the index-0 bootstrap snapshot
  const hit = decoded.get(data);
  if (hit) return hit;
  if (data.byteLength < 4) throw new Error("snapshot data is too short");
  const jsonBytes = new DataView(data.buffer, data.byteOffset, data.byteLength).getUint32(0);
  if (4 + jsonBytes > data.byteLength) throw new Error("snapshot entry list overruns the data");
  const rows = JSON.parse(decoder.decode(data.subarray(4, 4 + jsonBytes))) as unknown;
  if (!Array.isArray(rows)) throw new Error("snapshot data is not an entry list");
  const entries: Entry[] = rows.map((r: unknown, k: number) => {
    if (!Array.isArray(r) || r.length !== 4) throw new Error(`snapshot row ${k} is malformed`);
    const [index, term, kind, base64] = r as EncodedEntry;
    const entryKind: EntryKind = kind === "c" ? "config" : "normal";
    return { index, term, kind: entryKind, data: new Uint8Array(Buffer.from(base64, "base64")) };
  });
  const state: SimState = { entries, table: data.subarray(4 + jsonBytes) };
  decoded.set(data, state);
  return state;
}

/** The entries of a snapshot, checked against its metadata: entries 1..meta.index, the last of meta.term. */
export function snapshotEntries(s: Snapshot): readonly Entry[] {
  const entries = decodeState(s.data).entries;
  if (entries.length !== s.meta.index) throw new Error(`snapshot at ${s.meta.index} holds ${entries.length} entries`);
  const last = entries[entries.length - 1];
  if (last && last.term !== s.meta.term) throw new Error(`snapshot at ${s.meta.index} says term ${s.meta.term}, its last entry has ${last.term}`);
  return entries;
}

/** The membership after applying `e` (config entries only; a malformed one changes nothing, as in the core). */
export function confAfter(conf: ConfState, e: Entry): ConfState {
  if (e.kind !== "config") return conf;
  try {
    return applyConfChange(conf, decodeConfChange(e.data));
  } catch {
    return conf;
  }
}

export function sameConf(a: ConfState, b: ConfState): boolean {
  const eq = (x: readonly string[], y: readonly string[]) => x.length === y.length && [...x].sort().join(",") === [...y].sort().join(",");
  return eq(a.voters, b.voters) && eq(a.learners, b.learners);
}

export function confText(c: ConfState): string {
  return `voters {${c.voters.join(",")}}${c.learners.length > 0 ? ` learners {${c.learners.join(",")}}` : ""}`;
}
