// What a node's snapshot holds: the task table and the member urls. The core's ConfState knows member ids only;
// a member added at runtime has its url in its config entry, and once that entry is compacted away the url must
// live in the snapshot, or a node restarted from it could not reach that member.
import { Packr } from "msgpackr";
import { RaftschedError } from "../util/errors.js";

const FORMAT_VERSION = 1;
const packr = new Packr({ useRecords: false, structuredClone: false });

export interface NodeSnapshotData {
  /** id → url, sorted by id so every replica writes the same bytes. */
  readonly memberUrls: ReadonlyMap<string, string>;
  readonly table: Uint8Array;
}

export function encodeSnapshotData(d: NodeSnapshotData): Uint8Array {
  const urls = [...d.memberUrls.entries()].sort((a, b) => (a[0] < b[0] ? -1 : a[0] > b[0] ? 1 : 0));
  return packr.pack([FORMAT_VERSION, urls, d.table]);
}

/** Empty data (a never-written snapshot) is an empty table with no urls. */
export function decodeSnapshotData(bytes: Uint8Array): NodeSnapshotData {
  if (bytes.byteLength === 0) return { memberUrls: new Map(), table: new Uint8Array(0) };
  let v: unknown;
  try {
    v = packr.unpack(bytes);
  } catch (err) {
    throw new RaftschedError("SNAPSHOT_CORRUPT", `snapshot data does not decode: ${(err as Error).message}`);
  }
  if (!Array.isArray(v) || v[0] !== FORMAT_VERSION || !Array.isArray(v[1]) || !(v[2] instanceof Uint8Array)) {
    throw new RaftschedError("SNAPSHOT_CORRUPT", "snapshot data has an unknown layout");
  }
  const memberUrls = new Map<string, string>();
  for (const pair of v[1] as unknown[]) {
    if (!Array.isArray(pair) || typeof pair[0] !== "string" || typeof pair[1] !== "string") {
      throw new RaftschedError("SNAPSHOT_CORRUPT", "snapshot member url list is malformed");
    }
    memberUrls.set(pair[0], pair[1]);
  }
  return { memberUrls, table: v[2] };
}
