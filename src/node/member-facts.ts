// What the node knows of each member beyond its id and url: its capacity, whether it runs tasks, and its worker
// tags. The cluster file says it for the members it lists; a member added at runtime (POST /v1/cluster/members
// with `capacity`, `worker`, `tags`) has it in its config entry, replicated like its url and kept in the snapshot once the entry is
// compacted. The replicated facts win over the file (the log is the truth after boot), then the file, then the
// contract's defaults.
import type { ConfState, MemberFacts } from "../raft/types.js";
import type { NodeSpec } from "../config/cluster-file.js";

export const DEFAULT_MEMBER_CAPACITY = 4;

/** Members that run tasks → their capacity. Pure: the same inputs give every replica the same map. */
export function workerCapacities(
  conf: ConfState,
  fileNodes: readonly Pick<NodeSpec, "id" | "capacity" | "worker">[],
  replicated: ReadonlyMap<string, MemberFacts>,
): Map<string, number> {
  const out = new Map<string, number>();
  for (const id of [...conf.voters, ...conf.learners]) {
    const facts = replicated.get(id);
    const file = fileNodes.find((n) => n.id === id);
    const worker = facts?.worker ?? file?.worker ?? true;
    if (!worker) continue;
    out.set(id, facts?.capacity ?? file?.capacity ?? DEFAULT_MEMBER_CAPACITY);
  }
  return out;
}

/** A member's worker tags, sorted: the replicated ones (a runtime addition's), else the file's, else none. */
export function memberTags(id: string, fileNodes: readonly Pick<NodeSpec, "id" | "tags">[], replicated: ReadonlyMap<string, MemberFacts>): readonly string[] {
  const tags = replicated.get(id)?.tags ?? fileNodes.find((n) => n.id === id)?.tags ?? [];
  return [...new Set(tags)].sort();
}

/** The facts an addition carries, if any (so an addition without them leaves what is known). */
export function factsOf(cc: MemberFacts): MemberFacts | null {
  if (cc.capacity === undefined && cc.worker === undefined && cc.tags === undefined) return null;
  return {
    ...(cc.capacity !== undefined ? { capacity: cc.capacity } : {}),
    ...(cc.worker !== undefined ? { worker: cc.worker } : {}),
    ...(cc.tags !== undefined ? { tags: [...cc.tags] } : {}),
  };
}
