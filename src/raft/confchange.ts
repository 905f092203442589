// Membership changes, one server at a time (dissertation §4.1). A change travels as a "config" entry whose data
// is the JSON of a ConfChange, and takes effect when the entry is applied (as in etcd).
import type { ConfChange, ConfState, MemberFacts, NodeId } from "./types.js";
import { RaftError } from "./types.js";

const MAX_ID_LENGTH = 128;

export function encodeConfChange(cc: ConfChange): Uint8Array {
  return new TextEncoder().encode(JSON.stringify(cc));
}

/** Parses a config entry's data; throws RaftError INVALID_CONF_CHANGE for anything that is not a ConfChange. */
export function decodeConfChange(data: Uint8Array): ConfChange {
  let v: unknown;
  try {
    v = JSON.parse(new TextDecoder().decode(data));
  } catch {
    throw new RaftError("INVALID_CONF_CHANGE", "config entry is not JSON");
  }
  if (typeof v !== "object" || v === null) throw new RaftError("INVALID_CONF_CHANGE", "config entry is not an object");
  const o = v as Record<string, unknown>;
  const id = o["id"];
  if (typeof id !== "string" || id.length === 0 || id.length > MAX_ID_LENGTH) {
    throw new RaftError("INVALID_CONF_CHANGE", "config entry has no valid id");
  }
  const url = o["url"];
  if (url !== undefined && typeof url !== "string") throw new RaftError("INVALID_CONF_CHANGE", "url must be a string");
  const facts = memberFactsOf(o);
  switch (o["op"]) {
    case "addVoter":
      return { op: "addVoter", id, ...(url === undefined ? {} : { url }), ...facts };
    case "addLearner":
      return { op: "addLearner", id, ...(url === undefined ? {} : { url }), ...facts };
    case "remove":
      return { op: "remove", id };
    default:
      throw new RaftError("INVALID_CONF_CHANGE", `unknown conf change op ${String(o["op"])}`);
  }
}

const MAX_MEMBER_CAPACITY = 100_000;
/** As the cluster file's node "tags" and a task's `requires`: at most 32 of 1-64 characters of [A-Za-z0-9._:-]. */
const MAX_MEMBER_TAGS = 32;
const TAG_RE = /^[A-Za-z0-9._:-]{1,64}$/;

/** The optional member facts of an addition; a malformed one makes the entry invalid, as a malformed url does. */
function memberFactsOf(o: Record<string, unknown>): MemberFacts {
  const capacity = o["capacity"];
  const worker = o["worker"];
  if (capacity !== undefined && !(Number.isInteger(capacity) && (capacity as number) >= 0 && (capacity as number) <= MAX_MEMBER_CAPACITY)) {
    throw new RaftError("INVALID_CONF_CHANGE", "capacity must be an integer from 0 to 100000");
  }
  if (worker !== undefined && typeof worker !== "boolean") throw new RaftError("INVALID_CONF_CHANGE", "worker must be a boolean");
  const tags = o["tags"];
  if (tags !== undefined && !(Array.isArray(tags) && tags.length <= MAX_MEMBER_TAGS && tags.every((t) => typeof t === "string" && TAG_RE.test(t)))) {
    throw new RaftError("INVALID_CONF_CHANGE", `tags must be at most ${MAX_MEMBER_TAGS} strings of [A-Za-z0-9._:-]`);
  }
  return {
    ...(capacity !== undefined ? { capacity: capacity as number } : {}),
    ...(worker !== undefined ? { worker } : {}),
    ...(tags !== undefined ? { tags: [...(tags as string[])] } : {}),
  };
}

/** Why `cc` makes no sense against `conf`, or null when it is acceptable. Checked at proposal time. */
export function confChangeProblem(conf: ConfState, cc: ConfChange): string | null {
  const isVoter = conf.voters.includes(cc.id);
  const isLearner = conf.learners.includes(cc.id);
  switch (cc.op) {
    case "addVoter":
      return isVoter ? `${cc.id} is already a voter` : null;
    case "addLearner":
      if (isLearner) return `${cc.id} is already a learner`;
      if (isVoter) return `${cc.id} is a voter; demotion is not supported`;
      return null;
    case "remove":
      if (!isVoter && !isLearner) return `${cc.id} is not a member`;
      if (isVoter && conf.voters.length === 1) return "cannot remove the last voter";
      return null;
  }
}

/** The configuration after `cc`. Total and idempotent: applying a change twice, or a change that no longer
 *  makes sense, never throws (a committed entry must always apply the same way on every replica). */
export function applyConfChange(conf: ConfState, cc: ConfChange): ConfState {
  const without = (ids: readonly NodeId[]): NodeId[] => ids.filter((x) => x !== cc.id);
  switch (cc.op) {
    case "addVoter":
      return { voters: [...without(conf.voters), cc.id], learners: without(conf.learners) };
    case "addLearner":
      if (conf.voters.includes(cc.id)) return conf; // demotion unsupported (refused at proposal)
      return { voters: [...conf.voters], learners: [...without(conf.learners), cc.id] };
    case "remove":
      // Never leave a configuration without voters: such a cluster could not make progress ever again.
      if (conf.voters.length === 1 && conf.voters[0] === cc.id) return conf;
      return { voters: without(conf.voters), learners: without(conf.learners) };
  }
}
