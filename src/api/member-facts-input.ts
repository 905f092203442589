// The member facts `POST /v1/cluster/members` accepts besides id, url and role: what a node has in the cluster
// file (`capacity`, `worker`, `tags`), so a member added at runtime is not silently given the defaults.
import type { MemberFacts } from "../raft/types.js";
import { RaftschedError } from "../util/errors.js";
import { MAX_TAGS, TAG_PATTERN } from "./worker-protocol.js";

const MAX_CAPACITY = 100_000;

export function parseMemberFacts(o: Record<string, unknown>): MemberFacts {
  const { capacity, worker, tags } = o;
  if (capacity !== undefined && !(Number.isInteger(capacity) && (capacity as number) >= 0 && (capacity as number) <= MAX_CAPACITY)) {
    throw new RaftschedError("BAD_FIELD", `capacity: must be an integer from 0 to ${MAX_CAPACITY}`);
  }
  if (worker !== undefined && typeof worker !== "boolean") throw new RaftschedError("BAD_FIELD", "worker: must be true or false");
  if (tags !== undefined && !(Array.isArray(tags) && tags.length <= MAX_TAGS && tags.every((t) => typeof t === "string" && TAG_PATTERN.test(t)))) {
    throw new RaftschedError("BAD_FIELD", `tags: must be at most ${MAX_TAGS} strings of 1-64 characters of [A-Za-z0-9._:-]`);
  }
  // Sorted and without repeats, as the cluster file's: the same set is the same fact.
  const sortedTags = tags === undefined ? undefined : [...new Set(tags as string[])].sort();
  return {
    ...(capacity !== undefined ? { capacity: capacity as number } : {}),
    ...(worker !== undefined ? { worker } : {}),
    ...(sortedTags !== undefined ? { tags: sortedTags } : {}),
  };
}
