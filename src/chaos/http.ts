// The chaos client's HTTP call: never throws. No answer is status 0 with a reason, because the history must tell
// "refused before anything was sent" (the operation certainly did not happen) from "timed out or reset" (it may
// have happened). A thin wrapper over src/util/http-json.ts, the request and parsing the CLI's client uses too;
// what is chaos-only is this classification and the cap on an answer's size.
import { callJson, isTimeout } from "../util/http-json.js";

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
  const r = await callJson(url, { ...opts, maxAnswerChars: MAX_ANSWER_CHARS });
  if (r.ok) return { status: r.status, body: r.body };
  if (r.phase === "connect") return { status: 0, body: null, noAnswer: noAnswerReason(r.error) };
  // Headers came but the body did not: the status is known, the body is not. Treat as no answer.
  return { status: 0, body: null, noAnswer: isTimeout(r.error) ? "timeout" : "reset" };
}

function noAnswerReason(err: unknown): NoAnswerReason {
  if (isTimeout(err)) return "timeout";
  if ((err as { cause?: { code?: string } } | null)?.cause?.code === "ECONNREFUSED") return "refused";
  return "reset";
}

export function sleep(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms));
}
