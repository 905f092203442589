// `import { Worker } from "raftsched/worker"`: an external worker in your own process. It connects to any node of
// the cluster (following the leader when told), registers `{ id, capacity, tags }`, runs what it is assigned with
// your handler, reports back, and reconnects — to another node when one goes. The protocol it speaks is the one
// README documents ("External workers"); this is one client of it, examples/worker.py another.
import WebSocket from "ws";
import { type ReportOutbox, createOutbox } from "./report-outbox.js";
import { ProgressFrames } from "./progress-frames.js";
import { WorkerError } from "./worker-error.js";
import { attemptOf, leaderUrlOf, parseNodeFrame, timeoutOf, type Frame } from "./node-frames.js";

export interface WorkerTask {
  readonly id: string;
  readonly attempt: number;
  readonly payload: unknown;
  /** The attempt's deadline, when the task has one: the signal fires when it passes. */
  readonly timeoutMs?: number;
  /** Aborted when the attempt is taken away (cancelled, reassigned, past its deadline) or the worker stops. */
  readonly signal: AbortSignal;
  /** Tells the leader how far the attempt got (any JSON value, at most 4 KiB): shown as the task's `progress`.
   *  Calls in a tight loop are coalesced into the latest value; throws WorkerError BAD_PROGRESS on a bad value. */
  progress(value: unknown): void;
}

/** Resolve with the result (any JSON value), or throw to fail the attempt. */
export type WorkerHandler = (task: WorkerTask) => Promise<unknown> | unknown;

export interface WorkerOptions {
  /** Base urls of cluster nodes (`http://host:port`); any of them, the worker finds the leader. */
  readonly urls: readonly string[];
  readonly token: string;
  /** 1-128 characters of [A-Za-z0-9._:-], not a member's id. */
  readonly id: string;
  /** Attempts run at once (default 1). */
  readonly capacity?: number;
  readonly tags?: readonly string[];
  readonly handler: WorkerHandler;
  /** close({ drain: true }) waits this long for running attempts before giving them back (default 30 s). */
  readonly drainGraceMs?: number;
  /** Log lines (default: none). */
  readonly log?: (level: "info" | "warn" | "error", message: string, fields?: Record<string, unknown>) => void;
}

export { WorkerError };

/** Refusals that no retry can fix: the worker stops and start() rejects with the code. */
const FATAL_CODES = new Set(["UNAUTHORIZED", "ID_IS_MEMBER", "BAD_WORKER_ID", "UNSUPPORTED_VERSION", "BAD_FIELD", "ALREADY_REGISTERED"]);
const RECONNECT_MIN_MS = 50;
const RECONNECT_MAX_MS = 2000;

/** The wait before the next reconnect: doubling from 50 ms, at most 2 s — and, once a node has told this worker
 *  its workerTimeoutMs, at most a quarter of it. A new leader gives connected workers one workerTimeoutMs of grace;
 *  a worker still backing off from an election's "no leader yet" answers (up to 2 s) would miss it and be declared
 *  dead with all its tasks (the 200-worker benchmark saw 662 registrations for 200 workers). */
export function nextReconnectDelayMs(previousMs: number, workerTimeoutMs: number | null): number {
  const cap = workerTimeoutMs !== null && workerTimeoutMs > 0 ? Math.min(RECONNECT_MAX_MS, Math.max(RECONNECT_MIN_MS, Math.floor(workerTimeoutMs / 4))) : RECONNECT_MAX_MS;
  return Math.min(cap, previousMs * 2);
}

interface Running {
  readonly attempt: number;
  readonly abort: AbortController;
}

export class Worker {
  private readonly o: WorkerOptions;
  private ws: WebSocket | null = null;
  private registered = false;
  private urlIndex = 0;
  private nextUrl: string | null = null;
  private backoffMs = RECONNECT_MIN_MS;
  /** The cluster's workerTimeoutMs, as the last `registered` frame said (bounds the reconnect backoff). */
  private workerTimeoutMs: number | null = null;
  private heartbeat: NodeJS.Timeout | null = null;
  private reconnectTimer: NodeJS.Timeout | null = null;
  private stopped = false;
  private draining = false;
  private readonly running = new Map<string, Running>();
  private readonly outbox: ReportOutbox;
  private readonly progressFrames: ProgressFrames;
  private startWaiters: Array<{ resolve: () => void; reject: (err: Error) => void }> = [];
  private idleWaiters: Array<() => void> = [];
  private drainAcked: (() => void) | null = null;
  /** Attempts this worker finished (reported or refused), for tests and logs. */
  readonly counts = { completed: 0, failed: 0, aborted: 0, refused: 0 };

  constructor(options: WorkerOptions) {
    if (options.urls.length === 0) throw new WorkerError("BAD_ARGS", "Worker: urls must name at least one node");
    for (const url of options.urls) if (leaderUrlOf({ type: "url", leaderUrl: url }) === null) throw new WorkerError("BAD_ARGS", `Worker: ${JSON.stringify(url)} is not an http(s) url`);
    this.o = options;
    this.outbox = createOutbox((frame) => this.sendFrame(frame));
    this.progressFrames = new ProgressFrames((frame) => this.sendFrame(frame));
  }

  /** Connects; resolves once registered with the leader, rejects on a refusal no retry fixes. */
  start(): Promise<void> {
    const registered = new Promise<void>((resolve, reject) => this.startWaiters.push({ resolve, reject }));
    this.connect();
    return registered;
  }

  /** Attempts running now. */
  get active(): number {
    return this.running.size;
  }

  /** drain: take nothing new, let running attempts finish (up to drainGraceMs) and their reports land, then go.
   *  Without drain: abort what runs (the leader reassigns it) and go. */
  async close(opts: { drain?: boolean } = {}): Promise<void> {
    if (opts.drain && !this.stopped) {
      this.draining = true;
      const drained = new Promise<void>((resolve) => (this.drainAcked = resolve));
      this.sendFrame({ type: "drain" });
      const graceMs = this.o.drainGraceMs ?? 30_000;
      // `draining` from the leader means nothing more will be assigned; then what runs must finish.
      const grace = new Promise((r) => setTimeout(r, graceMs).unref());
      await Promise.race([drained.then(() => this.idle()), grace]);
      this.sendFrame({ type: "bye" });
    }
    this.stopped = true;
    for (const r of this.running.values()) r.abort.abort(new WorkerError("WORKER_CLOSED", "the worker is closing"));
    this.stopTimers();
    const ws = this.ws;
    if (ws && ws.readyState === WebSocket.OPEN) {
      await new Promise<void>((resolve) => {
        ws.once("close", () => resolve());
        ws.close(1000, "worker closing");
        setTimeout(() => {
          ws.terminate();
          resolve();
        }, 1000).unref();
      });
    } else ws?.terminate();
    for (const w of this.startWaiters) w.reject(new WorkerError("WORKER_CLOSED", "the worker was closed before it registered"));
    this.startWaiters = [];
  }

  /** Drops the connection at once, as a network failure would (the chaos fault `worker-disconnect`); the worker
   *  reconnects as after any lost connection. */
  dropConnection(): void {
    this.ws?.terminate();
  }

  /** Resolves when nothing runs and every report was answered. */
  private idle(): Promise<void> {
    if (this.running.size === 0 && this.outbox.size === 0) return Promise.resolve();
    return new Promise((resolve) => this.idleWaiters.push(resolve));
  }

  private checkIdle(): void {
    if (this.running.size > 0 || this.outbox.size > 0) return;
    for (const w of this.idleWaiters.splice(0)) w();
  }

  private connect(): void {
    if (this.stopped) return;
    const base = this.nextUrl ?? this.o.urls[this.urlIndex++ % this.o.urls.length]!;
    this.nextUrl = null;
    const ws = new WebSocket(workerSocketUrl(base), { headers: { authorization: `Bearer ${this.o.token}` }, handshakeTimeout: 3000, perMessageDeflate: false });
    this.ws = ws;
    ws.on("open", () => {
      const running = [...this.running].map(([taskId, r]) => ({ taskId, attempt: r.attempt }));
      this.sendFrame({ type: "register", v: 1, id: this.o.id, capacity: this.draining ? 0 : (this.o.capacity ?? 1), tags: [...(this.o.tags ?? [])], running });
    });
    ws.on("message", (data) => this.onFrame(data.toString()));
    ws.on("error", (err) => this.o.log?.("warn", "worker connection error", { url: base, err: err.message }));
    ws.on("close", () => this.onClose(ws));
  }

  private onClose(ws: WebSocket): void {
    if (this.ws !== ws) return;
    this.registered = false;
    this.stopTimers();
    if (this.stopped) return;
    const delayMs = this.nextUrl !== null ? 0 : this.backoffMs;
    this.backoffMs = nextReconnectDelayMs(this.backoffMs, this.workerTimeoutMs);
    this.o.log?.("info", "reconnecting", { delayMs });
    this.reconnectTimer = setTimeout(() => this.connect(), delayMs);
  }

  private onFrame(text: string): void {
    const f = parseNodeFrame(text);
    if (f === null) return this.o.log?.("warn", "ignored a frame that is not a JSON object with a type", { frame: text.slice(0, 200) });
    switch (f.type) {
      case "registered":
        return this.onRegistered(f);
      case "notLeader":
        this.nextUrl = leaderUrlOf(f);
        return;
      case "draining":
        this.drainAcked?.();
        return;
      case "error":
        return this.onError(f);
    }
    if (!["assign", "abort", "accepted", "refused"].includes(f.type)) return;
    const a = attemptOf(f);
    if (a === null) return this.o.log?.("warn", `ignored a ${f.type} frame without a valid taskId and attempt`, { frame: text.slice(0, 200) });
    if (f.type === "assign") return this.onAssign(a.taskId, a.attempt, f.payload, timeoutOf(f));
    if (f.type === "abort") return this.onAbort(a.taskId, a.attempt);
    if (f.type === "refused") {
      this.counts.refused++;
      this.o.log?.("warn", "report refused", { taskId: a.taskId, attempt: a.attempt, code: f.code });
    }
    this.outbox.answered(a.taskId, a.attempt);
    this.checkIdle();
  }

  private onRegistered(f: Frame): void {
    this.registered = true;
    this.backoffMs = RECONNECT_MIN_MS;
    if (typeof f.workerTimeoutMs === "number" && f.workerTimeoutMs > 0) this.workerTimeoutMs = f.workerTimeoutMs;
    this.o.log?.("info", "registered", { id: this.o.id, leaderId: f.leaderId });
    const heartbeatMs = typeof f.heartbeatMs === "number" && f.heartbeatMs > 0 ? f.heartbeatMs : 250;
    this.heartbeat = setInterval(() => this.sendFrame({ type: "heartbeat" }), heartbeatMs);
    if (this.draining) this.sendFrame({ type: "drain" });
    this.outbox.resendAll();
    for (const w of this.startWaiters.splice(0)) w.resolve();
  }

  private onError(f: Frame): void {
    const code = String(f.code);
    const taskId = typeof f.taskId === "string" ? f.taskId : null;
    if (taskId !== null) {
      // NOT_HELD: the node does not know our attempt as ours; RESULT_TOO_LARGE: report a failure instead.
      if (code === "REPORT_FAILED") this.outbox.retryLater(taskId);
      else this.outbox.onRefusedReport(taskId, code);
      return this.checkIdle();
    }
    this.o.log?.(FATAL_CODES.has(code) ? "error" : "warn", `node refused: ${code}`, { message: f.message });
    if (!FATAL_CODES.has(code)) return;
    const err = new WorkerError(code, String(f.message ?? code));
    for (const w of this.startWaiters.splice(0)) w.reject(err);
    void this.close();
  }

  private onAssign(taskId: string, attempt: number, payload: unknown, timeoutMs: number | undefined): void {
    const current = this.running.get(taskId);
    if (current !== undefined && current.attempt >= attempt) return; // pushed again after a reconnect
    if (this.outbox.has(taskId, attempt)) return; // finished, its report on its way
    current?.abort.abort(new WorkerError("SUPERSEDED", "a newer attempt of this task was assigned"));
    const abort = new AbortController();
    this.running.set(taskId, { attempt, abort });
    this.o.log?.("info", "attempt started", { taskId, attempt });
    const deadline = timeoutMs !== undefined ? setTimeout(() => abort.abort(new WorkerError("TIMEOUT", `attempt ran past ${timeoutMs} ms`)), timeoutMs) : null;
    const progress = (value: unknown): void => {
      if (!abort.signal.aborted) this.progressFrames.report(taskId, attempt, value);
    };
    void this.run({ id: taskId, attempt, payload, ...(timeoutMs !== undefined ? { timeoutMs } : {}), signal: abort.signal, progress }).finally(() => {
      if (deadline) clearTimeout(deadline);
      this.progressFrames.forget(taskId, attempt);
      if (this.running.get(taskId)?.abort === abort) this.running.delete(taskId);
      this.checkIdle();
    });
  }

  private async run(task: WorkerTask): Promise<void> {
    let frame: Frame;
    try {
      const result = await this.o.handler(task);
      frame = { type: "complete", taskId: task.id, attempt: task.attempt, result: (result ?? null) as unknown };
    } catch (err) {
      frame = { type: "fail", taskId: task.id, attempt: task.attempt, error: errorValue(err) };
    }
    const reason = task.signal.aborted ? (task.signal.reason as { code?: string } | undefined)?.code : undefined;
    // An attempt taken away reports nothing (the node would refuse it); one past its deadline reports TIMEOUT.
    if (task.signal.aborted && reason !== "TIMEOUT") {
      this.counts.aborted++;
      return;
    }
    if (reason === "TIMEOUT") frame = { type: "fail", taskId: task.id, attempt: task.attempt, error: { code: "TIMEOUT", message: "attempt ran past its deadline" } };
    if (frame.type === "complete") this.counts.completed++;
    else this.counts.failed++;
    this.o.log?.("info", "attempt finished", { taskId: task.id, attempt: task.attempt, outcome: frame.type });
    this.outbox.add(task.id, task.attempt, frame);
  }

  private onAbort(taskId: string, attempt: number): void {
    const r = this.running.get(taskId);
    if (r !== undefined && r.attempt === attempt) r.abort.abort(new WorkerError("ABORTED", "the attempt was taken away by the leader"));
    this.o.log?.("info", "attempt aborted", { taskId, attempt, running: r?.attempt === attempt });
    this.outbox.answered(taskId, attempt);
    this.checkIdle();
  }

  private sendFrame(frame: Frame): boolean {
    const ws = this.ws;
    if (!ws || ws.readyState !== WebSocket.OPEN) return false;
    if (frame.type !== "register" && !this.registered) return false;
    ws.send(JSON.stringify(frame));
    return true;
  }

  private stopTimers(): void {
    if (this.heartbeat) clearInterval(this.heartbeat);
    this.heartbeat = null;
    if (this.reconnectTimer) clearTimeout(this.reconnectTimer);
    this.reconnectTimer = null;
  }
}

/** ws://host:port/v1/worker from a node's http://host:port (wss from https). */
export function workerSocketUrl(baseUrl: string): string {
  const url = new URL(baseUrl);
  url.protocol = url.protocol === "https:" ? "wss:" : "ws:";
  url.pathname = `${url.pathname.replace(/\/+$/, "")}/v1/worker`;
  return url.toString();
}

function errorValue(err: unknown): { code: string; message: string } {
  const e = err as { code?: unknown; message?: unknown } | null;
  const code = typeof e?.code === "string" ? e.code : "HANDLER_ERROR";
  const message = typeof e?.message === "string" ? e.message : String(err);
  return { code, message: message.slice(0, 4096) };
}
