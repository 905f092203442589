// The one JSON-over-HTTP call of the project's clients: request built the same way (JSON body, the cluster token
// as `Authorization: Bearer`, GET without a body and POST with one unless told), one timeout over the whole call
// (connecting, headers and body), and the answer's body parsed as JSON, kept as text when it is not JSON, null
// when empty. It never throws: a failure comes back as a value saying whether it happened before any answer
// ("connect": fetch itself failed) or while the body was read ("body": the status was seen, the body was not).
//
// Two thin wrappers sit on it, because their callers want opposite things from a failure:
// - src/cli/http-client.ts `httpJson` (the CLI: status, member, up, demo) throws RaftschedError UNREACHABLE with
//   a short reason, and hands back the answer's headers;
// - src/chaos/http.ts `requestJson` (the chaos checker) never throws and classifies a failure as refused / timeout /
//   reset, since its history must tell "certainly not done" from "may have been done".
import { clusterFetch } from "../tls/cluster-fetch.js";

export interface JsonCallOptions {
  readonly method?: string;
  readonly body?: unknown;
  readonly token?: string;
  readonly timeoutMs: number;
  /** An answer body longer than this many characters is dropped (read as empty, so `body` is null). */
  readonly maxAnswerChars?: number;
}

export type JsonCallResult =
  | { readonly ok: true; readonly status: number; readonly body: unknown; readonly headers: Headers }
  | { readonly ok: false; readonly phase: "connect" | "body"; readonly error: unknown };

export async function callJson(url: string, opts: JsonCallOptions): Promise<JsonCallResult> {
  const headers: Record<string, string> = {};
  if (opts.body !== undefined) headers["content-type"] = "application/json";
  if (opts.token) headers.authorization = `Bearer ${opts.token}`;
  let res: Response;
  try {
    res = await clusterFetch(url, {
      method: opts.method ?? (opts.body === undefined ? "GET" : "POST"),
      headers,
      ...(opts.body !== undefined ? { body: JSON.stringify(opts.body) } : {}),
      // One signal for the whole call: it also aborts a body that stops arriving after the headers.
      signal: AbortSignal.timeout(opts.timeoutMs),
    });
  } catch (error) {
    return { ok: false, phase: "connect", error };
  }
  let text: string;
  try {
    text = await res.text();
  } catch (error) {
    return { ok: false, phase: "body", error };
  }
  if (opts.maxAnswerChars !== undefined && text.length > opts.maxAnswerChars) text = "";
  let body: unknown = null;
  try {
    body = text ? JSON.parse(text) : null;
  } catch {
    body = text; // not JSON: keep the text
  }
  return { ok: true, status: res.status, body, headers: res.headers };
}

/** True when the call was ended by its timeout. */
export function isTimeout(error: unknown): boolean {
  const e = error as { name?: string; cause?: { name?: string } } | null;
  return e?.name === "TimeoutError" || e?.name === "AbortError" || e?.cause?.name === "TimeoutError";
}
