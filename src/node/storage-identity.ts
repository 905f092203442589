// Which disk each peer is. Raft assumes a voter never loses its storage: a node whose data dir was wiped and that
// restarts from the cluster file would vote with an empty log and a forgotten vote, so a second failure could
// elect a leader without a committed entry (or two leaders in a term). The node itself cannot tell a wiped data
// dir from a first start; its peers can.
//
// Every data dir gets a random storage id when it is first used (`storage-id`). Every node remembers, durably, the
// storage id each peer presented the first time it connected (`peer-storage-ids.json`). A peer that presents a
// different id lost its disk: the transport refuses its connections (409 STORAGE_REPLACED), so none of its
// votes or acknowledgements reach anyone (a node sends only on its own outbound connections). The operator's way
// back is the one README "Deploying" step 6 gives: `raftsched member remove <id>` (which makes every member forget
// the old id), start the node with `--join`, `raftsched member add <id>`.
//
// Files are written rarely (once per peer, and at removals): write to a temporary file, fsync, rename, fsync the
// directory, so a crash leaves the old file or the new one, never a torn one.
import { randomBytes } from "node:crypto";
import { closeSync, existsSync, fsyncSync, openSync, readFileSync, renameSync, writeFileSync } from "node:fs";
import path from "node:path";
import { STORAGE_ID_PATTERN } from "../transport/auth.js";
import { RaftschedError } from "../util/errors.js";

export const STORAGE_ID_FILE = "storage-id";
export const PEER_STORAGE_IDS_FILE = "peer-storage-ids.json";
/** Peers remembered at most (a cluster file allows far fewer members; this bounds a hostile or corrupt file). */
const MAX_REMEMBERED_PEERS = 10_000;

export type IdentityVerdict =
  | { readonly verdict: "known" }
  /** Never seen before: now remembered. */
  | { readonly verdict: "first" }
  /** The peer presents another disk than the one it had. */
  | { readonly verdict: "replaced"; readonly known: string };

export class StorageIdentity {
  private constructor(
    private readonly dir: string,
    /** This data dir's id. */
    readonly selfStorageId: string,
    private readonly peers: Map<string, string>,
  ) {}

  /** Reads (or, for a data dir without one, creates) this node's storage id and the peers it remembers. Throws
   *  RaftschedError STORAGE_CORRUPT when a file exists but is not what this module writes. */
  static open(dataDir: string): StorageIdentity {
    const idFile = path.join(dataDir, STORAGE_ID_FILE);
    let selfId: string;
    if (existsSync(idFile)) {
      selfId = readFileSync(idFile, "utf8").trim();
      if (!STORAGE_ID_PATTERN.test(selfId)) throw new RaftschedError("STORAGE_CORRUPT", `${idFile} does not hold a storage id`);
    } else {
      selfId = randomBytes(16).toString("hex");
      writeDurably(dataDir, STORAGE_ID_FILE, `${selfId}\n`);
    }
    const peers = new Map<string, string>();
    const peersFile = path.join(dataDir, PEER_STORAGE_IDS_FILE);
    if (existsSync(peersFile)) {
      let parsed: unknown;
      try {
        parsed = JSON.parse(readFileSync(peersFile, "utf8"));
      } catch (err) {
        throw new RaftschedError("STORAGE_CORRUPT", `${peersFile} is not JSON: ${(err as Error).message}`);
      }
      if (typeof parsed !== "object" || parsed === null || Array.isArray(parsed)) {
        throw new RaftschedError("STORAGE_CORRUPT", `${peersFile} is not a map of node id to storage id`);
      }
      const entries = Object.entries(parsed as Record<string, unknown>);
      if (entries.length > MAX_REMEMBERED_PEERS) throw new RaftschedError("STORAGE_CORRUPT", `${peersFile} names more than ${MAX_REMEMBERED_PEERS} peers`);
      for (const [peer, id] of entries) {
        if (typeof id !== "string" || !STORAGE_ID_PATTERN.test(id)) {
          throw new RaftschedError("STORAGE_CORRUPT", `${peersFile}: the storage id of ${JSON.stringify(peer)} is malformed`);
        }
        peers.set(peer, id);
      }
    }
    return new StorageIdentity(dataDir, selfId, peers);
  }

  /** Compares what `peer` presents with what this node remembers; remembers it (durably) on first contact. */
  check(peer: string, storageId: string): IdentityVerdict {
    const known = this.peers.get(peer);
    if (known === storageId) return { verdict: "known" };
    if (known !== undefined) return { verdict: "replaced", known };
    if (this.peers.size >= MAX_REMEMBERED_PEERS) throw new RaftschedError("LIMIT", `more than ${MAX_REMEMBERED_PEERS} peers remembered`);
    this.peers.set(peer, storageId);
    this.save();
    return { verdict: "first" };
  }

  /** The member left the cluster: a node of that id may come back with a new disk. */
  forget(peer: string): void {
    if (this.peers.delete(peer)) this.save();
  }

  /** Forgets every peer not in `members` (a membership change, applied from an entry or a snapshot). */
  retainOnly(members: Iterable<string>): void {
    const keep = new Set(members);
    let changed = false;
    for (const peer of [...this.peers.keys()]) {
      if (!keep.has(peer)) {
        this.peers.delete(peer);
        changed = true;
      }
    }
    if (changed) this.save();
  }

  /** The storage id remembered for `peer`, if any. */
  knownId(peer: string): string | undefined {
    return this.peers.get(peer);
  }

  private save(): void {
    const sorted = Object.fromEntries([...this.peers.entries()].sort((a, b) => (a[0] < b[0] ? -1 : a[0] > b[0] ? 1 : 0)));
    writeDurably(this.dir, PEER_STORAGE_IDS_FILE, `${JSON.stringify(sorted, null, 2)}\n`);
  }
}

function writeDurably(dir: string, name: string, text: string): void {
  const tmp = path.join(dir, `${name}.tmp`);
  writeFileSync(tmp, text);
  const fd = openSync(tmp, "r+");
  try {
    fsyncSync(fd);
  } finally {
    closeSync(fd);
  }
  renameSync(tmp, path.join(dir, name));
  const dirFd = openSync(dir, "r");
  try {
    fsyncSync(dirFd);
  } finally {
    closeSync(dirFd);
  }
}
