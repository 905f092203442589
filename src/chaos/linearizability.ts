// A linearizability checker: the Wing–Gong search with Lowe's "just-in-time" linearization and memoization of
// (set of linearized operations, model state), as in Porcupine and Knossos. The history is first split by the
// model (for raftsched: one partition per task id, since operations on different tasks never constrain each
// other), and each partition is searched on its own.
//
// Search: the calls and returns of a partition form a time-ordered list. Walking it from the front, at a call
// we try to linearize that operation now (the model must accept its output from the current state); if it
// fits and the (linearized set, state) pair is new, the operation is removed from the list and the walk
// restarts at the front. Reaching a return means that operation cannot be placed before its own return
// under the choices made so far: undo the latest choice and try the next call after it. The history is
// linearizable iff every operation with a return is linearized.
//
// Operations whose outcome is unknown have ret = Infinity: they have no return in the list, so the search may
// linearize them at any point after their call, or never (they may not have happened at all).
//
// Models may be nondeterministic (an operation can lead to several states, e.g. "the task may or may not have
// been reassigned"). The search runs on *sets* of model states (Porcupine's power-set construction), which
// keeps it a single deterministic walk and lets memoization cover every branch at once.

import { toOperations, type HistoryEvent, type Operation, type ToOperationsOptions } from "./history.js";

export interface Model<S, I = unknown, O = unknown> {
  init(): S;
  /**
   * The states the model can be in after `input` answered `output` from `state` (output undefined: the
   * outcome is unknown, return the states the operation leads to if it took effect). Empty: illegal here.
   */
  step(state: S, input: I, output: O | undefined): S[];
  /** Equal states must hash equally; different states must hash differently. */
  hash(state: S): string;
  /** Independent sub-histories (e.g. per key); default: one partition holding every operation. */
  partition?(ops: readonly Operation<I, O>[]): Operation<I, O>[][];
  /** For counterexample text; default JSON of input and output. */
  describeOperation?(op: Operation<I, O>): string;
}

export interface CheckOptions {
  /** Give up (ok: "unknown") after this long, summed over all partitions. Default: no limit. */
  readonly timeoutMs?: number;
}

export interface Counterexample<I = unknown, O = unknown> {
  /** Every operation of the partition that cannot be linearized, in call order. */
  readonly partition: readonly Operation<I, O>[];
  /** The longest sequence of operations the search could linearize, in linearization order. */
  readonly linearized: readonly Operation<I, O>[];
  /** The model's possible states (hashes) after each operation of `linearized`. */
  readonly statesAfter: readonly (readonly string[])[];
  /** The operation whose return came before the search could place it after `linearized`. */
  readonly stuck: Operation<I, O>;
}

export interface CheckStats {
  readonly partitions: number;
  readonly operations: number;
  readonly elapsedMs: number;
  /** Largest partition, in operations. */
  readonly largestPartition: number;
}

export type CheckResult<I = unknown, O = unknown> =
  | { readonly ok: true; readonly stats: CheckStats }
  | { readonly ok: false; readonly counterexample: Counterexample<I, O>; readonly stats: CheckStats }
  | { readonly ok: "unknown"; readonly reason: "timeout"; readonly stats: CheckStats };

export function checkOperations<S, I, O>(
  model: Model<S, I, O>,
  ops: readonly Operation<I, O>[],
  options: CheckOptions = {},
): CheckResult<I, O> {
  const started = Date.now();
  const deadline = options.timeoutMs === undefined ? Infinity : started + options.timeoutMs;
  const partitions = model.partition ? model.partition(ops) : [ops.slice()];
  let largest = 0;
  let operations = 0;
  for (const p of partitions) {
    largest = Math.max(largest, p.length);
    operations += p.length;
  }
  const stats = (): CheckStats => ({
    partitions: partitions.length,
    operations,
    elapsedMs: Date.now() - started,
    largestPartition: largest,
  });

  let timedOut = false;
  for (const partition of partitions) {
    // Small partitions never reach the in-search deadline check; look between partitions too.
    if (Date.now() > deadline) {
      timedOut = true;
      break;
    }
    const verdict = checkPartition(model, partition, deadline);
    if (verdict === "timeout") {
      timedOut = true;
      break;
    }
    if (verdict !== true) return { ok: false, counterexample: verdict, stats: stats() };
  }
  if (timedOut) return { ok: "unknown", reason: "timeout", stats: stats() };
  return { ok: true, stats: stats() };
}

/** toOperations, then checkOperations. */
export function checkHistory<S, I, O>(
  model: Model<S, I, O>,
  events: readonly HistoryEvent<I, O>[],
  options: CheckOptions & ToOperationsOptions<I, O> = {},
): CheckResult<I, O> {
  return checkOperations(model, toOperations(events, options), options);
}

/** A few lines a person can read: the linearized prefix, then the operation that cannot be placed. */
export function formatCounterexample<S, I, O>(model: Model<S, I, O>, cx: Counterexample<I, O>): string {
  const describe = model.describeOperation ?? defaultDescription;
  const time = (t: number): string => (Number.isFinite(t) ? t.toFixed(1) : "∞");
  const line = (op: Operation<I, O>): string =>
    `op ${op.opId} client ${String(op.clientId)} [${time(op.call)}, ${time(op.ret)}] ${describe(op)}`;
  const out: string[] = [`${cx.partition.length} operations in the partition; linearizable prefix:`];
  cx.linearized.forEach((op, i) => {
    out.push(`  ${i + 1}. ${line(op)}  => ${(cx.statesAfter[i] ?? []).join(" | ")}`);
  });
  if (cx.linearized.length === 0) out.push("  (none)");
  out.push(`cannot be placed next: ${line(cx.stuck)}`);
  return out.join("\n");
}

function defaultDescription(op: Operation<unknown, unknown>): string {
  return `${JSON.stringify(op.input)} -> ${op.output === undefined ? "?" : JSON.stringify(op.output)}`;
}

// ---------------------------------------------------------------------------------------------------------

interface StateSet<S> {
  readonly states: readonly S[];
  readonly hash: string;
}

interface Entry {
  readonly isCall: boolean;
  readonly op: number; // index in the partition
  readonly time: number;
  /** For a call: its return entry (null when the outcome is unknown). */
  match: Entry | null;
  prev: Entry | null;
  next: Entry | null;
}

interface Frame<S> {
  readonly call: Entry;
  readonly before: StateSet<S>;
}

const DEADLINE_CHECK_EVERY = 1024;

function checkPartition<S, I, O>(
  model: Model<S, I, O>,
  ops: readonly Operation<I, O>[],
  deadline: number,
): true | "timeout" | Counterexample<I, O> {
  const head = buildEntryList(ops);
  let required = 0;
  for (const op of ops) if (op.ret !== Infinity) required++;

  const linearized = new Bitset(ops.length);
  const seen = new Set<string>();
  const stack: Frame<S>[] = [];
  let state = makeStateSet((s) => model.hash(s), [model.init()]);
  let entry = head.next;
  let best: Counterexample<I, O> | null = null;
  let steps = 0;

  while (required > 0) {
    if (++steps % DEADLINE_CHECK_EVERY === 0 && Date.now() > deadline) return "timeout";
    // While an operation with a return is unlinearized, its return is still in the list, so the walk meets
    // it before running off the end.
    if (entry === null) throw new Error("linearizability search ran past the end of the history");

    if (entry.isCall) {
      const op = ops[entry.op]!;
      const next = stepStateSet(model, state, op);
      if (next !== null) {
        linearized.set(entry.op);
        const key = `${linearized.key()}#${next.hash}`;
        if (!seen.has(key)) {
          seen.add(key);
          stack.push({ call: entry, before: state });
          state = next;
          lift(entry);
          if (op.ret !== Infinity) required--;
          entry = head.next;
          continue;
        }
        linearized.clear(entry.op);
      }
      entry = entry.next;
      continue;
    }

    // A return: its operation could not be placed before it.
    if (best === null || stack.length > best.linearized.length) best = snapshot(ops, stack, state, entry.op);
    const frame = stack.pop();
    if (frame === undefined) return best;
    state = frame.before;
    linearized.clear(frame.call.op);
    unlift(frame.call);
    if (ops[frame.call.op]!.ret !== Infinity) required++;
    entry = frame.call.next;
  }
  return true;
}

function snapshot<S, I, O>(
  ops: readonly Operation<I, O>[],
  stack: readonly Frame<S>[],
  state: StateSet<S>,
  stuck: number,
): Counterexample<I, O> {
  const statesAfter: string[][] = [];
  for (let i = 0; i < stack.length; i++) {
    const after = i + 1 < stack.length ? stack[i + 1]!.before : state;
    statesAfter.push(after.hash.split(STATE_SEPARATOR));
  }
  return {
    partition: ops,
    linearized: stack.map((frame) => ops[frame.call.op]!),
    statesAfter,
    stuck: ops[stuck]!,
  };
}

function buildEntryList<I, O>(ops: readonly Operation<I, O>[]): Entry {
  const entries: Entry[] = [];
  ops.forEach((op, i) => {
    const call: Entry = { isCall: true, op: i, time: op.call, match: null, prev: null, next: null };
    entries.push(call);
    if (op.ret !== Infinity) {
      if (!(op.ret >= op.call)) throw new Error(`op ${op.opId} returns before it is called`);
      const ret: Entry = { isCall: false, op: i, time: op.ret, match: null, prev: null, next: null };
      call.match = ret;
      entries.push(ret);
    }
  });
  // At equal times calls go first: the operations are then concurrent, the lenient reading of a tie.
  entries.sort((a, b) => a.time - b.time || (a.isCall === b.isCall ? a.op - b.op : a.isCall ? -1 : 1));
  const head: Entry = { isCall: false, op: -1, time: -Infinity, match: null, prev: null, next: null };
  let prev = head;
  for (const e of entries) {
    prev.next = e;
    e.prev = prev;
    prev = e;
  }
  return head;
}

// Dancing links: removal keeps the node's own pointers so that undoing in reverse order restores the list.
function lift(call: Entry): void {
  call.prev!.next = call.next;
  if (call.next) call.next.prev = call.prev;
  const ret = call.match;
  if (ret) {
    ret.prev!.next = ret.next;
    if (ret.next) ret.next.prev = ret.prev;
  }
}

function unlift(call: Entry): void {
  const ret = call.match;
  if (ret) {
    ret.prev!.next = ret;
    if (ret.next) ret.next.prev = ret;
  }
  call.prev!.next = call;
  if (call.next) call.next.prev = call;
}

const STATE_SEPARATOR = "\u0001";

function makeStateSet<S>(hash: (state: S) => string, states: readonly S[]): StateSet<S> {
  if (states.length === 1) return { states, hash: hash(states[0]!) }; // the common, deterministic case
  const byHash = new Map<string, S>();
  for (const s of states) {
    const h = hash(s);
    if (!byHash.has(h)) byHash.set(h, s);
  }
  const hashes = [...byHash.keys()].sort();
  return { states: hashes.map((h) => byHash.get(h)!), hash: hashes.join(STATE_SEPARATOR) };
}

function stepStateSet<S, I, O>(model: Model<S, I, O>, current: StateSet<S>, op: Operation<I, O>): StateSet<S> | null {
  const next: S[] = [];
  for (const s of current.states) next.push(...model.step(s, op.input, op.output));
  if (next.length === 0) return null;
  return makeStateSet((s) => model.hash(s), next);
}

class Bitset {
  private readonly words: Uint16Array;
  constructor(size: number) {
    this.words = new Uint16Array(Math.max(1, Math.ceil(size / 16)));
  }
  set(i: number): void {
    this.words[i >> 4]! |= 1 << (i & 15);
  }
  clear(i: number): void {
    this.words[i >> 4]! &= ~(1 << (i & 15));
  }
  key(): string {
    // 16-bit words map one-to-one onto UTF-16 code units: a compact, exact key.
    let s = "";
    for (const w of this.words) s += String.fromCharCode(w);
    return s;
  }
}
