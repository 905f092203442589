// Small, allocation-light HTTP helpers: bounded body reading, JSON answers, the error shape of the contract,
// and the bearer-token check that runs before a mutating call's body is read.
import type { IncomingMessage, ServerResponse } from "node:http";
import { bearerTokenMatches } from "../util/bearer.js";
import { RaftschedError, errorCode, errorMessage } from "../util/errors.js";
import { BODY_IDLE_TIMEOUT_MS, processBodyBudget, type BodyBudget } from "./body-budget.js";
import { timedStage } from "../util/loop-block-trace.js";
import { SLICED_PARSE_FROM_CHARS, parseJsonInSlices } from "./json-parse-slices.js";

/** The contract's request body limit. */
export const MAX_BODY_BYTES = 1024 * 1024;

/** Which HTTP status each stable error code answers with. */
const STATUS_BY_CODE: Record<string, number> = {
  BAD_JSON: 400,
  BAD_REQUEST: 400,
  BAD_FIELD: 400,
  UNAUTHORIZED: 401,
  FORBIDDEN: 403,
  NOT_FOUND: 404,
  METHOD_NOT_ALLOWED: 405,
  STALE_ATTEMPT: 409,
  ID_REUSED: 409,
  CONFLICT: 409,
  INVALID_STATE: 409,
  REQUEST_TIMEOUT: 408,
  // Membership changes refused for the cluster's present state (src/node/reconfig-check.ts).
  LEARNER_NOT_READY: 409,
  UNSAFE_RECONFIG: 409,
  BODY_TOO_LARGE: 413,
  UNSUPPORTED_MEDIA_TYPE: 415,
  NOT_LEADER: 503,
  NO_LEADER: 503,
  NOT_READY: 503,
  OVERLOADED: 503,
  SHUTTING_DOWN: 503,
  TRANSFER_IN_PROGRESS: 503,
  CONF_CHANGE_IN_PROGRESS: 503,
  READ_TIMEOUT: 503,
  NOT_COMMITTED: 503,
  NODE_FAILED: 503,
  OUTCOME_UNKNOWN: 504,
  TIMEOUT: 504,
  PROPOSAL_TOO_LARGE: 413,
  INVALID_CONF_CHANGE: 400,
  // The state machine's own refusal (encodeCommand on the leader). Client input is checked before that with the
  // API's codes (a payload nested too deep is BAD_FIELD); anything that still reaches it came from the request.
  BAD_COMMAND: 400,
  // transfer-leader with no other voter to hand over to: the cluster's current shape makes the call impossible.
  NO_TARGET: 409,
  // GET /v1/watch and ?wait=terminal at their per-node limits (watch-stream.ts, task-wait.ts).
  WATCHERS_FULL: 503,
  WAITERS_FULL: 503,
};

export function statusForCode(code: string): number {
  return STATUS_BY_CODE[code] ?? 500;
}

export function sendJson(res: ServerResponse, status: number, body: unknown, headers?: Record<string, string>): void {
  const text = JSON.stringify(body);
  res.writeHead(status, {
    "content-type": "application/json; charset=utf-8",
    "content-length": Buffer.byteLength(text),
    ...headers,
  });
  res.end(text);
}

export function sendError(res: ServerResponse, err: unknown): void {
  const code = errorCode(err) ?? "INTERNAL";
  const status = statusForCode(code);
  const headers: Record<string, string> = {};
  // Clients should come back once an election has had time to finish.
  if (status === 503) headers["retry-after"] = "1";
  // A body left half-read (stalled, or refused for the body budget) leaves the connection unusable.
  if (err instanceof RaftschedError && err.details?.closeConnection === true) headers.connection = "close";
  // 405: the methods the path does take (RFC 9110 §15.5.6).
  if (err instanceof RaftschedError && typeof err.details?.allow === "string") headers.allow = err.details.allow;
  if (err instanceof RaftschedError && typeof err.details?.wwwAuthenticate === "string") headers["www-authenticate"] = err.details.wwwAuthenticate;
  const body: { error: { code: string; message: string; leaderId?: string | null } } = {
    error: { code, message: status === 500 ? `internal error: ${errorMessage(err)}` : errorMessage(err) },
  };
  // 409 for a task in the wrong state names the state (DELETE of a live task, retry of a live one).
  if (err instanceof RaftschedError && typeof err.details?.state === "string") (body.error as Record<string, unknown>).state = err.details.state;
  if (err && typeof err === "object" && "leaderId" in err) body.error.leaderId = (err as { leaderId: string | null }).leaderId;
  if (res.headersSent) {
    res.destroy();
    return;
  }
  sendJson(res, status, body, headers);
}

/** A request body: the bytes as received and the JSON value they parse to. */
export interface JsonBody {
  readonly bytes: Buffer;
  readonly value: unknown;
}

/** Reads a JSON body of at most `limitBytes`. An empty body is `undefined`. The bytes count against the
 *  process's body budget while they are read (503 OVERLOADED past it), and a body that stalls for
 *  BODY_IDLE_TIMEOUT_MS is refused with 408 REQUEST_TIMEOUT (src/api/body-budget.ts). */
export async function readJsonBody(
  req: IncomingMessage,
  limitBytes = MAX_BODY_BYTES,
  budget: BodyBudget = processBodyBudget,
): Promise<JsonBody | undefined> {
  const declared = Number(req.headers["content-length"]);
  if (Number.isFinite(declared) && declared > limitBytes) {
    req.resume();
    throw new RaftschedError("BODY_TOO_LARGE", `request body is ${declared} bytes; the limit is ${limitBytes}`);
  }
  let held = 0;
  try {
    // Plain 'data'/'end' listeners: the async iterator costs a promise per chunk on the hot path.
    const { chunks, size } = await new Promise<{ chunks: Buffer[]; size: number }>((resolve, reject) => {
      const parts: Buffer[] = [];
      let total = 0;
      let over = false;
      const stop = (err: RaftschedError, closeConnection: boolean): void => {
        over = true;
        clearTimeout(idle);
        budget.give(held);
        held = 0;
        parts.length = 0; // let the bytes go now, not when the request object does
        // The rest of the body will never be read, so the connection cannot carry another request: the answer
        // says "connection: close" (sendError) and Node closes it once written.
        reject(closeConnection ? new RaftschedError(err.code, err.message, { closeConnection: true }) : err);
      };
      const stalled = (): void =>
        stop(new RaftschedError("REQUEST_TIMEOUT", `the request body sent nothing for ${BODY_IDLE_TIMEOUT_MS} ms; send it whole`), true);
      const idle = setTimeout(stalled, BODY_IDLE_TIMEOUT_MS);
      req.on("data", (buf: Buffer) => {
        if (over) return;
        idle.refresh();
        total += buf.length;
        if (total > limitBytes) {
          // keep draining so the 413 can be written on this connection
          stop(new RaftschedError("BODY_TOO_LARGE", `request body passed the limit of ${limitBytes} bytes`), false);
          return;
        }
        if (!budget.tryTake(buf.length)) {
          stop(new RaftschedError("OVERLOADED", `this node is buffering ${budget.limitBytes} bytes of request bodies already; retry shortly`), true);
          return;
        }
        held += buf.length;
        parts.push(buf);
      });
      req.once("end", () => {
        clearTimeout(idle);
        if (!over) resolve({ chunks: parts, size: total });
      });
      req.once("error", (err) => {
        if (!over) stop(new RaftschedError("BAD_REQUEST", `request body could not be read: ${errorMessage(err)}`), true);
      });
      req.once("close", () => {
        if (!over && !req.complete) stop(new RaftschedError("BAD_REQUEST", "the connection closed before the body was complete"), true);
      });
    });
    if (size === 0) return undefined;
    const bytes = Buffer.concat(chunks, size);
    return { bytes, value: await parseBody(bytes) };
  } finally {
    // The budget is for bodies being read (the ones a stalled client can pin); a complete body is handed on.
    budget.give(held);
  }
}

/** Refuses (401 UNAUTHORIZED) a call whose Authorization header is not `Bearer <token>`; the rule is the one the
 *  peer transport uses too (src/util/bearer.ts). */
export function requireToken(req: IncomingMessage, token: string): void {
  if (!bearerTokenMatches(req.headers.authorization, token)) {
    throw new RaftschedError("UNAUTHORIZED", "missing or wrong token: send Authorization: Bearer <cluster token>");
  }
}

/** A body's JSON value; a large body in slices (json-parse-slices.ts), so the event loop turns meanwhile (issue 14.3). */
async function parseBody(bytes: Buffer): Promise<unknown> {
  try {
    const text = bytes.toString("utf8");
    return text.length < SLICED_PARSE_FROM_CHARS ? timedStage("body JSON.parse", () => JSON.parse(text) as unknown, bytes.length) : await parseJsonInSlices(text);
  } catch (err) {
    throw new RaftschedError("BAD_JSON", `body is not valid JSON: ${errorMessage(err)}`);
  }
}
