// The HTTP API (README, "HTTP API"). Routing and input validation live here; what each call does lives in the
// node (ApiBackend). Mutating calls check the token before reading the body; every error is
// { error: { code, message } } with the contract's status.
import type { IncomingMessage, ServerResponse } from "node:http";
import { RaftschedError } from "../util/errors.js";
import { MAX_BODY_BYTES, readJsonBody, requireToken, sendError, sendJson } from "./http-util.js";
import { findJsonProblem } from "../scheduler/json-value.js";
import type { JsonValue, Task, TaskState } from "../scheduler/types.js";
import { TASK_STATES } from "../scheduler/types.js";
import { memberUrlProblem } from "../node/member-url.js";
import { parseMemberFacts } from "./member-facts-input.js";
import { listOrder } from "./list-order.js";
import type { MemberFacts } from "../raft/types.js";

export const TASK_ID_RE = /^[A-Za-z0-9._:-]{1,128}$/;
const MEMBER_ID_RE = /^[A-Za-z0-9._:-]{1,64}$/;

export interface SubmitInput {
  readonly id?: string;
  readonly payload: JsonValue;
  readonly maxAttempts: number;
  readonly priority: number;
  /** The same id with another body: "return" answers 200 with the existing task (the contract's default),
   *  "reject" answers 409 ID_REUSED, for a client that would rather hear that its id was already taken. */
  readonly onIdReuse?: "return" | "reject";
}

export interface ListQuery {
  readonly state?: TaskState;
  readonly worker?: string;
  readonly limit: number;
  readonly after?: string;
  /** "updated": the most recently updated tasks, newest first (one page, no cursor). */
  readonly order?: "id" | "updated";
}

/** What the router needs from a node. Methods throw RaftschedError (or anything with a `code`). */
export interface ApiBackend {
  readonly token: string;
  status(): unknown;
  /** /healthz's answer; 503 when not ok (a node that was removed). Absent: always { ok: true }. */
  health?(): { ok: boolean; removed?: true };
  submit(input: SubmitInput, ctx?: RequestContext): Promise<{ created: boolean; task: Task }>;
  getTask(id: string, stale: boolean, ctx?: RequestContext): Promise<Task | undefined>;
  listTasks(q: ListQuery, stale: boolean, ctx?: RequestContext): Promise<{ tasks: Task[]; next: string | null }>;
  complete(id: string, attempt: number, result: JsonValue | undefined, ctx?: RequestContext): Promise<Task>;
  fail(id: string, attempt: number, error: JsonValue | undefined, ctx?: RequestContext): Promise<Task>;
  cancel(id: string, ctx?: RequestContext): Promise<Task>;
  workers(ctx?: RequestContext): Promise<unknown>;
  cluster(ctx?: RequestContext): Promise<unknown>;
  addMember?(id: string, url: string, role: "voter" | "learner", ctx?: RequestContext, facts?: MemberFacts): Promise<{ created: boolean; body: unknown }>;
  removeMember?(id: string, ctx?: RequestContext): Promise<unknown>;
  transferLeader?(to: string | undefined, ctx?: RequestContext): Promise<unknown>;
  /** Chaos fault hook (src/api/fault-hooks.ts); present only when the node runs with RAFTSCHED_ENABLE_FAULTS=1. */
  debugFaults?(body: unknown): Promise<unknown>;
  metrics(): Promise<{ contentType: string; body: string }>;
  dashboard(): string;
}

/** Per-request facts the backend needs: a request a follower already forwarded is never forwarded again. */
export interface RequestContext {
  readonly forwarded: boolean;
  /** The request's body as received. A follower forwards these bytes, not a re-serialization of the parsed
   *  value, which can be several times larger (1e20 comes back as 100000000000000000000, each invalid UTF-8
   *  byte as the three bytes of U+FFFD) and pass the body limit on the leader for a body the client kept under it. */
  readonly body?: Buffer;
}

export const FORWARDED_HEADER = "x-raftsched-forwarded";

/** What a forwarded request may carry beyond MAX_BODY_BYTES: the id submitBodyWithId adds. */
const FORWARDED_EXTRA_BYTES = Buffer.byteLength('"id":"",') + 128;

/** A submit's body as a follower forwards it: the client's bytes, with the id this node fixed added in front
 *  when the client sent none (the body parsed to an object holding a payload, so only whitespace precedes its
 *  "{" and a member follows it). */
export function submitBodyWithId(bytes: Buffer, clientId: string | undefined, id: string): Buffer {
  if (clientId !== undefined) return bytes;
  const open = bytes.indexOf(0x7b);
  return Buffer.concat([bytes.subarray(0, open + 1), Buffer.from(`"id":${JSON.stringify(id)},`), bytes.subarray(open + 1)]);
}

function field(where: string, msg: string): RaftschedError {
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

function asObject(body: unknown): Record<string, unknown> {
  if (body === undefined) return {};
  if (typeof body !== "object" || body === null || Array.isArray(body)) throw new RaftschedError("BAD_REQUEST", "the body must be a JSON object");
  return body as Record<string, unknown>;
}

function checkKeys(o: Record<string, unknown>, allowed: readonly string[]): void {
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

export function parseSubmit(body: unknown): SubmitInput {
  const o = asObject(body);
  checkKeys(o, ["id", "payload", "maxAttempts", "priority", "onIdReuse"]);
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
  };
}

function parseAttemptBody(body: unknown, extra: string): { attempt: number; value: JsonValue | undefined } {
  const o = asObject(body);
  checkKeys(o, ["attempt", extra]);
  const attempt = intIn(o, "attempt", 1, Number.MAX_SAFE_INTEGER);
  return { attempt, value: o[extra] === undefined ? undefined : jsonField(extra, o[extra]) };
}

function parseList(url: URL): ListQuery {
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

function staleFlag(url: URL): boolean {
  const s = url.searchParams.get("stale");
  if (s === null || s === "false" || s === "0") return false;
  if (s === "true" || s === "1" || s === "") return true;
  throw field("stale", "must be true or false");
}

function decodeId(segment: string): string {
  let id: string;
  try {
    id = decodeURIComponent(segment);
  } catch {
    throw new RaftschedError("BAD_REQUEST", "malformed percent-encoding in the path");
  }
  if (!TASK_ID_RE.test(id)) throw field("id", "must be 1–128 characters of [A-Za-z0-9._:-]");
  return id;
}

const MUTATING = new Set(["POST", "PUT", "PATCH", "DELETE"]);

export async function handleRequest(api: ApiBackend, req: IncomingMessage, res: ServerResponse): Promise<void> {
  try {
    await route(api, req, res);
  } catch (err) {
    sendError(res, err);
  }
}

async function route(api: ApiBackend, req: IncomingMessage, res: ServerResponse): Promise<void> {
  const method = req.method ?? "GET";
  let url: URL;
  try {
    url = new URL(req.url ?? "/", "http://localhost");
  } catch {
    throw new RaftschedError("BAD_REQUEST", "malformed request URL");
  }
  const parts = url.pathname.split("/").filter((p) => p.length > 0);
  if (MUTATING.has(method)) {
    // Token first: an unauthenticated caller never gets us to read (or buffer) its body.
    requireToken(req, api.token);
  }
  const forwarded = req.headers[FORWARDED_HEADER] !== undefined;
  const read = MUTATING.has(method) ? await readJsonBody(req, forwarded ? MAX_BODY_BYTES + FORWARDED_EXTRA_BYTES : MAX_BODY_BYTES) : undefined;
  const body = read?.value;
  const p0 = parts[0];
  const ctx: RequestContext = { forwarded, ...(read !== undefined ? { body: read.bytes } : {}) };

  if (parts.length === 0) {
    if (method !== "GET") throw notAllowed(method, url.pathname, "GET");
    const html = api.dashboard();
    res.writeHead(200, { "content-type": "text/html; charset=utf-8", "content-length": Buffer.byteLength(html) });
    res.end(html);
    return;
  }
  if (p0 === "healthz" && parts.length === 1) {
    const health = api.health?.() ?? { ok: true };
    sendJson(res, health.ok ? 200 : 503, health);
    return;
  }
  if (p0 === "metrics" && parts.length === 1) {
    const m = await api.metrics();
    res.writeHead(200, { "content-type": m.contentType });
    res.end(m.body);
    return;
  }
  if (p0 !== "v1") throw new RaftschedError("NOT_FOUND", `no route for ${method} ${url.pathname}`);
  const [, p1, p2, p3, p4] = parts;

  switch (p1) {
    case "status":
      if (parts.length !== 2 || method !== "GET") break;
      sendJson(res, 200, api.status());
      return;
    case "workers":
      if (parts.length !== 2 || method !== "GET") break;
      sendJson(res, 200, await api.workers(ctx));
      return;
    case "cluster":
      if (parts.length === 2 && method === "GET") {
        sendJson(res, 200, await api.cluster(ctx));
        return;
      }
      if (p2 === "members" && parts.length === 3 && method === "POST" && api.addMember) {
        const o = asObject(body);
        checkKeys(o, ["id", "url", "role", "capacity", "worker"]);
        if (typeof o.id !== "string" || !MEMBER_ID_RE.test(o.id)) throw field("id", "must be 1–64 characters of [A-Za-z0-9._:-]");
        if (typeof o.url !== "string") throw field("url", "must be http://host:port");
        const urlProblem = memberUrlProblem(o.url);
        if (urlProblem !== null) throw field("url", urlProblem);
        const role = o.role ?? "learner";
        if (role !== "voter" && role !== "learner") throw field("role", 'must be "voter" or "learner"');
        const r = await api.addMember(o.id, o.url.replace(/\/$/, ""), role, ctx, parseMemberFacts(o));
        sendJson(res, r.created ? 201 : 200, r.body);
        return;
      }
      if (p2 === "members" && p3 && parts.length === 4 && method === "DELETE" && api.removeMember) {
        if (!MEMBER_ID_RE.test(p3)) throw field("id", "must be a member id");
        sendJson(res, 200, await api.removeMember(p3, ctx));
        return;
      }
      if (p2 === "transfer-leader" && parts.length === 3 && method === "POST" && api.transferLeader) {
        const o = asObject(body);
        checkKeys(o, ["to"]);
        if (o.to !== undefined && (typeof o.to !== "string" || !MEMBER_ID_RE.test(o.to))) throw field("to", "must be a member id");
        sendJson(res, 200, await api.transferLeader(o.to as string | undefined, ctx));
        return;
      }
      break;
    case "debug":
      if (p2 === "faults" && parts.length === 3 && method === "POST" && api.debugFaults) {
        sendJson(res, 200, await api.debugFaults(body));
        return;
      }
      break;
    case "tasks": {
      if (parts.length === 2) {
        if (method === "POST") {
          const input = parseSubmit(body);
          const r = await api.submit(input, ctx);
          sendJson(res, r.created ? 201 : 200, r.task);
          return;
        }
        if (method === "GET") {
          sendJson(res, 200, await api.listTasks(parseList(url), staleFlag(url), ctx));
          return;
        }
        throw notAllowed(method, url.pathname, "GET, POST");
      }
      const id = decodeId(p2!);
      if (parts.length === 3) {
        if (method !== "GET") throw notAllowed(method, url.pathname, "GET");
        const t = await api.getTask(id, staleFlag(url), ctx);
        if (!t) throw new RaftschedError("NOT_FOUND", `no task "${id}"`);
        sendJson(res, 200, t);
        return;
      }
      if (parts.length === 4 && method === "POST" && p4 === undefined) {
        if (p3 === "complete") {
          const a = parseAttemptBody(body, "result");
          sendJson(res, 200, await api.complete(id, a.attempt, a.value, ctx));
          return;
        }
        if (p3 === "fail") {
          const a = parseAttemptBody(body, "error");
          sendJson(res, 200, await api.fail(id, a.attempt, a.value, ctx));
          return;
        }
        if (p3 === "cancel") {
          checkKeys(asObject(body), []);
          sendJson(res, 200, await api.cancel(id, ctx));
          return;
        }
      }
      break;
    }
  }
  throw new RaftschedError("NOT_FOUND", `no route for ${method} ${url.pathname}`);
}

function notAllowed(method: string, path: string, allow: string): RaftschedError {
  return new RaftschedError("METHOD_NOT_ALLOWED", `${method} is not allowed on ${path} (allowed: ${allow})`, { allow });
}
