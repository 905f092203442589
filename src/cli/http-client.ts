// The CLI's and tests' HTTP client: JSON in and out, a timeout on every call, and the cluster token.
import { RaftschedError } from "../util/errors.js";

export interface HttpAnswer<T = unknown> {
  readonly status: number;
  readonly body: T;
  readonly headers: Headers;
}

export async function httpJson<T = unknown>(
  url: string,
  opts: { method?: string; body?: unknown; token?: string; timeoutMs?: number } = {},
): Promise<HttpAnswer<T>> {
  const headers: Record<string, string> = {};
  if (opts.body !== undefined) headers["content-type"] = "application/json";
  if (opts.token) headers.authorization = `Bearer ${opts.token}`;
  let res: Response;
  try {
    res = await fetch(url, {
      method: opts.method ?? (opts.body === undefined ? "GET" : "POST"),
      headers,
      ...(opts.body !== undefined ? { body: JSON.stringify(opts.body) } : {}),
      signal: AbortSignal.timeout(opts.timeoutMs ?? 2000),
    });
  } catch (err) {
    const e = err as Error & { cause?: { code?: string } };
    const why = e.name === "TimeoutError" ? "timed out" : (e.cause?.code ?? e.message);
    throw new RaftschedError("UNREACHABLE", `${url}: ${why}`);
  }
  const text = await res.text();
  let body: unknown = text;
  try {
    body = text ? JSON.parse(text) : null;
  } catch {
    /* not JSON: keep the text */
  }
  return { status: res.status, body: body as T, headers: res.headers };
}
