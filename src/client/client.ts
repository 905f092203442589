// The raftsched Client (`import { Client } from "raftsched/client"`): the task API of any node of a cluster, with
// leader discovery, failover to another node when one goes, and retries of the calls that are safe to repeat.
// It imports nothing but Node's built-ins and global fetch, so it runs wherever Node 20 runs.
//
// Which calls are repeated after a failure whose outcome is unknown (a timeout, a node dying mid-call):
// reads (get, list, wait, watch), submit (the Client fixes the task id before the first try, so a repeat finds
// the task instead of making a second one: the contract's idempotent submit) and cancel (cancelling a cancelled
// task answers it). retry and delete are repeated only when the call surely did not arrive (connection refused)
// or the node said 503: repeating an applied retry would answer 409, an applied delete 404.
import { randomUUID } from "node:crypto";
import { SseParser } from "./sse.js";
import type { ClientOptions, DeleteAnswer, ListQuery, SubmitInput, Task, TaskDeletedEvent, TaskEvent, TaskPage, WatchOptions } from "./types.js";
import { ClientError, isRetryableStatus, isUnsentError } from "./errors.js";

export { ClientError } from "./errors.js";

const DEFAULT_REQUEST_TIMEOUT_MS = 10_000;
const DEFAULT_RETRY_FOR_MS = 30_000;
/** A watch stream silent this long (3 keep-alive periods) is taken as a dead node and resumed on another. */
const DEFAULT_WATCH_IDLE_MS = 45_000;
const MAX_WAIT_PER_CALL_MS = 60_000;
const TERMINAL = new Set(["completed", "dead", "cancelled"]);

type Safety = "idempotent" | "unsent-only";

interface CallSpec {
  readonly method: string;
  readonly path: string;
  readonly body?: unknown;
  readonly safety: Safety;
  /** Send to the leader first (writes): followers forward, but that is one more hop. */
  readonly leaderFirst?: boolean;
  readonly timeoutMs?: number;
}

export class Client {
  private readonly urls: string[];
  private readonly token: string | undefined;
  private readonly requestTimeoutMs: number;
  private readonly retryForMs: number;
  private readonly watchIdleMs: number;
  /** The url believed to lead, from GET /v1/cluster; null until discovered or after it failed. */
  private leaderUrl: string | null = null;
  /** Where reads go first: the last node that answered. */
  private preferred = 0;

  constructor(opts: ClientOptions) {
    if (!opts.urls || opts.urls.length === 0) throw new ClientError("BAD_ARGS", "Client: give at least one node url", 0);
    this.urls = opts.urls.map((u) => u.replace(/\/+$/, ""));
    this.token = opts.token;
    this.requestTimeoutMs = opts.requestTimeoutMs ?? DEFAULT_REQUEST_TIMEOUT_MS;
    this.retryForMs = opts.retryForMs ?? DEFAULT_RETRY_FOR_MS;
    this.watchIdleMs = opts.watchIdleMs ?? DEFAULT_WATCH_IDLE_MS;
  }

  /** Creates a task (201) or returns the existing one with the same id (200). Without an id one is made here. */
  async submit(input: SubmitInput): Promise<Task> {
    const body = { ...input, id: input.id ?? randomUUID() };
    return (await this.call<Task>({ method: "POST", path: "/v1/tasks", body, safety: "idempotent", leaderFirst: true })).body;
  }

  async get(id: string, opts: { stale?: boolean } = {}): Promise<Task> {
    return (await this.call<Task>({ method: "GET", path: `/v1/tasks/${encodeURIComponent(id)}${opts.stale ? "?stale=true" : ""}`, safety: "idempotent" })).body;
  }

  async list(q: ListQuery = {}): Promise<TaskPage> {
    const params = new URLSearchParams();
    for (const [k, v] of Object.entries(q)) if (v !== undefined) params.set(k, String(v));
    const qs = params.toString();
    return (await this.call<TaskPage>({ method: "GET", path: `/v1/tasks${qs ? `?${qs}` : ""}`, safety: "idempotent" })).body;
  }

  async cancel(id: string): Promise<Task> {
    return (await this.call<Task>({ method: "POST", path: `/v1/tasks/${encodeURIComponent(id)}/cancel`, body: {}, safety: "idempotent", leaderFirst: true })).body;
  }

  async retry(id: string): Promise<Task> {
    return (await this.call<Task>({ method: "POST", path: `/v1/tasks/${encodeURIComponent(id)}/retry`, body: {}, safety: "unsent-only", leaderFirst: true })).body;
  }

  async delete(id: string): Promise<DeleteAnswer> {
    return (await this.call<DeleteAnswer>({ method: "DELETE", path: `/v1/tasks/${encodeURIComponent(id)}`, safety: "unsent-only", leaderFirst: true })).body;
  }

  /** The task once it is terminal (completed, dead, cancelled), or as it stands after `timeoutMs` (default 60 s):
   *  long polls of at most 60 s each, on whichever node answers. */
  async wait(id: string, opts: { timeoutMs?: number } = {}): Promise<Task> {
    const deadline = Date.now() + (opts.timeoutMs ?? MAX_WAIT_PER_CALL_MS);
    for (;;) {
      const left = Math.max(0, Math.min(MAX_WAIT_PER_CALL_MS, deadline - Date.now()));
      const path = `/v1/tasks/${encodeURIComponent(id)}?wait=terminal&timeoutMs=${left}`;
      const task = (await this.call<Task>({ method: "GET", path, safety: "idempotent", timeoutMs: left + this.requestTimeoutMs })).body;
      if (TERMINAL.has(task.state) || Date.now() >= deadline) return task;
    }
  }

  /** Task events in log order, from `since` (exclusive) or from now; on a node's loss the stream resumes on
   *  another node after the last event seen (Last-Event-ID), so no event is missed or repeated. Ends when
   *  `signal` aborts; throws ClientError COMPACTED (with `details.oldestIndex`) when the events to resume from
   *  are gone everywhere tried: the caller must read the tasks again and watch from a newer index. */
  watch(opts: WatchOptions & { readonly deletions: true }): AsyncGenerator<TaskEvent | TaskDeletedEvent>;
  watch(opts?: WatchOptions): AsyncGenerator<TaskEvent>;
  async *watch(opts: WatchOptions = {}): AsyncGenerator<TaskEvent | TaskDeletedEvent> {
    let last: number | null = opts.since ?? null;
    let failedSince = Date.now();
    for (let attempt = 0; !opts.signal?.aborted; attempt++) {
      const url = this.urls[(this.preferred + attempt) % this.urls.length]!;
      const stream = this.watchOnce(url, last, opts.signal);
      try {
        for await (const item of stream) {
          if (item.kind === "start") {
            last ??= item.index;
            failedSince = Date.now(); // connected: a quiet stream is not a failing one
          } else {
            last = item.event.index;
            failedSince = Date.now();
            if (opts.deletions === true || !("deleted" in item.event)) yield item.event;
          }
        }
      } catch (err) {
        if (err instanceof ClientError && !err.retryable) throw err;
        if (Date.now() - failedSince > this.retryForMs) throw err;
      }
      if (!opts.signal?.aborted) await sleep(Math.min(1000, 100 * (attempt % this.urls.length === this.urls.length - 1 ? 5 : 1)));
    }
  }

  /** One watch connection: a "start" item with the index it starts after, then its events. Ends (returns) when
   *  the stream ends or reports an error to resume from; throws a non-retryable ClientError for 4xx answers. */
  private async *watchOnce(base: string, last: number | null, signal?: AbortSignal): AsyncGenerator<{ kind: "start"; index: number } | { kind: "event"; event: TaskEvent | TaskDeletedEvent }> {
    const ctl = new AbortController();
    const onAbort = () => ctl.abort();
    signal?.addEventListener("abort", onAbort);
    let idle: NodeJS.Timeout | undefined;
    const touch = () => {
      clearTimeout(idle);
      idle = setTimeout(() => ctl.abort(), this.watchIdleMs);
    };
    try {
      touch();
      const headers: Record<string, string> = { accept: "text/event-stream", ...this.authHeader() };
      if (last !== null) headers["last-event-id"] = String(last);
      const res = await fetch(`${base}/v1/watch`, { headers, signal: ctl.signal });
      if (res.status !== 200) throw await ClientError.fromResponse(res);
      const parser = new SseParser();
      const decoder = new TextDecoder();
      for await (const chunk of res.body as unknown as AsyncIterable<Uint8Array>) {
        touch();
        for (const item of parser.push(decoder.decode(chunk, { stream: true }))) {
          if (item.kind === "comment") {
            const m = /^watching events after index (\d+)/.exec(item.text);
            if (m) yield { kind: "start", index: Number(m[1]) };
          } else if (item.message.event === "error") {
            const e = safeJson(item.message.data) as { code?: string; message?: string } | null;
            if (e?.code === "COMPACTED") throw new ClientError("COMPACTED", e.message ?? "compacted", 410, false);
            return; // SLOW_CONSUMER, SHUTTING_DOWN: resume elsewhere from the last event seen
          } else if (item.message.event === "message") {
            yield { kind: "event", event: JSON.parse(item.message.data) as TaskEvent };
          } else if (item.message.event === "deleted") {
            yield { kind: "event", event: JSON.parse(item.message.data) as TaskDeletedEvent };
          }
        }
      }
    } catch (err) {
      if (err instanceof ClientError) throw err;
      if (signal?.aborted) return;
      throw new ClientError("UNREACHABLE", `${base}: watch stream lost (${(err as Error).message})`, 0, true);
    } finally {
      clearTimeout(idle);
      signal?.removeEventListener("abort", onAbort);
      ctl.abort();
    }
  }

  /** One API call with failover: tries the nodes (the leader first for writes) until one answers for good, for
   *  at most retryForMs. 4xx answers are final; 503, network errors and timeouts move on per `safety`. */
  private async call<T>(spec: CallSpec): Promise<{ status: number; body: T }> {
    const started = Date.now();
    let lastError: ClientError | null = null;
    for (let round = 0; Date.now() - started <= this.retryForMs; round++) {
      for (const url of await this.order(spec.leaderFirst === true)) {
        try {
          return await this.send<T>(url, spec);
        } catch (err) {
          const e = err instanceof ClientError ? err : new ClientError("UNREACHABLE", String(err), 0, true);
          lastError = e;
          if (url === this.leaderUrl) this.leaderUrl = null;
          const again = e.status === 0 ? spec.safety === "idempotent" || isUnsentError(e.cause) : isRetryableStatus(e.status);
          if (!again) throw e;
        }
      }
      await sleep(Math.min(1000, 100 * 2 ** round));
    }
    throw lastError ?? new ClientError("UNREACHABLE", "no node answered", 0, true);
  }

  private async send<T>(base: string, spec: CallSpec): Promise<{ status: number; body: T }> {
    const init: RequestInit = { method: spec.method, headers: { ...this.authHeader(), ...(spec.body !== undefined ? { "content-type": "application/json" } : {}) }, signal: AbortSignal.timeout(spec.timeoutMs ?? this.requestTimeoutMs) };
    if (spec.body !== undefined) init.body = JSON.stringify(spec.body);
    let res: Response;
    try {
      res = await fetch(`${base}${spec.path}`, init);
    } catch (err) {
      throw new ClientError("UNREACHABLE", `${base}: ${describeFetchError(err)}`, 0, true, err);
    }
    if (res.status >= 300) throw await ClientError.fromResponse(res);
    this.preferred = this.urls.indexOf(base);
    return { status: res.status, body: (await res.json()) as T };
  }

  /** The nodes to try: the leader first when asked (discovered through GET /v1/cluster), then the others. */
  private async order(leaderFirst: boolean): Promise<string[]> {
    const rest = [...this.urls.slice(this.preferred), ...this.urls.slice(0, this.preferred)];
    if (!leaderFirst) return rest;
    this.leaderUrl ??= await this.discoverLeader();
    return this.leaderUrl ? [this.leaderUrl, ...rest.filter((u) => u !== this.leaderUrl)] : rest;
  }

  private async discoverLeader(): Promise<string | null> {
    for (const base of this.urls) {
      try {
        const res = await fetch(`${base}/v1/cluster`, { headers: this.authHeader(), signal: AbortSignal.timeout(Math.min(2000, this.requestTimeoutMs)) });
        if (res.status !== 200) continue;
        const c = (await res.json()) as { leaderId?: string | null; members?: Array<{ id: string; url: string }> };
        const url = c.members?.find((m) => m.id === c.leaderId)?.url;
        if (url) return url.replace(/\/+$/, "");
      } catch {
        // the next node may know
      }
    }
    return null;
  }

  private authHeader(): Record<string, string> {
    return this.token ? { authorization: `Bearer ${this.token}` } : {};
  }
}

function sleep(ms: number): Promise<void> {
  return new Promise((r) => setTimeout(r, ms));
}

function safeJson(text: string): unknown {
  try {
    return JSON.parse(text);
  } catch {
    return null;
  }
}

function describeFetchError(err: unknown): string {
  const e = err as { name?: string; message?: string; cause?: { code?: string } };
  if (e?.name === "TimeoutError") return "timed out";
  return e?.cause?.code ?? e?.message ?? String(err);
}
