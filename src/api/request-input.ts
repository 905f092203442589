// Request input as the HTTP API reads it: bodies, query strings and path segments, each checked in one place
// (the router's table uses these, and the node's API checks again what the embedding API passes in directly).
// Every refusal is a RaftschedError with the contract's code (BAD_REQUEST, BAD_FIELD).
import { RaftschedError } from "../util/errors.js";
import { findJsonProblem } from "../scheduler/json-value.js";
import type { JsonValue, TaskState } from "../scheduler/types.js";
import { TASK_STATES } from "../scheduler/types.js";
import { memberUrlProblem } from "../node/member-url.js";
import { parseMemberFacts } from "./member-facts-input.js";
import { listOrder } from "./list-order.js";
import { TASK_FIELD_KEYS, parseTaskFields } from "./task-fields-input.js";
import type { MemberFacts } from "../raft/types.js";

export const TASK_ID_RE = /^[A-Za-z0-9._:-]{1,128}$/;
export const MEMBER_ID_RE = /^[A-Za-z0-9._:-]{1,64}$/;

export interface SubmitInput {
  readonly id?: string;
  readonly payload: JsonValue;
  readonly maxAttempts: number;
  readonly priority: number;
  /** The same id with another body: "return" answers 200 with the existing task (the contract's default),
   *  "reject" answers 409 ID_REUSED, for a client that would rather hear that its id was already taken. */
  readonly onIdReuse?: "return" | "reject";
  /** CONTRACT "Task fields added" (src/scheduler/task-fields.ts); absent: the defaults. */
  readonly requires?: readonly string[];
  readonly timeoutMs?: number;
  readonly runAt?: number;
  /** Relative to the leader's clock: the leader turns it into runAt when it proposes. */
  readonly delayMs?: number;
}

export interface ListQuery {
  readonly state?: TaskState;
  readonly worker?: string;
  readonly limit: number;
  readonly after?: string;
  /** "updated": the most recently updated tasks, newest first (one page, no cursor). */
  readonly order?: "id" | "updated";
}

export function field(where: string, msg: string): RaftschedError {
  return new RaftschedError("BAD_FIELD", `${where}: ${msg}`);
}

/** A JSON value the client sent as `name` (payload, result, error): at most MAX_JSON_DEPTH levels deep, finite
 *  numbers only (JSON.parse reads 1e400 as Infinity). Refused here with BAD_FIELD, on whichever node the request
 *  arrives, before anything is forwarded or proposed: the state machine's BAD_COMMAND is not a client answer. */
export function jsonField(name: string, value: unknown): JsonValue {
  const problem = findJsonProblem(value, name);
  if (problem === null) return value as JsonValue;
  throw field(name, problem.kind === "depth" ? problem.reason : `${problem.reason} (at ${problem.path})`);
}

export function asObject(body: unknown): Record<string, unknown> {
  if (body === undefined) return {};
  if (typeof body !== "object" || body === null || Array.isArray(body)) throw new RaftschedError("BAD_REQUEST", "the body must be a JSON object");
  return body as Record<string, unknown>;
}

export function checkKeys(o: Record<string, unknown>, allowed: readonly string[]): void {
  for (const k of Object.keys(o)) {
    if (!allowed.includes(k)) throw field(k, allowed.length > 0 ? `unknown field (allowed: ${allowed.join(", ")})` : "unknown field (this request takes no body fields)");
  }
}

function intIn(o: Record<string, unknown>, key: string, min: number, max: number, def?: number): number {
  const v = o[key];
  if (v === undefined) {
    if (def === undefined) throw field(key, "is required");
    return def;
  }
  if (typeof v !== "number" || !Number.isSafeInteger(v) || v < min || v > max) throw field(key, `must be an integer from ${min} to ${max}`);
  return v;
}

/** What parseSubmit returned: the router checks a body, then NodeApi.submit (which embedding calls directly) checks
 *  its input again; walking a 1 MiB payload twice is tens of ms on a loaded box for nothing (issue 14.3). */
const checkedSubmits = new WeakSet<object>();

export function parseSubmit(body: unknown, nowMs = Date.now()): SubmitInput {
  if (typeof body === "object" && body !== null && checkedSubmits.has(body)) return body as SubmitInput;
  const input = parseSubmitBody(body, nowMs);
  checkedSubmits.add(input);
  return input;
}

function parseSubmitBody(body: unknown, nowMs: number): SubmitInput {
  const o = asObject(body);
  checkKeys(o, ["id", "payload", "maxAttempts", "priority", "onIdReuse", ...TASK_FIELD_KEYS]);
  if (o.onIdReuse !== undefined && o.onIdReuse !== "return" && o.onIdReuse !== "reject") throw field("onIdReuse", 'must be "return" or "reject"');
  let id: string | undefined;
  if (o.id !== undefined) {
    if (typeof o.id !== "string" || !TASK_ID_RE.test(o.id)) throw field("id", "must be 1–128 characters of [A-Za-z0-9._:-]");
    // URLs treat "." and ".." as path segments (every client normalizes /v1/tasks/.. to /v1/), so a task with
    // such an id could be created but never read, completed or cancelled.
    if (o.id === "." || o.id === "..") throw field("id", `"${o.id}" cannot be addressed in a URL; use another id`);
    id = o.id;
  }
  if (!("payload" in o)) throw field("payload", "is required (any JSON value)");
  return {
    ...(id !== undefined ? { id } : {}),
    payload: jsonField("payload", o.payload),
    maxAttempts: intIn(o, "maxAttempts", 1, 100, 3),
    priority: intIn(o, "priority", -1_000_000, 1_000_000, 0),
    ...(o.onIdReuse === "reject" ? { onIdReuse: "reject" as const } : {}),
    ...parseTaskFields(o, nowMs),
  };
}

export function parseAttemptBody(body: unknown, extra: string): { attempt: number; value: JsonValue | undefined } {
  const o = asObject(body);
  checkKeys(o, ["attempt", extra]);
  const attempt = intIn(o, "attempt", 1, Number.MAX_SAFE_INTEGER);
  return { attempt, value: o[extra] === undefined ? undefined : jsonField(extra, o[extra]) };
}

export function parseList(url: URL): ListQuery {
  const q = url.searchParams;
  for (const k of q.keys()) if (!["state", "worker", "limit", "after", "stale", "order"].includes(k)) throw field(k, "unknown query parameter");
  const state = q.get("state") || undefined;
  if (state !== undefined && !(TASK_STATES as readonly string[]).includes(state)) throw field("state", `must be one of ${TASK_STATES.join(", ")}`);
  const limitText = q.get("limit");
  let limit = 100;
  if (limitText !== null && limitText !== "") {
    limit = Number(limitText);
    if (!Number.isInteger(limit) || limit < 1 || limit > 1000) throw field("limit", "must be an integer from 1 to 1000");
  }
  const after = q.get("after") || undefined;
  if (after !== undefined && !TASK_ID_RE.test(after)) throw field("after", "must be a task id");
  const worker = q.get("worker") || undefined;
  if (worker !== undefined && !MEMBER_ID_RE.test(worker)) throw field("worker", "must be a member id");
  const order = listOrder(q.get("order"), after);
  return { ...(state ? { state: state as TaskState } : {}), ...(worker ? { worker } : {}), limit, ...(after ? { after } : {}), ...(order ? { order } : {}) };
}

export function staleFlag(url: URL): boolean {
  const s = url.searchParams.get("stale");
  if (s === null || s === "false" || s === "0") return false;
  if (s === "true" || s === "1" || s === "") return true;
  throw field("stale", "must be true or false");
}

export function decodeId(segment: string): string {
  let id: string;
  try {
    id = decodeURIComponent(segment);
  } catch {
    throw new RaftschedError("BAD_REQUEST", "malformed percent-encoding in the path");
  }
  if (!TASK_ID_RE.test(id)) throw field("id", "must be 1–128 characters of [A-Za-z0-9._:-]");
  return id;
}

export function parseAddMember(body: unknown, scheme: "http:" | "https:" = "http:"): { id: string; url: string; role: "voter" | "learner"; facts: MemberFacts } {
  const o = asObject(body);
  checkKeys(o, ["id", "url", "role", "capacity", "worker", "tags"]);
  if (typeof o.id !== "string" || !MEMBER_ID_RE.test(o.id)) throw field("id", "must be 1–64 characters of [A-Za-z0-9._:-]");
  if (typeof o.url !== "string") throw field("url", `must be ${scheme}//host:port`);
  const urlProblem = memberUrlProblem(o.url, scheme);
  if (urlProblem !== null) throw field("url", urlProblem);
  const role = o.role ?? "learner";
  if (role !== "voter" && role !== "learner") throw field("role", 'must be "voter" or "learner"');
  return { id: o.id, url: o.url.replace(/\/$/, ""), role, facts: parseMemberFacts(o) };
}

export function parseTransfer(body: unknown): string | undefined {
  const o = asObject(body);
  checkKeys(o, ["to"]);
  if (o.to !== undefined && (typeof o.to !== "string" || !MEMBER_ID_RE.test(o.to))) throw field("to", "must be a member id");
  return o.to as string | undefined;
}
