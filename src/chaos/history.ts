// The history a chaos workload records: one event when a client invokes an operation and one when it learns
// (or gives up learning) the outcome. Events are plain JSON so a run's history can be written to the report
// and checked again later. The checker works on *operations* (call time, return time, input, output), which
// toOperations derives from the events.
//
// Outcomes:
//   ok      — the cluster answered and the answer is an observation (201, 200, 404, 409, ...).
//   fail    — the cluster answered with an error; still an observation unless the classifier says the error
//             proves the operation was never executed (then it is dropped: it cannot have had an effect).
//   unknown — no answer (timeout, connection reset, 5xx after forwarding): the operation may or may not have
//             taken effect, at any time after its invoke. Such an operation gets ret = Infinity.
// An invoke with no outcome by the end of the history is treated as unknown.

export type ClientId = number | string;

export interface InvokeEvent<I = unknown> {
  readonly kind: "invoke";
  readonly opId: number;
  readonly clientId: ClientId;
  readonly op: I;
  /** Monotonic milliseconds (performance.now() or a simulated clock); the same clock for every client. */
  readonly timeMs: number;
}

export interface OkEvent<I = unknown, O = unknown> {
  readonly kind: "ok";
  readonly opId: number;
  readonly clientId: ClientId;
  readonly timeMs: number;
  readonly output: O;
  /** Optional copy of the input, for people reading the history; the invoke's op is authoritative. */
  readonly op?: I;
}

export interface FailEvent<I = unknown, O = unknown> {
  readonly kind: "fail";
  readonly opId: number;
  readonly clientId: ClientId;
  readonly timeMs: number;
  readonly output: O;
  readonly op?: I;
}

export interface UnknownEvent<I = unknown> {
  readonly kind: "unknown";
  readonly opId: number;
  readonly clientId: ClientId;
  readonly timeMs: number;
  readonly op?: I;
}

export type HistoryEvent<I = unknown, O = unknown> =
  | InvokeEvent<I>
  | OkEvent<I, O>
  | FailEvent<I, O>
  | UnknownEvent<I>;

/** One operation as the checker sees it. output is undefined exactly when ret is Infinity (outcome unknown). */
export interface Operation<I = unknown, O = unknown> {
  readonly opId: number;
  readonly clientId: ClientId;
  readonly call: number;
  readonly ret: number;
  readonly input: I;
  readonly output?: O;
}

/** What an answered operation means for the checker. */
export type OutcomeClass =
  /** The output is an observation of the system's state. */
  | "observed"
  /** The answer does not say whether the operation took effect (e.g. a 5xx after forwarding). */
  | "unknown"
  /** The operation certainly had no effect (e.g. 400, 401): leave it out of the history. */
  | "drop";

export type OutcomeClassifier<I, O> = (input: I, output: O, kind: "ok" | "fail") => OutcomeClass;

export class HistoryError extends Error {
  constructor(
    readonly code:
      | "DUPLICATE_OP_ID"
      | "UNKNOWN_OP_ID"
      | "DUPLICATE_OUTCOME"
      | "CLIENT_OVERLAP"
      | "TIME_REVERSED"
      | "BAD_EVENT"
      | "HISTORY_FULL",
    message: string,
  ) {
    super(message);
    this.name = "HistoryError";
  }
}

export interface ToOperationsOptions<I, O> {
  /** Default: every ok and fail answer is an observation. */
  readonly classify?: OutcomeClassifier<I, O>;
}

/**
 * Pairs invokes with outcomes. Throws HistoryError when the history is malformed (an outcome without an
 * invoke, two outcomes for one op, an outcome earlier than its invoke, or a client invoking while its previous
 * operation is still outstanding: each client must be sequential, or the history was recorded wrongly).
 * Operations come back in invoke order.
 */
export function toOperations<I, O>(
  events: readonly HistoryEvent<I, O>[],
  options: ToOperationsOptions<I, O> = {},
): Operation<I, O>[] {
  const classify = options.classify ?? (() => "observed" as const);
  interface Pending {
    readonly invoke: InvokeEvent<I>;
    done: boolean;
    op?: Operation<I, O> | null; // null = dropped
  }
  const byId = new Map<number, Pending>();
  const outstandingByClient = new Map<ClientId, number>();
  const order: Pending[] = [];

  for (const event of events) {
    const opId = event.opId;
    if (event.kind === "invoke") {
      if (byId.has(opId)) throw new HistoryError("DUPLICATE_OP_ID", `op ${opId} is invoked twice`);
      const outstanding = outstandingByClient.get(event.clientId);
      if (outstanding !== undefined) {
        throw new HistoryError(
          "CLIENT_OVERLAP",
          `client ${String(event.clientId)} invokes op ${opId} while op ${outstanding} is outstanding`,
        );
      }
      outstandingByClient.set(event.clientId, opId);
      const entry: Pending = { invoke: event, done: false };
      byId.set(opId, entry);
      order.push(entry);
      continue;
    }
    if (event.kind !== "ok" && event.kind !== "fail" && event.kind !== "unknown") {
      throw new HistoryError("BAD_EVENT", `event of op ${opId} has kind ${String((event as { kind: unknown }).kind)}`);
    }
    const entry = byId.get(opId);
    if (entry === undefined) throw new HistoryError("UNKNOWN_OP_ID", `outcome for op ${opId} without an invoke`);
    if (entry.done) throw new HistoryError("DUPLICATE_OUTCOME", `op ${opId} has two outcomes`);
    if (event.timeMs < entry.invoke.timeMs) {
      throw new HistoryError("TIME_REVERSED", `op ${opId} returns at ${event.timeMs} before its invoke at ${entry.invoke.timeMs}`);
    }
    entry.done = true;
    if (outstandingByClient.get(entry.invoke.clientId) === opId) outstandingByClient.delete(entry.invoke.clientId);

    const base = { opId, clientId: entry.invoke.clientId, call: entry.invoke.timeMs, input: entry.invoke.op };
    if (event.kind === "unknown") {
      entry.op = { ...base, ret: Infinity };
      continue;
    }
    const verdict = classify(entry.invoke.op, event.output, event.kind);
    if (verdict === "drop") entry.op = null;
    else if (verdict === "unknown") entry.op = { ...base, ret: Infinity };
    else entry.op = { ...base, ret: event.timeMs, output: event.output };
  }

  const ops: Operation<I, O>[] = [];
  for (const entry of order) {
    if (entry.op === null) continue;
    ops.push(
      entry.op ?? {
        opId: entry.invoke.opId,
        clientId: entry.invoke.clientId,
        call: entry.invoke.timeMs,
        ret: Infinity,
        input: entry.invoke.op,
      },
    );
  }
  return ops;
}

/**
 * Records a history as a workload runs. Every client must be sequential (one outstanding op at a time); a
 * client that gives up on an op (unknown) may invoke the next one at once, since an unknown op is finished
 * from the client's point of view.
 */
export class HistoryRecorder<I = unknown, O = unknown> {
  private readonly recorded: HistoryEvent<I, O>[] = [];
  private readonly clientOf = new Map<number, ClientId>();
  private nextOpId = 0;

  constructor(
    private readonly clock: () => number = () => performance.now(),
    /** A bound on memory: a long chaos run stops recording (and says so) rather than exhausting the heap. */
    private readonly maxEvents = 2_000_000,
  ) {}

  invoke(clientId: ClientId, op: I): number {
    this.ensureRoom();
    const opId = this.nextOpId++;
    this.clientOf.set(opId, clientId);
    this.recorded.push({ kind: "invoke", opId, clientId, op, timeMs: this.clock() });
    return opId;
  }

  ok(opId: number, output: O): void {
    this.recorded.push({ kind: "ok", opId, clientId: this.client(opId), timeMs: this.clock(), output });
  }

  fail(opId: number, output: O): void {
    this.recorded.push({ kind: "fail", opId, clientId: this.client(opId), timeMs: this.clock(), output });
  }

  unknown(opId: number): void {
    this.recorded.push({ kind: "unknown", opId, clientId: this.client(opId), timeMs: this.clock() });
  }

  get size(): number {
    return this.recorded.length;
  }

  events(): readonly HistoryEvent<I, O>[] {
    return this.recorded;
  }

  toJSON(): readonly HistoryEvent<I, O>[] {
    return this.recorded;
  }

  private client(opId: number): ClientId {
    const clientId = this.clientOf.get(opId);
    if (clientId === undefined) throw new HistoryError("UNKNOWN_OP_ID", `outcome for op ${opId} without an invoke`);
    // An op gets exactly one outcome; forgetting it makes a second outcome fail loudly.
    this.clientOf.delete(opId);
    return clientId;
  }

  private ensureRoom(): void {
    // Room for the invoke and its outcome.
    if (this.recorded.length + 2 > this.maxEvents) {
      throw new HistoryError("HISTORY_FULL", `history holds ${this.recorded.length} events (limit ${this.maxEvents})`);
    }
  }
}

/** One event per line: the report's history.jsonl. */
export function historyToJsonLines(events: readonly HistoryEvent[]): string {
  return events.map((event) => JSON.stringify(event)).join("\n") + (events.length > 0 ? "\n" : "");
}

/** Parses history.jsonl, checking each event's shape (not the inputs and outputs, which are the model's). */
export function parseHistoryJsonLines(text: string): HistoryEvent[] {
  const events: HistoryEvent[] = [];
  const lines = text.split("\n");
  for (let i = 0; i < lines.length; i++) {
    const line = lines[i]?.trim();
    if (line === undefined || line === "") continue;
    let value: unknown;
    try {
      value = JSON.parse(line);
    } catch {
      throw new HistoryError("BAD_EVENT", `line ${i + 1} is not JSON`);
    }
    events.push(checkEventShape(value, i + 1));
  }
  return events;
}

function checkEventShape(value: unknown, line: number): HistoryEvent {
  const bad = (why: string): never => {
    throw new HistoryError("BAD_EVENT", `line ${line}: ${why}`);
  };
  if (typeof value !== "object" || value === null || Array.isArray(value)) return bad("not an object");
  const e = value as Record<string, unknown>;
  if (e.kind !== "invoke" && e.kind !== "ok" && e.kind !== "fail" && e.kind !== "unknown") return bad("bad kind");
  if (typeof e.opId !== "number" || !Number.isSafeInteger(e.opId)) return bad("bad opId");
  if (typeof e.clientId !== "number" && typeof e.clientId !== "string") return bad("bad clientId");
  if (typeof e.timeMs !== "number" || !Number.isFinite(e.timeMs)) return bad("bad timeMs");
  if (e.kind === "invoke" && !("op" in e)) return bad("invoke without op");
  if ((e.kind === "ok" || e.kind === "fail") && !("output" in e)) return bad(`${e.kind} without output`);
  return e as unknown as HistoryEvent;
}
