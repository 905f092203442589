// The member facts `POST /v1/cluster/members` accepts besides id, url and role: what a node has in the cluster
// file (`capacity`, `worker`), so a member added at runtime is not silently given the defaults.
import type { MemberFacts } from "../raft/types.js";
import { RaftschedError } from "../util/errors.js";

const MAX_CAPACITY = 100_000;

export function parseMemberFacts(o: Record<string, unknown>): MemberFacts {
  const { capacity, worker } = o;
  if (capacity !== undefined && !(Number.isInteger(capacity) && (capacity as number) >= 0 && (capacity as number) <= MAX_CAPACITY)) {
    throw new RaftschedError("BAD_FIELD", `capacity: must be an integer from 0 to ${MAX_CAPACITY}`);
  }
  if (worker !== undefined && typeof worker !== "boolean") throw new RaftschedError("BAD_FIELD", "worker: must be true or false");
  return { ...(capacity !== undefined ? { capacity: capacity as number } : {}), ...(worker !== undefined ? { worker } : {}) };
}
