// What one replica knows of the membership beyond the core's voters and learners: each member's url and the facts
// its runtime addition carried, and the configuration at the last entry applied here. The core changes its own
// configuration only in advance(), after a whole batch; two config entries in one batch must not compute the
// second from the configuration before the first, so the replica tracks the applied one itself.
import type { ClusterFile } from "../config/cluster-file.js";
import { applyConfChange, decodeConfChange } from "../raft/confchange.js";
import type { ConfChange, ConfState, MemberFacts, NodeId } from "../raft/types.js";
import type { MemoryStorage } from "../storage/memory.js";
import { factsOf, workerCapacities } from "./member-facts.js";
import { latestConfInLog, membersOfEither } from "./rejoin-leave-decision.js";
import type { NodeSnapshotData } from "./snapshot-data.js";

export class ReplicaMembership {
  /** Member id → url: the cluster file's nodes, then whatever membership changes say. */
  readonly urls = new Map<string, string>();
  /** Member id → the capacity/worker flag its runtime addition carried (member-facts.ts). */
  readonly facts = new Map<string, MemberFacts>();
  private appliedConf: ConfState = { voters: [], learners: [] };

  constructor(
    private readonly cfg: ClusterFile,
    /** The core's configuration (read while none has been applied here yet). */
    private readonly coreConf: () => ConfState,
    private readonly storage: () => MemoryStorage,
  ) {
    for (const n of cfg.nodes) this.urls.set(n.id, n.url);
  }

  /** A snapshot replaced the state machine: its configuration holds, its urls and facts are added. */
  restored(conf: ConfState, d: Pick<NodeSnapshotData, "memberUrls" | "memberFacts">): void {
    this.appliedConf = conf;
    for (const [id, url] of d.memberUrls) this.urls.set(id, url);
    for (const [id, facts] of d.memberFacts ?? []) this.facts.set(id, facts);
  }

  /** Applies a config entry's change; throws when the entry does not decode (the core ignores those too). */
  apply(data: Uint8Array): { change: ConfChange; conf: ConfState } {
    const change = decodeConfChange(data);
    if (change.op !== "remove" && change.url) this.urls.set(change.id, change.url);
    const facts = change.op === "remove" ? null : factsOf(change);
    if (facts) this.facts.set(change.id, facts);
    else if (change.op === "remove") this.facts.delete(change.id);
    this.appliedConf = applyConfChange(this.applied(), change);
    return { change, conf: this.appliedConf };
  }

  /** The configuration at the applied index. A --join node's first snapshot from the leader is the bootstrap one at
   *  index 0, which the core takes (its configuration) but the runner does not restore (nothing to replace): until
   *  a configuration is applied here the core's is the one to use. A configuration with no voter exists only then. */
  applied(): ConfState {
    return this.appliedConf.voters.length > 0 ? this.appliedConf : this.coreConf();
  }

  /** The configuration of the last config entry in the stored log after `index` (`conf`, which holds there, if none). */
  latestAfter(conf: ConfState, index: number): ConfState {
    const storage = this.storage();
    const from = Math.max(index + 1, storage.firstIndex());
    const last = storage.lastIndex();
    return from > last ? conf : latestConfInLog(conf, storage.entries(from, last + 1));
  }

  /** The members of `conf` (holding at `index`) or of the latest configuration in the log after it: a replayed
   *  removal that a later entry undoes drops neither link nor remembered disk (rejoin-leave-decision.ts). */
  membersAround(conf: ConfState, index: number): Set<NodeId> {
    return membersOfEither(conf, this.latestAfter(conf, index));
  }

  /** Peer id → url for the given member ids, without `selfId` and without members whose url is unknown. */
  peerUrls(members: Iterable<NodeId>, selfId: NodeId): Map<NodeId, string> {
    const peers = new Map<NodeId, string>();
    for (const id of members) {
      const url = this.urls.get(id);
      if (id !== selfId && url) peers.set(id, url);
    }
    return peers;
  }

  /** Members that run tasks, with their capacity (the replicated facts, the file, the default). */
  workerCapacities(): Map<string, number> {
    return workerCapacities(this.coreConf(), this.cfg.nodes, this.facts);
  }
}
