// GET /v1/tasks/:id?wait=terminal&timeoutMs=N: a long poll that answers once this node's replica applied a
// terminal state of the task (completed, dead, cancelled), or with its state as applied here after N ms. Works
// on any node: a follower answers from what it applied, fed by the same events as GET /v1/watch. Bounded: at most
// `maxWaiters` requests wait on one node (503 WAITERS_FULL beyond).
import { RaftschedError } from "../util/errors.js";
import { isDeletion, TERMINAL_STATES } from "../scheduler/task-events.js";
import type { StoredEvent, WatchHistory, WatchSubscriber } from "../node/watch-history.js";

export const MAX_WAIT_TIMEOUT_MS = 60_000;
export const DEFAULT_WAIT_TIMEOUT_MS = 30_000;
export const DEFAULT_MAX_WAITERS = 10_000;

/** The wait of a GET /v1/tasks/:id, or null for a plain read. */
export function parseTaskWait(url: URL): { timeoutMs: number } | null {
  const wait = url.searchParams.get("wait");
  const timeout = url.searchParams.get("timeoutMs");
  if (wait === null) {
    if (timeout !== null) throw new RaftschedError("BAD_FIELD", "timeoutMs: only with wait=terminal");
    return null;
  }
  if (wait !== "terminal") throw new RaftschedError("BAD_FIELD", `wait: must be "terminal", got "${wait.slice(0, 40)}"`);
  if (timeout === null) return { timeoutMs: DEFAULT_WAIT_TIMEOUT_MS };
  const n = Number(timeout);
  if (!/^\d+$/.test(timeout) || !Number.isSafeInteger(n) || n > MAX_WAIT_TIMEOUT_MS) {
    throw new RaftschedError("BAD_FIELD", `timeoutMs: must be an integer from 0 to ${MAX_WAIT_TIMEOUT_MS}, got "${timeout.slice(0, 40)}"`);
  }
  return { timeoutMs: n };
}

interface Waiter {
  readonly id: string;
  readonly done: () => void;
}

/** The requests waiting for tasks to end on one node, fed by the node's applied events. */
export class TerminalWaiters implements WatchSubscriber {
  private readonly byTask = new Map<string, Set<Waiter>>();
  private count = 0;
  private unsubscribe: (() => void) | null = null;

  constructor(
    private readonly history: () => Pick<WatchHistory, "subscribe">,
    private readonly maxWaiters = DEFAULT_MAX_WAITERS,
  ) {}

  get waiting(): number {
    return this.count;
  }

  /** Resolves when task `id` reaches a terminal state here, after `timeoutMs`, or when the node closes or restores
   *  a snapshot (the caller then reads the table again). */
  wait(id: string, timeoutMs: number): Promise<void> {
    if (this.count >= this.maxWaiters) {
      throw new RaftschedError("WAITERS_FULL", `this node already holds ${this.count} waiting requests (the limit); retry later or ask another node`);
    }
    this.unsubscribe ??= this.history().subscribe(this);
    return new Promise<void>((resolve) => {
      const waiter: Waiter = {
        id,
        done: () => {
          clearTimeout(timer);
          const set = this.byTask.get(id);
          if (set?.delete(waiter)) {
            this.count--;
            if (set.size === 0) this.byTask.delete(id);
          }
          resolve();
        },
      };
      const timer = setTimeout(waiter.done, timeoutMs);
      let set = this.byTask.get(id);
      if (!set) this.byTask.set(id, (set = new Set()));
      set.add(waiter);
      this.count++;
    });
  }

  onApplied(_index: number, events: readonly StoredEvent[]): void {
    for (const e of events) {
      if (isDeletion(e.event) || !TERMINAL_STATES.has(e.event.state)) continue;
      for (const w of [...(this.byTask.get(e.event.id) ?? [])]) w.done();
    }
  }

  onReset(): void {
    this.releaseAll();
  }

  onClose(): void {
    this.releaseAll();
    this.unsubscribe = () => undefined; // closed for good: never subscribe again
  }

  private releaseAll(): void {
    for (const set of [...this.byTask.values()]) for (const w of [...set]) w.done();
  }
}
