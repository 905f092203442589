// The simulated state machine: the list of entries a node applied, in order, and the membership they imply.
// A snapshot's data is the encoding of that list at the snapshot index, so a node restored from a snapshot holds
// exactly the entries it covers, and the checkers compare a restored state entry by entry with what was
// committed (a wrong snapshot shows up as a state machine safety violation, not as silence).
import { applyConfChange, decodeConfChange } from "../../src/raft/confchange.js";
import type { ConfState, Entry, EntryKind, Snapshot } from "../../src/raft/types.js";

const encoder = new TextEncoder();
const decoder = new TextDecoder();

/** Encoded entry: [index, term, kind ("n" | "c"), payload text]. Every payload in the simulator is UTF-8 text. */
type EncodedEntry = [number, number, "n" | "c", string];

/** Decoding the same snapshot bytes twice gives the same entries: snapshots travel by reference in the simulator,
 *  so the cache keeps a leader's repeated sends from costing a parse each. */
const decoded = new WeakMap<Uint8Array, readonly Entry[]>();

export function encodeState(applied: readonly Entry[]): Uint8Array {
  const rows: EncodedEntry[] = applied.map((e) => [e.index, e.term, e.kind === "config" ? "c" : "n", decoder.decode(e.data)]);
  const data = encoder.encode(JSON.stringify(rows));
  decoded.set(data, applied.slice());
  return data;
}

/** The entries a snapshot's data holds. Throws on data that is not an encoded state (a corrupt snapshot). */
export function decodeState(data: Uint8Array): readonly Entry[] {
  if (data.byteLength === 0) return []; // the index-0 bootstrap snapshot: membership only, empty state
  const hit = decoded.get(data);
  if (hit) return hit;
  const rows = JSON.parse(decoder.decode(data)) as unknown;
  if (!Array.isArray(rows)) throw new Error("snapshot data is not an entry list");
  const out: Entry[] = rows.map((r: unknown, k: number) => {
    if (!Array.isArray(r) || r.length !== 4) throw new Error(`snapshot row ${k} is malformed`);
    const [index, term, kind, text] = r as EncodedEntry;
    const entryKind: EntryKind = kind === "c" ? "config" : "normal";
    return { index, term, kind: entryKind, data: encoder.encode(text) };
  });
  decoded.set(data, out);
  return out;
}

/** The entries of a snapshot, checked against its metadata: entries 1..meta.index, the last of meta.term. */
export function snapshotEntries(s: Snapshot): readonly Entry[] {
  const entries = decodeState(s.data);
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
