// Runs the tasks the replicated table assigns to this node, at most `capacity` at once, and reports each outcome
// through the leader. The table is the truth: a task runs here only while the table says "assigned to me at this
// attempt"; when a newer attempt supersedes ours (we were declared dead, the task was cancelled) the handler is
// aborted through its AbortSignal and its late answer is never sent (and would be fenced with 409 anyway).
import type { Logger } from "pino";
import { jsonProblem } from "../scheduler/json-value.js";
import type { JsonValue, Task } from "../scheduler/types.js";
import { errorCode, errorMessage } from "../util/errors.js";
import { type LeaderConfirmation, attemptStartGate, freeSlots, mayStartTaskHere } from "./attempt-start-gate.js";
import { handlerErrorValue } from "./handler-error.js";
import { LingeringReporter, leadershipKey } from "./lingering-handlers.js";
import { ProgressSender } from "./task-progress.js";

export interface TaskContext {
  readonly id: string;
  readonly attempt: number;
  readonly payload: JsonValue;
  readonly priority: number;
  readonly maxAttempts: number;
  /** Aborted when this attempt is superseded (a newer attempt, a cancel, its timeoutMs passed) or the node stops. */
  readonly signal: AbortSignal;
  /** Tells the leader how far the attempt got (any JSON value, at most 4 KiB): best effort, the latest wins. */
  progress(value: unknown): void;
}

/** A task handler: resolve with the result (any JSON value), or throw to fail the attempt. */
export type TaskHandler = (task: TaskContext) => Promise<unknown> | unknown;

export type Outcome = { readonly kind: "complete"; readonly result: JsonValue } | { readonly kind: "fail"; readonly error: JsonValue };

export interface TaskExecutorOptions {
  readonly selfId: string;
  readonly capacity: number;
  readonly logger: Logger;
  /** Tasks the local table has assigned to this node (state "assigned", worker = self). */
  readonly assignedToMe: () => readonly Task[];
  /** The local table's current view of one task. */
  readonly lookup: (id: string) => Task | undefined;
  /** Delivers an outcome to the leader; throws on failure (retried), resolves once committed or fenced. */
  readonly report: (id: string, attempt: number, outcome: Outcome) => Promise<void>;
  readonly reconcileEveryMs?: number;
  /** Asks the leader to confirm its commit index and resolves once this node has applied up to it (ReadIndex).
   *  Without it (unit tests) attempts start at once; a node always passes it, see attempt-start-gate.ts. */
  readonly confirmCommit?: () => Promise<LeaderConfirmation>;
  /** The node's current Raft term and applied index (with confirmCommit). */
  readonly currentTerm?: () => number;
  readonly appliedIndex?: () => number;
  /** Where to tell the count of aborted handlers still running (lingering-handlers.ts): the known leader's id and
   *  a delivery to it. Checked after every scheduling pass. */
  readonly lingeringTo?: { readonly leader: () => string | null; readonly send: (count: number) => Promise<void> };
  /** Delivers a handler's progress to the leader (task-progress.ts); absent: progress is dropped. */
  readonly reportProgress?: (id: string, attempt: number, value: JsonValue) => Promise<void>;
}

/** The built-in handler of the contract: `{ sleepMs?: n, fail?: bool }`; other payload fields are ignored. */
export const defaultHandler: TaskHandler = async (task) => {
  const p = (task.payload && typeof task.payload === "object" && !Array.isArray(task.payload) ? task.payload : {}) as Record<string, JsonValue>;
  const sleepMs = typeof p.sleepMs === "number" && Number.isFinite(p.sleepMs) && p.sleepMs > 0 ? Math.min(p.sleepMs, 24 * 3600_000) : 0;
  if (sleepMs > 0) {
    await new Promise<void>((resolve, reject) => {
      const t = setTimeout(resolve, sleepMs);
      task.signal.addEventListener(
        "abort",
        () => {
          clearTimeout(t);
          reject(Object.assign(new Error("attempt superseded"), { code: "ABORTED" }));
        },
        { once: true },
      );
    });
  }
  if (p.fail === true) throw Object.assign(new Error("payload asked to fail"), { code: "TASK_FAILED" });
  return { ok: true, sleptMs: sleepMs };
};

const MAX_REPORT_BACKOFF_MS = 2000;
const CONFIRM_RETRY_MS = 200;
/** A result or error must fit a report (the API's 1 MiB body, with room for the envelope). */
export const MAX_OUTCOME_BYTES = 1024 * 1024 - 4096;

interface Running {
  readonly attempt: number;
  readonly abort: AbortController;
}

export class TaskExecutor {
  private readonly o: TaskExecutorOptions;
  private handler: TaskHandler = defaultHandler;
  private readonly running = new Map<string, Running>();
  /** Aborted attempts whose handler has not returned yet ("id#attempt" -> id): they keep their slot, and no other
   *  attempt of the same task starts here meanwhile. */
  private readonly draining = new Map<string, string>();
  private confirmed: LeaderConfirmation | null = null;
  private confirming = false;
  /** After a refused question (no leader yet) wait a little before asking again. */
  private askAgainAtMs = 0;
  private timer: NodeJS.Timeout | null = null;
  private stopped = false;
  /** Attempts whose outcome is being reported; they no longer count as running but must not restart. */
  private readonly reporting = new Set<string>();
  /** Attempts already reported: kept until the local table stops showing them assigned (a follower applies the
   *  outcome a little after the leader answered), so an attempt never runs twice here. */
  private readonly finished = new Set<string>();
  completedCount = 0;
  failedCount = 0;

  private readonly lingering: LingeringReporter | undefined;
  private readonly progress: ProgressSender | undefined;

  constructor(o: TaskExecutorOptions) {
    this.o = o;
    const to = o.lingeringTo;
    const leader = () => leadershipKey(to?.leader() ?? null, o.currentTerm?.() ?? 0);
    this.lingering = to && new LingeringReporter({ count: () => this.draining.size, leader, send: to.send });
    this.progress = o.reportProgress && new ProgressSender(o.reportProgress);
  }

  setHandler(h: TaskHandler): void {
    this.handler = h;
  }

  start(): void {
    this.timer = setInterval(() => this.reconcile(), this.o.reconcileEveryMs ?? 100);
  }

  /** Handlers running here now, aborted ones that have not returned included: what this node really runs. */
  get active(): number {
    return this.running.size + this.draining.size;
  }

  /** Aborted handlers that have not returned yet. */
  get drainingCount(): number {
    return this.draining.size;
  }

  /** Whether attempts may start now; asks the leader for a confirmation when one is needed. */
  private gateOpen(): boolean {
    if (!this.o.confirmCommit) return true;
    const gate = attemptStartGate({ confirmed: this.confirmed, appliedIndex: this.o.appliedIndex?.() ?? 0, currentTerm: this.o.currentTerm?.() ?? 0 });
    if (!gate.open && gate.askLeader && !this.confirming && Date.now() >= this.askAgainAtMs) {
      this.confirming = true;
      this.o
        .confirmCommit()
        .then((c) => {
          if (this.confirmed === null) this.o.logger.info({ index: c.index, term: c.term }, "caught up with the leader's commit index: attempts may start");
          if (this.confirmed === null || c.term > this.confirmed.term || c.index > this.confirmed.index) this.confirmed = c;
          if (!this.stopped) setImmediate(() => this.reconcile());
        })
        .catch((err) => {
          this.askAgainAtMs = Date.now() + CONFIRM_RETRY_MS;
          this.o.logger.debug({ err: errorMessage(err) }, "commit index not confirmed yet; attempts wait");
        })
        .finally(() => {
          this.confirming = false;
        });
    }
    return gate.open;
  }

  /** Starts what the table assigns us and is not running; aborts what runs but is no longer ours. */
  reconcile(): void {
    if (this.stopped) return;
    this.reconcileOnce();
    this.lingering?.poke();
  }

  private reconcileOnce(): void {
    for (const [id, r] of this.running) {
      const t = this.o.lookup(id);
      if (!t || t.state !== "assigned" || t.worker !== this.o.selfId || t.attempt !== r.attempt) {
        // The slot stays taken until the handler returns (run() frees it): a handler may take a while to clean up.
        this.draining.set(`${id}#${r.attempt}`, id);
        r.abort.abort(abortReason(t, r.attempt));
        this.running.delete(id);
        this.o.logger.info({ task: id, attempt: r.attempt }, "attempt superseded; aborted");
      }
    }
    for (const key of this.finished) {
      const [id, attempt] = splitKey(key);
      const t = this.o.lookup(id);
      if (!t || t.state !== "assigned" || t.attempt !== attempt || t.worker !== this.o.selfId) this.finished.delete(key);
    }
    const assigned = this.o.assignedToMe();
    // Ask the leader only when there is something to start: an idle node sends no ReadIndex rounds.
    if (assigned.length === 0 || !this.gateOpen()) return;
    const drainingTasks = new Set(this.draining.values());
    for (const t of assigned) {
      if (freeSlots({ capacity: this.o.capacity, running: this.running.size, draining: this.draining.size }) === 0) break;
      const key = `${t.id}#${t.attempt}`;
      if (this.running.has(t.id) || this.reporting.has(key) || this.finished.has(key)) continue;
      if (!mayStartTaskHere(t.id, drainingTasks)) continue;
      this.run(t);
    }
  }

  private run(t: Task): void {
    const abort = new AbortController();
    this.running.set(t.id, { attempt: t.attempt, abort });
    const progress = (value: unknown) => {
      if (!abort.signal.aborted) this.progress?.report(t.id, t.attempt, toJson(value));
    };
    const ctx: TaskContext = { id: t.id, attempt: t.attempt, payload: t.payload, priority: t.priority, maxAttempts: t.maxAttempts, signal: abort.signal, progress };
    void (async () => {
      let outcome: Outcome;
      try {
        const result = await this.handler(ctx);
        outcome = { kind: "complete", result: toJson(result) };
      } catch (err) {
        outcome = { kind: "fail", error: handlerErrorValue(err) };
      }
      outcome = reportable(outcome);
      this.progress?.forget(t.id, t.attempt);
      if (this.draining.delete(`${t.id}#${t.attempt}`)) {
        this.o.logger.info({ task: t.id, attempt: t.attempt }, "aborted handler returned; its slot is free");
        if (!this.stopped) setImmediate(() => this.reconcile());
      }
      const mine = this.running.get(t.id);
      if (abort.signal.aborted || !mine || mine.attempt !== t.attempt) return;
      this.running.delete(t.id);
      if (outcome.kind === "complete") this.completedCount++;
      else this.failedCount++;
      await this.deliver(t.id, t.attempt, outcome);
    })();
  }

  /** Reports until the leader has it, or until the table shows the attempt is over (fenced or committed). */
  private async deliver(id: string, attempt: number, outcome: Outcome): Promise<void> {
    const key = `${id}#${attempt}`;
    this.reporting.add(key);
    let backoffMs = 50;
    try {
      while (!this.stopped) {
        const t = this.o.lookup(id);
        if (!t || t.attempt !== attempt || t.state !== "assigned") return;
        try {
          await this.o.report(id, attempt, outcome);
          this.finished.add(key);
          return;
        } catch (err) {
          if (errorCode(err) === "STALE_ATTEMPT" || errorCode(err) === "NOT_FOUND") return;
          this.o.logger.debug({ task: id, attempt, err: errorMessage(err) }, "report failed; retrying");
          await new Promise((r) => setTimeout(r, backoffMs));
          backoffMs = Math.min(MAX_REPORT_BACKOFF_MS, backoffMs * 2);
        }
      }
    } finally {
      this.reporting.delete(key);
    }
  }

  stop(): void {
    this.stopped = true;
    if (this.timer) clearInterval(this.timer);
    for (const r of this.running.values()) r.abort.abort();
    this.running.clear();
  }
}

/** Why an attempt is aborted, as the handler's `signal.reason`: TIMEOUT when the leader failed it for running past
 *  its timeoutMs, else ABORTED (superseded, cancelled, the node declared dead). */
function abortReason(t: Task | undefined, attempt: number): Error {
  const last = t?.attempt === attempt ? t.lastError : undefined;
  const timedOut = typeof last === "object" && last !== null && !Array.isArray(last) && last.code === "TIMEOUT";
  const reason = timedOut ? `attempt ${attempt} ran past its timeoutMs` : `attempt ${attempt} superseded`;
  return Object.assign(new Error(reason), { code: timedOut ? "TIMEOUT" : "ABORTED" });
}

function splitKey(key: string): [string, number] {
  const at = key.lastIndexOf("#");
  return [key.slice(0, at), Number(key.slice(at + 1))];
}

/** An outcome the leader can accept. A handler's result or error that is not (nested deeper than the limit, too
 *  big) would be refused at every try, and the attempt would be reported forever: it becomes a failure naming the
 *  problem instead, so the task retries or ends dead like any other failure. */
function reportable(outcome: Outcome): Outcome {
  const value = outcome.kind === "complete" ? outcome.result : outcome.error;
  const what = outcome.kind === "complete" ? "result" : "error";
  const problem = jsonProblem(value, what);
  if (problem !== null) return { kind: "fail", error: { code: "BAD_RESULT", message: `the handler's ${problem}` } };
  const bytes = Buffer.byteLength(JSON.stringify(value));
  if (bytes > MAX_OUTCOME_BYTES) {
    return { kind: "fail", error: { code: "BAD_RESULT", message: `the handler's ${what} is ${bytes} bytes as JSON, over ${MAX_OUTCOME_BYTES}` } };
  }
  return outcome;
}

function toJson(v: unknown): JsonValue {
  if (v === undefined) return null;
  try {
    return JSON.parse(JSON.stringify(v)) as JsonValue;
  } catch {
    return String(v);
  }
}
