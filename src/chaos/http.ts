// The chaos client's HTTP call: never throws. No answer is status 0 with a reason, because the history must tell
// "refused before anything was sent" (the operation certainly did not happen) from "timed out or reset" (it may
// have happened).

export type NoAnswerReason = "refused" | "timeout" | "reset";

export interface Answer {
  /** 0: no HTTP answer (see `noAnswer`). */
  readonly status: number;
  readonly body: unknown;
  readonly noAnswer?: NoAnswerReason;
}

export interface RequestOptions {
  readonly method?: string;
  readonly body?: unknown;
  readonly token?: string;
  readonly timeoutMs: number;
}

/** Answers larger than this are cut off (a page of 1000 tasks is far below it). */
const MAX_ANSWER_CHARS = 32 * 1024 * 1024;

export async function requestJson(url: string, opts: RequestOptions): Promise<Answer> {
  const headers: Record<string, string> = {};
  if (opts.body !== undefined) headers["content-type"] = "application/json";
  if (opts.token) headers.authorization = `Bearer ${opts.token}`;
  let res: Response;
  const signal = AbortSignal.timeout(opts.timeoutMs);
  try {
    res = await fetch(url, {
      method: opts.method ?? (opts.body === undefined ? "GET" : "POST"),
      headers,
      ...(opts.body !== undefined ? { body: JSON.stringify(opts.body) } : {}),
      signal,
    });
  } catch (err) {
    return { status: 0, body: null, noAnswer: noAnswerReason(err) };
  }
  let text: string;
  try {
    text = await res.text();
  } catch (err) {
    // Headers came but the body did not: the status is known, the body is not. Treat as no answer.
    return { status: 0, body: null, noAnswer: noAnswerReason(err) === "timeout" ? "timeout" : "reset" };
  }
  if (text.length > MAX_ANSWER_CHARS) text = "";
  let body: unknown = null;
  try {
    body = text ? JSON.parse(text) : null;
  } catch {
    body = text;
  }
  return { status: res.status, body };
}

function noAnswerReason(err: unknown): NoAnswerReason {
  const e = err as { name?: string; cause?: { code?: string; name?: string } };
  if (e?.name === "TimeoutError" || e?.name === "AbortError" || e?.cause?.name === "TimeoutError") return "timeout";
  if (e?.cause?.code === "ECONNREFUSED") return "refused";
  return "reset";
}

export function sleep(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms));
}
