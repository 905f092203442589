// The CLI's and tests' HTTP client: JSON in and out, a timeout on every call, and the cluster token. A thin
// wrapper over src/util/http-json.ts (shared with the chaos client): here a call that gets no answer throws
// RaftschedError UNREACHABLE, because every CLI caller reports it as a message and moves on to another node.
import { RaftschedError, errorMessage } from "../util/errors.js";
import { callJson, isTimeout } from "../util/http-json.js";

export interface HttpAnswer<T = unknown> {
  readonly status: number;
  readonly body: T;
  readonly headers: Headers;
}

export async function httpJson<T = unknown>(
  url: string,
  opts: { method?: string; body?: unknown; token?: string; timeoutMs?: number } = {},
): Promise<HttpAnswer<T>> {
  const r = await callJson(url, { ...opts, timeoutMs: opts.timeoutMs ?? 2000 });
  if (!r.ok) {
    const cause = (r.error as { cause?: { code?: string } } | null)?.cause;
    const why = isTimeout(r.error) ? "timed out" : (cause?.code ?? errorMessage(r.error));
    throw new RaftschedError("UNREACHABLE", `${url}: ${why}`);
  }
  return { status: r.status, body: r.body as T, headers: r.headers };
}
