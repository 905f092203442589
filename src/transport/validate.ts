// Strict validation of a decoded peer frame. A frame comes off the network as `unknown` (msgpackr will happily
// produce Dates, Sets, BigInts, typed arrays, records...), and only a value that is exactly one of the Message
// shapes of src/raft/types.ts, with every field in range and the Raft-level invariants a correct sender always
// satisfies, may reach the core. Everything else is refused with a reason naming the offending field.
//
// Unknown fields are refused rather than ignored: the cluster runs one version, and a frame carrying fields we do
// not understand is more likely corruption or a confused peer than a newer one. The result is a fresh object
// holding only known fields, with binary data as plain Uint8Array views (msgpackr gives Buffers), so what the
// core receives round-trips exactly and owns no surprising prototype or extra property.
import type { ConfState, Entry, EntryKind, Message, MessageType, NodeId, Snapshot, SnapshotMeta } from "../raft/types.js";
import { MESSAGE_TYPES } from "../raft/types.js";
import { MAX_CONTEXT_CHARS, MAX_ENTRIES_PER_FRAME, MAX_MEMBERS, MAX_NODE_ID_CHARS } from "./limits.js";

export type ValidationResult = { readonly ok: true; readonly message: Message } | { readonly ok: false; readonly reason: string };

/** Thrown only inside this file; validateMessage turns it into a result. */
export class Invalid extends Error {}

export type Fields = Record<string, unknown>;

const MESSAGE_TYPE_SET: ReadonlySet<string> = new Set<string>(MESSAGE_TYPES);

const BASE_KEYS = ["type", "from", "to", "term"] as const;
/** The fields each message type may carry besides the base ones (optional ones included). */
const KEYS_BY_TYPE: Readonly<Record<MessageType, readonly string[]>> = {
  vote: ["lastLogIndex", "lastLogTerm", "transfer"],
  preVote: ["lastLogIndex", "lastLogTerm", "transfer"],
  voteResp: ["reject"],
  preVoteResp: ["reject"],
  append: ["prevLogIndex", "prevLogTerm", "entries", "commit"],
  appendResp: ["index", "reject", "rejectHint", "logTerm"],
  heartbeat: ["commit", "context"],
  heartbeatResp: ["context"],
  snapshot: ["snapshot"],
  timeoutNow: [],
  readIndex: ["context"],
  readIndexResp: ["context", "index"],
};
const ALLOWED_KEYS_BY_TYPE: Readonly<Record<string, ReadonlySet<string>>> = Object.fromEntries(
  Object.entries(KEYS_BY_TYPE).map(([type, keys]) => [type, new Set<string>([...BASE_KEYS, ...keys])]),
);
const ENTRY_KEYS: ReadonlySet<string> = new Set(["term", "index", "kind", "data"]);
const SNAPSHOT_KEYS: ReadonlySet<string> = new Set(["meta", "data"]);
const META_KEYS: ReadonlySet<string> = new Set(["index", "term", "conf"]);
const CONF_KEYS: ReadonlySet<string> = new Set(["voters", "learners"]);

export function validateMessage(value: unknown): ValidationResult {
  try {
    return { ok: true, message: readMessage(value) };
  } catch (err) {
    if (err instanceof Invalid) return { ok: false, reason: err.message };
    // A bug here must not let a frame through, nor escape to the socket loop.
    return { ok: false, reason: `validator failed: ${err instanceof Error ? err.message : String(err)}` };
  }
}

function readMessage(value: unknown): Message {
  const o = plainObject(value, "frame");
  const type = o["type"];
  if (typeof type !== "string" || !MESSAGE_TYPE_SET.has(type)) {
    throw new Invalid(`type: expected one of ${MESSAGE_TYPES.join("|")}, got ${describe(type)}`);
  }
  const messageType = type as MessageType;
  onlyKeys(o, ALLOWED_KEYS_BY_TYPE[messageType] as ReadonlySet<string>, "frame");
  const from = nodeId(o["from"], "from");
  const to = nodeId(o["to"], "to");
  if (from === to) throw new Invalid(`from and to are both ${JSON.stringify(from)}`);
  const term = nat(o["term"], "term");
  const base = { from, to, term };

  switch (messageType) {
    case "vote":
    case "preVote":
      return readVote(o, messageType, base);
    case "voteResp":
    case "preVoteResp":
      return { type: messageType, ...base, reject: bool(o["reject"], "reject") };
    case "append":
      return readAppend(o, base);
    case "appendResp": {
      const index = nat(o["index"], "index");
      const reject = bool(o["reject"], "reject");
      const rejectHint = optional(o, "rejectHint", nat);
      const logTerm = optional(o, "logTerm", nat);
      return {
        type: "appendResp",
        ...base,
        index,
        reject,
        ...(rejectHint === undefined ? {} : { rejectHint }),
        ...(logTerm === undefined ? {} : { logTerm }),
      };
    }
    case "heartbeat": {
      const commit = nat(o["commit"], "commit");
      const context = optional(o, "context", contextString);
      return { type: "heartbeat", ...base, commit, ...(context === undefined ? {} : { context }) };
    }
    case "heartbeatResp": {
      const context = optional(o, "context", contextString);
      return { type: "heartbeatResp", ...base, ...(context === undefined ? {} : { context }) };
    }
    case "snapshot":
      return { type: "snapshot", ...base, snapshot: snapshot(o["snapshot"], term) };
    case "timeoutNow":
      return { type: "timeoutNow", ...base };
    case "readIndex":
      return { type: "readIndex", ...base, context: contextString(o["context"], "context") };
    case "readIndexResp":
      return {
        type: "readIndexResp",
        ...base,
        context: contextString(o["context"], "context"),
        index: nat(o["index"], "index"),
      };
  }
}

type Base = { from: NodeId; to: NodeId; term: number };

function readVote(o: Record<string, unknown>, type: "vote" | "preVote", base: Base): Message {
  const lastLogIndex = nat(o["lastLogIndex"], "lastLogIndex");
  const lastLogTerm = nat(o["lastLogTerm"], "lastLogTerm");
  if (lastLogIndex === 0 && lastLogTerm !== 0) throw new Invalid(`lastLogTerm ${lastLogTerm} for an empty log`);
  if (lastLogTerm > base.term) throw new Invalid(`lastLogTerm ${lastLogTerm} above term ${base.term}`);
  const transfer = optional(o, "transfer", bool);
  return { type, ...base, lastLogIndex, lastLogTerm, ...(transfer === undefined ? {} : { transfer }) };
}

function readAppend(o: Record<string, unknown>, base: Base): Message {
  const prevLogIndex = nat(o["prevLogIndex"], "prevLogIndex");
  const prevLogTerm = nat(o["prevLogTerm"], "prevLogTerm");
  if (prevLogIndex === 0 && prevLogTerm !== 0) throw new Invalid(`prevLogTerm ${prevLogTerm} at prevLogIndex 0`);
  if (prevLogTerm > base.term) throw new Invalid(`prevLogTerm ${prevLogTerm} above term ${base.term}`);
  const entries = entryList(o["entries"], prevLogIndex, prevLogTerm, base.term);
  const commit = nat(o["commit"], "commit");
  return { type: "append", ...base, prevLogIndex, prevLogTerm, entries, commit };
}

/** Entries must continue the log right after prevLogIndex, one index apart, with terms that never go down and
 *  never exceed the sender's term: a leader's log always looks like that (§5.3, Log Matching). */
function entryList(value: unknown, prevLogIndex: number, prevLogTerm: number, term: number): Entry[] {
  if (!Array.isArray(value)) throw new Invalid(`entries: expected an array, got ${describe(value)}`);
  if (value.length > MAX_ENTRIES_PER_FRAME) {
    throw new Invalid(`entries: ${value.length} entries, at most ${MAX_ENTRIES_PER_FRAME} per frame`);
  }
  const entries: Entry[] = new Array<Entry>(value.length);
  let expectedIndex = prevLogIndex + 1;
  let lowestTerm = prevLogTerm;
  for (let i = 0; i < value.length; i++) {
    const e: unknown = value[i];
    // Hot path (512 entries per append by default): check without building path strings; on any doubt, rerun
    // the descriptive checks below, which name the field.
    if (isPlainObject(e) && hasOnlyEntryKeys(e)) {
      const { term: entryTerm, index, kind, data } = e as { term: unknown; index: unknown; kind: unknown; data: unknown };
      if (
        index === expectedIndex &&
        typeof entryTerm === "number" &&
        Number.isSafeInteger(entryTerm) &&
        entryTerm >= 1 &&
        entryTerm >= lowestTerm &&
        entryTerm <= term &&
        (kind === "normal" || kind === "config") &&
        data instanceof Uint8Array
      ) {
        entries[i] = { term: entryTerm, index, kind, data: bytes(data, "") };
        expectedIndex++;
        lowestTerm = entryTerm;
        continue;
      }
    }
    entries[i] = describedEntry(e, `entries[${i}]`, expectedIndex, lowestTerm, term);
    expectedIndex++;
    lowestTerm = (entries[i] as Entry).term;
  }
  if (!Number.isSafeInteger(expectedIndex)) throw new Invalid("entries: indexes overflow the safe integer range");
  return entries;
}

/** The slow, descriptive twin of the hot-path checks in entryList: throws naming the first offending field. */
function describedEntry(value: unknown, path: string, expectedIndex: number, lowestTerm: number, term: number): Entry {
  const e = plainObject(value, path);
  onlyKeys(e, ENTRY_KEYS, path);
  const entryTerm = nat(e["term"], `${path}.term`);
  const index = nat(e["index"], `${path}.index`);
  if (index !== expectedIndex) throw new Invalid(`${path}.index: expected ${expectedIndex}, got ${index}`);
  if (entryTerm < 1) throw new Invalid(`${path}.term: entries are created in term 1 or later, got 0`);
  if (entryTerm < lowestTerm) throw new Invalid(`${path}.term: ${entryTerm} is below the preceding term ${lowestTerm}`);
  if (entryTerm > term) throw new Invalid(`${path}.term: ${entryTerm} is above the message term ${term}`);
  return { term: entryTerm, index, kind: entryKind(e["kind"], `${path}.kind`), data: bytes(e["data"], `${path}.data`) };
}

function isPlainObject(value: unknown): value is Fields {
  if (typeof value !== "object" || value === null) return false;
  const proto: unknown = Object.getPrototypeOf(value);
  return proto === Object.prototype || proto === null;
}

function hasOnlyEntryKeys(o: Fields): boolean {
  let count = 0;
  for (const key in o) {
    if (!Object.hasOwn(o, key)) continue; // inherited enumerable keys cannot come from msgpackr
    if (!ENTRY_KEYS.has(key)) return false;
    count++;
  }
  return count <= ENTRY_KEYS.size;
}

function snapshot(value: unknown, term: number): Snapshot {
  const s = plainObject(value, "snapshot");
  onlyKeys(s, SNAPSHOT_KEYS, "snapshot");
  return { meta: snapshotMeta(s["meta"], term, "snapshot.meta"), data: bytes(s["data"], "snapshot.data") };
}

/** A snapshot's metadata, sent by a sender in `term`. Exported for the snapshot chunk frames. */
export function snapshotMeta(value: unknown, term: number, path: string): SnapshotMeta {
  const m = plainObject(value, path);
  onlyKeys(m, META_KEYS, path);
  const index = nat(m["index"], `${path}.index`);
  const metaTerm = nat(m["term"], `${path}.term`);
  // Index 0 is the bootstrap snapshot (term 0): it carries only the first membership, and is what a leader sends
  // a member that joined with an empty data dir before the leader ever compacted its log.
  if ((index === 0) !== (metaTerm === 0)) {
    throw new Invalid(`${path}: index ${index} with term ${metaTerm} (only the bootstrap snapshot has index 0, and it has term 0)`);
  }
  if (metaTerm > term) throw new Invalid(`${path}.term: ${metaTerm} is above the message term ${term}`);
  const conf = confState(m["conf"], `${path}.conf`);
  return { index, term: metaTerm, conf };
}

function confState(value: unknown, path: string): ConfState {
  const c = plainObject(value, path);
  onlyKeys(c, CONF_KEYS, path);
  const voters = nodeIdList(c["voters"], `${path}.voters`);
  const learners = nodeIdList(c["learners"], `${path}.learners`);
  if (voters.length === 0) throw new Invalid(`${path}.voters: a configuration needs at least one voter`);
  const seen = new Set<string>();
  for (const id of [...voters, ...learners]) {
    if (seen.has(id)) throw new Invalid(`${path}: ${JSON.stringify(id)} is listed twice`);
    seen.add(id);
  }
  return { voters, learners };
}

function nodeIdList(value: unknown, path: string): NodeId[] {
  if (!Array.isArray(value)) throw new Invalid(`${path}: expected an array, got ${describe(value)}`);
  if (value.length > MAX_MEMBERS) throw new Invalid(`${path}: ${value.length} members, at most ${MAX_MEMBERS}`);
  return value.map((id: unknown, i) => nodeId(id, `${path}[${i}]`));
}

// ---- leaf readers (exported for snapshot-frames.ts, which validates the transport's own frame kinds) ---------

export function plainObject(value: unknown, path: string): Fields {
  if (typeof value !== "object" || value === null || Array.isArray(value)) {
    throw new Invalid(`${path}: expected an object, got ${describe(value)}`);
  }
  const proto: unknown = Object.getPrototypeOf(value);
  if (proto !== Object.prototype && proto !== null) {
    throw new Invalid(`${path}: expected a plain object, got ${describe(value)}`);
  }
  return value as Fields;
}

export function onlyKeys(o: Fields, allowed: ReadonlySet<string>, path: string): void {
  for (const key of Object.keys(o)) {
    if (!allowed.has(key)) throw new Invalid(`${path}: unknown field ${JSON.stringify(key.slice(0, 64))}`);
  }
}

/** An optional field: absent and `undefined` both mean "not set". */
export function optional<T>(o: Fields, key: string, read: (value: unknown, path: string) => T): T | undefined {
  if (!Object.hasOwn(o, key) || o[key] === undefined) return undefined;
  return read(o[key], key);
}

/** Terms and indexes stay far below 2^53: a peer that announced term 2^53 - 1 would push a node to a term whose
 *  successor is not representable, wedging it for good. 2^48 terms is ~9,000 years of an election per second. */
export const MAX_TERM_OR_INDEX = 2 ** 48;

export function nat(value: unknown, path: string): number {
  if (typeof value !== "number" || !Number.isSafeInteger(value) || value < 0) {
    throw new Invalid(`${path}: expected a non-negative safe integer, got ${describe(value)}`);
  }
  if (value > MAX_TERM_OR_INDEX) throw new Invalid(`${path}: ${value} is above the limit of 2^48`);
  return value === 0 ? 0 : value; // folds -0 into 0
}

export function bool(value: unknown, path: string): boolean {
  if (typeof value !== "boolean") throw new Invalid(`${path}: expected a boolean, got ${describe(value)}`);
  return value;
}

export function nodeId(value: unknown, path: string): NodeId {
  if (typeof value !== "string" || value.length === 0 || value.length > MAX_NODE_ID_CHARS) {
    throw new Invalid(`${path}: expected a node id of 1-${MAX_NODE_ID_CHARS} characters, got ${describe(value)}`);
  }
  return value;
}

function contextString(value: unknown, path: string): string {
  if (typeof value !== "string" || value.length > MAX_CONTEXT_CHARS) {
    throw new Invalid(`${path}: expected a string of at most ${MAX_CONTEXT_CHARS} characters, got ${describe(value)}`);
  }
  return value;
}

function entryKind(value: unknown, path: string): EntryKind {
  if (value !== "normal" && value !== "config") {
    throw new Invalid(`${path}: expected "normal" or "config", got ${describe(value)}`);
  }
  return value;
}

/** Binary data as a plain Uint8Array view over the same memory (no copy; Buffer is a Uint8Array subclass). */
export function bytes(value: unknown, path: string): Uint8Array {
  if (!(value instanceof Uint8Array)) throw new Invalid(`${path}: expected binary data, got ${describe(value)}`);
  return value.constructor === Uint8Array ? value : new Uint8Array(value.buffer, value.byteOffset, value.byteLength);
}

/** A short, safe description of an offending value for the reason string (never the whole value). */
export function describe(value: unknown): string {
  if (value === null) return "null";
  if (Array.isArray(value)) return `an array of ${value.length}`;
  switch (typeof value) {
    case "string":
      return value.length > 40 ? `a string of ${value.length} characters` : JSON.stringify(value);
    case "number":
    case "boolean":
    case "undefined":
      return String(value);
    case "bigint":
      return `bigint ${value.toString().slice(0, 40)}`;
    case "object": {
      const name: unknown = (Object.getPrototypeOf(value) as { constructor?: { name?: unknown } } | null)?.constructor?.name;
      return typeof name === "string" && name !== "Object" ? `a ${name.slice(0, 40)}` : "an object";
    }
    default:
      return `a ${typeof value}`;
  }
}
