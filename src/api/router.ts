// The HTTP API (README, "HTTP API"). Routing and input validation live here; what each call does lives in the
// node (ApiBackend). Mutating calls check the token before reading the body; every error is
// { error: { code, message } } with the contract's status.
import { stageTrace } from "../node/stage-trace.js";
import type { IncomingMessage, ServerResponse } from "node:http";
import { RaftschedError } from "../util/errors.js";
import { parseTaskWait } from "./task-wait.js";
import { MAX_BODY_BYTES, readJsonBody, sendError, sendJson } from "./http-util.js";
import { sendJsonInSlices, sendJsonText } from "./json-answer-slices.js";
import { yieldIfLarge } from "../node/large-request-yield.js";
import { checkAccess, type AccessRules } from "./access-rules.js";
import { parseScheduleId, type Answer, type TaskLifecycleBackend } from "./task-lifecycle-api.js";
import type { JsonValue, Task } from "../scheduler/types.js";
import type { MemberFacts } from "../raft/types.js";
import {
  MEMBER_ID_RE,
  asObject,
  checkKeys,
  decodeId,
  field,
  parseAddMember,
  parseAttemptBody,
  parseList,
  parseSubmit,
  parseTransfer,
  staleFlag,
  type ListQuery,
  type SubmitInput,
} from "./request-input.js";

export { TASK_ID_RE, jsonField, parseSubmit, type ListQuery, type SubmitInput } from "./request-input.js";

/** What the router needs from a node. Methods throw RaftschedError (or anything with a `code`). */
export interface ApiBackend {
  readonly token: string;
  /** The scheme of the cluster's urls: "https:" when its file has `tls`. Absent: "http:". */
  readonly urlScheme?: "http:" | "https:";
  /** Who may call what (src/api/access-rules.ts). Absent: `token` for mutating calls, reads open. */
  readonly access?: AccessRules;
  status(): unknown;
  /** /healthz's answer; 503 when not ok (a node that was removed). Absent: always { ok: true }. */
  health?(): { ok: boolean; removed?: true };
  /** `answerText`: the leader's answer as it came, when this node forwarded the submit (sent on unchanged). */
  submit(input: SubmitInput, ctx?: RequestContext): Promise<{ created: boolean; task: Task; answerText?: string }>;
  getTask(id: string, stale: boolean, ctx?: RequestContext): Promise<Task | undefined>;
  listTasks(q: ListQuery, stale: boolean, ctx?: RequestContext): Promise<{ tasks: Task[]; next: string | null }>;
  complete(id: string, attempt: number, result: JsonValue | undefined, ctx?: RequestContext): Promise<Task>;
  fail(id: string, attempt: number, error: JsonValue | undefined, ctx?: RequestContext): Promise<Task>;
  cancel(id: string, ctx?: RequestContext): Promise<Task>;
  /** GET /v1/watch: serves the event stream on `res` itself (src/api/watch-stream.ts). */
  watch?(req: IncomingMessage, res: ServerResponse, url: URL): void;
  /** GET /v1/tasks/:id?wait=terminal (src/api/task-wait.ts). */
  waitTask?(id: string, wait: { timeoutMs: number }, stale: boolean, ctx?: RequestContext): Promise<Task | undefined>;
  workers(ctx?: RequestContext): Promise<unknown>;
  /** A worker tells the leader how many aborted handlers still hold its slots (`body`: `{ count }`). */
  reportLingering?(worker: string, body: unknown, ctx?: RequestContext): Promise<unknown>;
  /** A running attempt's progress (`body`: `{ attempt, progress }`), kept by the leader in memory. */
  reportProgress?(id: string, body: unknown, ctx?: RequestContext): Promise<unknown>;
  cluster(ctx?: RequestContext): Promise<unknown>;
  addMember?(id: string, url: string, role: "voter" | "learner", ctx?: RequestContext, facts?: MemberFacts): Promise<{ created: boolean; body: unknown }>;
  removeMember?(id: string, ctx?: RequestContext): Promise<unknown>;
  transferLeader?(to: string | undefined, ctx?: RequestContext): Promise<unknown>;
  /** Chaos fault hook (src/api/fault-hooks.ts); present only when the node runs with RAFTSCHED_ENABLE_FAULTS=1. */
  debugFaults?(body: unknown): Promise<unknown>;
  metrics(): Promise<{ contentType: string; body: string }>;
  dashboard(): string;
  /** GET /v1/snapshot: streams a backup file (src/api/snapshot-download.ts). */
  readonly snapshots?: { serve(res: ServerResponse): Promise<void> };
  /** GET /v1/dashboard/events: the dashboard's own server-sent-events stream (src/dashboard/feed.ts). */
  dashboardEvents?(res: ServerResponse): void;
  /** DELETE /v1/tasks/:id, retry, /v1/schedules (src/api/task-lifecycle-api.ts). Absent: those routes answer 404. */
  readonly lifecycle?: TaskLifecycleBackend;
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

const MUTATING = new Set(["POST", "PUT", "PATCH", "DELETE"]);

export async function handleRequest(api: ApiBackend, req: IncomingMessage, res: ServerResponse): Promise<void> {
  try {
    await (stageTrace ? stageTrace.request(() => route(api, req, res)) : route(api, req, res));
  } catch (err) {
    sendError(res, err);
  }
}

/** What a route's handler gets: the parsed URL, the parsed body (mutating methods), the context, the path's
 *  parameters (already checked: `:id` is a task id, `:member` a member id). */
interface RouteRequest {
  readonly req: IncomingMessage;
  readonly url: URL;
  readonly body: unknown;
  readonly ctx: RequestContext;
  readonly params: Readonly<Record<string, string>>;
}

type Handler = (api: ApiBackend, r: RouteRequest, res: ServerResponse) => Promise<void> | void;

/** One method on one path. `available`: an optional backend call; without it the route answers 404. */
interface MethodRoute {
  readonly run: Handler;
  readonly available?: (api: ApiBackend) => boolean;
}

interface Route {
  /** Segments; ":name" is a parameter. */
  readonly path: string;
  /** By method; "*" takes any method. */
  readonly methods: Readonly<Record<string, MethodRoute>>;
  /** A method the path does not take answers 405 with `Allow` (the path's methods); without it, 404. */
  readonly answers405?: boolean;
}

/** How each path parameter is checked, in one place. */
const PARAMS: Readonly<Record<string, (segment: string) => string>> = {
  id: decodeId,
  member: (segment) => {
    if (!MEMBER_ID_RE.test(segment)) throw field("id", "must be a member id");
    return segment;
  },
  schedule: parseScheduleId,
};

const json =
  (status: number, answer: (api: ApiBackend, r: RouteRequest) => unknown | Promise<unknown>): Handler =>
  async (api, r, res) =>
    await sendJsonInSlices(res, status, await answer(api, r));

/** A lifecycle call (task-lifecycle-api.ts), answered with the status it chose. */
const lifecycle = (call: (l: TaskLifecycleBackend, r: RouteRequest) => Promise<Answer>): MethodRoute => ({
  available: (api) => api.lifecycle !== undefined,
  run: async (api, r, res) => {
    const a = await call(api.lifecycle!, r);
    sendJson(res, a.status, a.body);
  },
});

const ROUTES: readonly Route[] = [
  {
    path: "/",
    answers405: true,
    methods: {
      GET: {
        run: (api, _r, res) => {
          const html = api.dashboard();
          res.writeHead(200, { "content-type": "text/html; charset=utf-8", "content-length": Buffer.byteLength(html) });
          res.end(html);
        },
      },
    },
  },
  {
    path: "/healthz",
    methods: {
      "*": {
        run: (api, _r, res) => {
          const health = api.health?.() ?? { ok: true };
          sendJson(res, health.ok ? 200 : 503, health);
        },
      },
    },
  },
  {
    path: "/metrics",
    methods: {
      "*": {
        run: async (api, _r, res) => {
          const m = await api.metrics();
          res.writeHead(200, { "content-type": m.contentType });
          res.end(m.body);
        },
      },
    },
  },
  { path: "/v1/dashboard/events", methods: { GET: { available: (api) => api.dashboardEvents !== undefined, run: (api, _r, res) => api.dashboardEvents!(res) } } },
  { path: "/v1/status", methods: { GET: { run: json(200, (api) => api.status()) } } },
  // A backup: the admin token even for this GET (access-rules.ts), since the file holds every payload and result.
  {
    path: "/v1/snapshot",
    methods: { GET: { available: (api) => api.snapshots !== undefined, run: (api, _r, res) => api.snapshots!.serve(res) } },
  },
  { path: "/v1/workers", methods: { GET: { run: json(200, (api, r) => api.workers(r.ctx)) } } },
  // A worker's count of aborted handlers still running (src/node/lingering-handlers.ts), told to the leader.
  {
    path: "/v1/workers/:id/lingering",
    methods: { POST: { available: (api) => api.reportLingering !== undefined, run: json(200, (api, r) => api.reportLingering!(r.params.id!, r.body, r.ctx)) } },
  },
  { path: "/v1/cluster", methods: { GET: { run: json(200, (api, r) => api.cluster(r.ctx)) } } },
  {
    path: "/v1/cluster/members",
    methods: {
      POST: {
        available: (api) => api.addMember !== undefined,
        run: async (api, r, res) => {
          const m = parseAddMember(r.body, api.urlScheme);
          const added = await api.addMember!(m.id, m.url, m.role, r.ctx, m.facts);
          sendJson(res, added.created ? 201 : 200, added.body);
        },
      },
    },
  },
  {
    path: "/v1/cluster/members/:member",
    methods: { DELETE: { available: (api) => api.removeMember !== undefined, run: json(200, (api, r) => api.removeMember!(r.params.member!, r.ctx)) } },
  },
  {
    path: "/v1/cluster/transfer-leader",
    methods: { POST: { available: (api) => api.transferLeader !== undefined, run: json(200, (api, r) => api.transferLeader!(parseTransfer(r.body), r.ctx)) } },
  },
  { path: "/v1/debug/faults", methods: { POST: { available: (api) => api.debugFaults !== undefined, run: json(200, (api, r) => api.debugFaults!(r.body)) } } },
  { path: "/v1/watch", methods: { GET: { available: (api) => api.watch !== undefined, run: (api, r, res) => api.watch!(r.req, res, r.url) } } },
  {
    path: "/v1/tasks",
    answers405: true,
    methods: {
      POST: {
        run: async (api, r, res) => {
          const submitted = await api.submit(parseSubmit(r.body), r.ctx);
          // A follower passes the leader's text on; a task answer is serialized in slices (json-answer-slices.ts).
          if (submitted.answerText !== undefined) sendJsonText(res, submitted.created ? 201 : 200, submitted.answerText);
          else await sendJsonInSlices(res, submitted.created ? 201 : 200, submitted.task);
        },
      },
      GET: { run: json(200, (api, r) => api.listTasks(parseList(r.url), staleFlag(r.url), r.ctx)) },
    },
  },
  {
    path: "/v1/tasks/:id",
    answers405: true,
    methods: {
      GET: {
        run: json(200, async (api, r) => {
          const wait = parseTaskWait(r.url);
          const t = wait && api.waitTask ? await api.waitTask(r.params.id!, wait, staleFlag(r.url), r.ctx) : await api.getTask(r.params.id!, staleFlag(r.url), r.ctx);
          if (!t) throw new RaftschedError("NOT_FOUND", `no task "${r.params.id}"`);
          return t;
        }),
      },
      DELETE: lifecycle((l, r) => l.deleteTask(r.params.id!, r.ctx)),
    },
  },
  { path: "/v1/tasks/:id/retry", methods: { POST: lifecycle((l, r) => (checkKeys(asObject(r.body), []), l.retryTask(r.params.id!, r.ctx))) } },
  { path: "/v1/schedules", answers405: true, methods: { POST: lifecycle((l, r) => l.addSchedule(r.body, r.ctx)), GET: lifecycle((l) => l.listSchedules()) } },
  {
    path: "/v1/schedules/:schedule",
    answers405: true,
    methods: { GET: lifecycle((l, r) => l.getSchedule(r.params.schedule!)), DELETE: lifecycle((l, r) => l.removeSchedule(r.params.schedule!, r.ctx)) },
  },
  {
    path: "/v1/tasks/:id/complete",
    methods: {
      POST: {
        run: json(200, (api, r) => {
          const a = parseAttemptBody(r.body, "result");
          return api.complete(r.params.id!, a.attempt, a.value, r.ctx);
        }),
      },
    },
  },
  {
    path: "/v1/tasks/:id/fail",
    methods: {
      POST: {
        run: json(200, (api, r) => {
          const a = parseAttemptBody(r.body, "error");
          return api.fail(r.params.id!, a.attempt, a.value, r.ctx);
        }),
      },
    },
  },
  {
    path: "/v1/tasks/:id/progress",
    methods: { POST: { available: (api) => api.reportProgress !== undefined, run: json(200, (api, r) => api.reportProgress!(r.params.id!, r.body, r.ctx)) } },
  },
  {
    path: "/v1/tasks/:id/cancel",
    methods: {
      POST: {
        run: json(200, (api, r) => {
          checkKeys(asObject(r.body), []);
          return api.cancel(r.params.id!, r.ctx);
        }),
      },
    },
  },
];

/** The segments of each route's path, parsed once. */
const ROUTE_SEGMENTS = new Map(ROUTES.map((r) => [r, r.path.split("/").filter((p) => p.length > 0)]));

/** The route whose path has the shape of `parts` (same length, same literal segments), with its raw parameters. */
function findRoute(parts: readonly string[]): { route: Route; raw: Record<string, string> } | null {
  for (const route of ROUTES) {
    const segments = ROUTE_SEGMENTS.get(route)!;
    if (segments.length !== parts.length) continue;
    const raw: Record<string, string> = {};
    if (segments.every((seg, i) => (seg.startsWith(":") ? ((raw[seg.slice(1)] = parts[i]!), true) : seg === parts[i]))) return { route, raw };
  }
  return null;
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
  // Token first: an unauthenticated caller never gets us to read (or buffer) its body.
  checkAccess(req, method, url.pathname, api.access ?? { token: api.token, readToken: null, authReads: false });
  const forwarded = req.headers[FORWARDED_HEADER] !== undefined;
  const read = MUTATING.has(method) ? await readJsonBody(req, forwarded ? MAX_BODY_BYTES + FORWARDED_EXTRA_BYTES : MAX_BODY_BYTES) : undefined;
  await yieldIfLarge(read?.bytes.length); // a large body's parse and its checks are separate turns (issue 14.3)
  stageTrace?.parsed();
  const ctx: RequestContext = { forwarded, ...(read !== undefined ? { body: read.bytes } : {}) };
  // A task id in the path is checked first, whatever follows it: a bad one is 400, not 404.
  if (parts[0] === "v1" && parts[1] === "tasks" && parts.length >= 3) decodeId(parts[2]!);
  const found = findRoute(parts);
  const noRoute = () => new RaftschedError("NOT_FOUND", `no route for ${method} ${url.pathname}`);
  if (!found) throw noRoute();
  const { route: r, raw } = found;
  const chosen = r.methods[method] ?? r.methods["*"];
  if (!chosen || (chosen.available && !chosen.available(api))) {
    if (r.answers405 && !chosen) throw notAllowed(method, url.pathname, Object.keys(r.methods).sort().join(", "));
    throw noRoute();
  }
  const params: Record<string, string> = {};
  for (const [name, segment] of Object.entries(raw)) params[name] = PARAMS[name]!(segment);
  await chosen.run(api, { req, url, body: read?.value, ctx, params }, res);
}

function notAllowed(method: string, path: string, allow: string): RaftschedError {
  return new RaftschedError("METHOD_NOT_ALLOWED", `${method} is not allowed on ${path} (allowed: ${allow})`, { allow });
}
