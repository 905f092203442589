// The table's snapshot format. One msgpack array with a fixed layout, so the same table always gives the same
// bytes (tasks and workers sorted by id by the caller, every field in a fixed position, absent optionals as a
// flag rather than a missing key):
//   ["raftsched-table", 3, appliedIndex, rrCursor, workers, tableExtras | null, tasks]
//   worker: [id, alive, capacity, changedAtMs, currentWeight, extras | null]
//   task:   [id, state, worker, attempt, priority, maxAttempts, createdIndex, updatedIndex, createdAtMs,
//            retryAtMs, flags (1 = has result, 2 = has error), payload, result | null, error | null, extras | null]
// The extras are maps of the fields added since format 2 (record-extras.ts), keys sorted, null when empty: new
// fields go there, so adding one does not change the layout again.
// Older formats still decode, so a data dir or a snapshot in flight from an older node stays readable:
// format 2 is format 3 without any extras (["raftsched-table", 2, appliedIndex, rrCursor, workers, tasks], rows one
// column shorter); format 1 (before smooth weighted round-robin) also lacks the workers' currentWeight (all 0).

import { Packr } from "msgpackr";
import type { TaskRecord, WorkerRecord } from "./records.js";
import {
  canonicalExtras,
  decodeTableExtras,
  decodeTaskExtras,
  decodeWorkerExtras,
  type TableExtras,
} from "./record-extras.js";
import type { FrozenList } from "./sorted-list.js";
import { inStateForm, valuesOf } from "./task-record-values.js";
import { ownedString } from "./owned-string.js";
import { TableError } from "./errors.js";
import { TASK_STATES, type JsonValue, type TaskState } from "./types.js";

const MAGIC = "raftsched-table";
const VERSION = 3;
const VERSION_WITHOUT_EXTRAS = 2;
const VERSION_WITHOUT_WEIGHTS = 1;
const HAS_RESULT = 1;
const HAS_ERROR = 2;

const packr = new Packr({ useRecords: false, moreTypes: false });

/** What a snapshot holds: a consistent view of the table at one applied index, never changed afterwards (task
 *  records are immutable, the blocks are a TaskTable's frozen copy-on-write view, workers are copies). */
export interface SnapshotView {
  readonly appliedIndex: number;
  readonly rrCursor: string | null;
  /** Sorted by id. */
  readonly workers: readonly WorkerRecord[];
  readonly extras?: TableExtras;
  /** Sorted by id: the concatenation of the blocks. */
  readonly tasks: FrozenList<TaskRecord>;
}

export interface DecodedSnapshot {
  readonly appliedIndex: number;
  readonly rrCursor: string | null;
  readonly workers: WorkerRecord[];
  readonly extras: TableExtras | undefined;
  readonly tasks: TaskRecord[];
}

/** Task rows packed per msgpackr call at most: enough to amortize the call (~25 KiB for typical tasks). */
const ROWS_PER_PACK = 256;
/** Bytes per msgpackr call aimed at: big payloads (up to 1 MiB each) shrink the batch, so one unit of work, and
 *  so the longest stretch between deadline checks, stays short. */
const PACK_TARGET_BYTES = 256 * 1024;
/** Bytes copied between two deadline checks while assembling the result: well under a millisecond of memcpy. */
export const ASSEMBLE_BYTES_PER_CHECK = 1024 * 1024;

export interface SnapshotEncoderOptions {
  /** Bytes to put before the table's in the result (a wrapper's header, see src/node/snapshot-data.ts): the
   *  result is prefix + table in one buffer, so wrapping the table costs no second big allocation and copy. */
  readonly prefix?: Uint8Array;
}

/**
 * Serializes a SnapshotView in steps, so a caller can yield to the event loop between them. The output is the
 * format above byte for byte: the outer array and the task array headers are written by hand (msgpack's
 * fixarray/array16/array32 rules), and every row is packed by the same Packr as one whole-table pack() would —
 * a msgpack value's encoding does not depend on where it sits, so the concatenation is the same bytes.
 */
export class SnapshotEncoder {
  private readonly chunks: Uint8Array[] = [];
  private totalBytes = 0;
  private block = 0;
  private offset = 0;
  private rows = 0;
  private rowsPerPack = ROWS_PER_PACK;
  private out: Uint8Array | null = null;
  private assembledChunks = 0;
  private assembledBytes = 0;
  private readonly prefix: Uint8Array;

  constructor(
    private readonly view: SnapshotView,
    options: SnapshotEncoderOptions = {},
  ) {
    this.prefix = new Uint8Array(options.prefix ?? EMPTY); // a copy: the caller may reuse its buffer
    const workers = view.workers.map((w) => [
      w.id,
      w.alive,
      w.capacity,
      w.changedAtMs,
      w.currentWeight,
      canonicalExtras(w.extras),
    ]);
    const head = packr.pack([MAGIC, VERSION, view.appliedIndex, view.rrCursor, workers, canonicalExtras(view.extras)]);
    if (head[0] !== 0x96) throw new Error("snapshot: unexpected header encoding");
    this.push(Uint8Array.of(0x97)); // the same array with the tasks as its seventh element
    this.push(head.subarray(1));
    this.push(arrayHeader(view.tasks.size));
  }

  /** Works until performance.now() passes deadlineMs (at least one unit of work); true once the bytes are ready. */
  step(deadlineMs: number): boolean {
    if (this.out !== null && this.assembledChunks === this.chunks.length) return true;
    const blocks = this.view.tasks.blocks;
    while (this.block < blocks.length) {
      const rows: unknown[] = [];
      while (rows.length < this.rowsPerPack && this.block < blocks.length) {
        const block = blocks[this.block]!;
        rows.push(taskRow(block[this.offset]!));
        if (++this.offset === block.length) {
          this.block += 1;
          this.offset = 0;
        }
      }
      this.rows += rows.length;
      const packed = packr.pack(rows);
      this.push(packed.subarray(arrayHeaderLength(packed[0]!)));
      const fitting = Math.floor((rows.length * PACK_TARGET_BYTES) / packed.byteLength);
      this.rowsPerPack = Math.max(1, Math.min(ROWS_PER_PACK, fitting));
      if (performance.now() >= deadlineMs) return false;
    }
    if (this.rows !== this.view.tasks.size) {
      throw new Error(`snapshot: ${this.rows} tasks iterated, ${this.view.tasks.size} expected`);
    }
    // Assemble into one buffer, also in steps: a 70 MiB copy is itself a few tens of ms.
    if (this.out === null) {
      this.out = new Uint8Array(this.prefix.byteLength + this.totalBytes);
      this.out.set(this.prefix, 0);
      this.assembledBytes = this.prefix.byteLength;
    }
    let copied = 0;
    while (this.assembledChunks < this.chunks.length) {
      const chunk = this.chunks[this.assembledChunks]!;
      this.out.set(chunk, this.assembledBytes);
      this.assembledBytes += chunk.byteLength;
      this.chunks[this.assembledChunks++] = EMPTY; // let the chunk go
      copied += chunk.byteLength;
      if (copied >= ASSEMBLE_BYTES_PER_CHECK) {
        copied = 0;
        if (performance.now() >= deadlineMs) return false;
      }
    }
    return true;
  }

  /** Bytes of the result written so far (prefix included): how far the final assembly got. */
  get bytesAssembled(): number {
    return this.assembledBytes;
  }

  /** The snapshot bytes (after the prefix, if one was given); only after step() returned true. */
  result(): Uint8Array {
    if (this.out === null || this.assembledChunks !== this.chunks.length) throw new Error("snapshot: not finished");
    return this.out;
  }

  private push(bytes: Uint8Array): void {
    // A copy: msgpackr may hand back a view of a buffer it reuses for later packs.
    const copy = new Uint8Array(bytes);
    this.chunks.push(copy);
    this.totalBytes += copy.byteLength;
  }
}

const EMPTY = new Uint8Array(0);

/** Default work per turn of the event loop: with the checks' overshoot a turn stays well under the ~25 ms that a
 *  heartbeat (50 ms) can afford to wait. */
export const DEFAULT_SLICE_MS = 8;
/** Default pause between slices. Snapshotting is background work: without a pause it takes all the CPU the node
 *  gets until it is done, and on a shared box (3 nodes on 2 cores in the load test) that CPU is taken from the
 *  peers too, whose heartbeats then come late. With 8 ms of work and 4 ms of rest it takes at most 2/3 of a core. */
export const DEFAULT_REST_MS = 4;

export interface SliceOptions {
  readonly sliceMs?: number;
  readonly restMs?: number;
}

/** Runs an encoder to the end in slices of sliceMs, resting restMs between them (0: only yield, via setImmediate,
 *  so timers and I/O run between two slices). */
export async function encodeInSlices(encoder: SnapshotEncoder, options: SliceOptions = {}): Promise<Uint8Array> {
  const sliceMs = options.sliceMs ?? DEFAULT_SLICE_MS;
  const restMs = options.restMs ?? DEFAULT_REST_MS;
  while (!encoder.step(performance.now() + sliceMs)) {
    await new Promise<void>((resolve) => (restMs > 0 ? setTimeout(resolve, restMs) : setImmediate(resolve)));
  }
  return encoder.result();
}

function taskRow(t: TaskRecord): unknown[] {
  // A terminal task's values are parsed back from their packed JSON (task-values.ts): the same values, so the
  // same bytes as before they were packed, and the format does not change.
  const { payload, result, error } = valuesOf(t);
  const flags = (result !== undefined ? HAS_RESULT : 0) | (error !== undefined ? HAS_ERROR : 0);
  return [
    t.id,
    t.state,
    t.worker,
    t.attempt,
    t.priority,
    t.maxAttempts,
    t.createdIndex,
    t.updatedIndex,
    t.createdAtMs,
    t.retryAtMs,
    flags,
    payload,
    result ?? null,
    error ?? null,
    canonicalExtras(t.extras),
  ];
}

/** msgpack's array header for n elements, as msgpackr writes it (the shortest form). */
function arrayHeader(n: number): Uint8Array {
  if (n < 16) return Uint8Array.of(0x90 | n);
  if (n < 0x10000) return Uint8Array.of(0xdc, n >>> 8, n & 0xff);
  return Uint8Array.of(0xdd, (n >>> 24) & 0xff, (n >>> 16) & 0xff, (n >>> 8) & 0xff, n & 0xff);
}

function arrayHeaderLength(firstByte: number): number {
  if ((firstByte & 0xf0) === 0x90) return 1;
  if (firstByte === 0xdc) return 3;
  if (firstByte === 0xdd) return 5;
  throw new Error(`snapshot: 0x${firstByte.toString(16)} is not an array header`);
}

export function decodeSnapshot(bytes: Uint8Array): DecodedSnapshot {
  let root: unknown;
  try {
    root = packr.unpack(bytes);
  } catch (err) {
    throw bad(`undecodable: ${(err as Error).message}`);
  }
  if (!Array.isArray(root)) throw bad("not a task table snapshot");
  const head = decodeSnapshotHead(root.slice(0, -1), root.length);
  const tasks = root[root.length - 1] as unknown;
  if (!Array.isArray(tasks)) throw bad("workers/tasks must be arrays");
  const taskRecords: TaskRecord[] = new Array(tasks.length);
  const workerIds = workerIdStrings(head.workers);
  for (let i = 0; i < tasks.length; i++) taskRecords[i] = decodeTaskRow(tasks[i], i, head.taskColumns, i > 0 ? taskRecords[i - 1]!.id : null, workerIds);
  return { appliedIndex: head.appliedIndex, rrCursor: head.rrCursor, workers: head.workers, extras: head.extras, tasks: taskRecords };
}

/** Everything of a snapshot but its task rows, and how many columns those rows have. */
export interface SnapshotHead {
  readonly appliedIndex: number;
  readonly rrCursor: string | null;
  readonly workers: WorkerRecord[];
  readonly extras: TableExtras | undefined;
  readonly taskColumns: number;
}

/** Checks and decodes the outer array's elements before the tasks (`elements`), of an outer array of
 *  `elementCount` elements (the tasks array is the last). Throws BAD_SNAPSHOT. */
export function decodeSnapshotHead(elements: readonly unknown[], elementCount: number): SnapshotHead {
  if (elements[0] !== MAGIC) throw bad("not a task table snapshot");
  const version = elements[1];
  if (version !== VERSION && version !== VERSION_WITHOUT_EXTRAS && version !== VERSION_WITHOUT_WEIGHTS) {
    throw bad(`unsupported version ${String(version)}`);
  }
  const withExtras = version === VERSION;
  if (elementCount !== (withExtras ? 7 : 6) || elements.length !== elementCount - 1) throw bad("not a task table snapshot");
  const [, , appliedIndex, rrCursor, workers] = elements;
  const tableExtras = withExtras ? decodeTableExtras(elements[5]) : undefined;
  const workerColumns = version === VERSION ? 6 : version === VERSION_WITHOUT_EXTRAS ? 5 : 4;
  if (!isNat(appliedIndex)) throw bad("appliedIndex");
  if (rrCursor !== null && typeof rrCursor !== "string") throw bad("rrCursor");
  if (!Array.isArray(workers)) throw bad("workers/tasks must be arrays");
  return { appliedIndex, rrCursor, workers: decodeWorkerRows(workers, workerColumns), extras: tableExtras, taskColumns: withExtras ? 15 : 14 };
}

function decodeWorkerRows(workers: unknown[], workerColumns: number): WorkerRecord[] {
  const workerRecords: WorkerRecord[] = [];
  let previous: string | null = null;
  for (const w of workers) {
    if (!Array.isArray(w) || w.length !== workerColumns) throw bad("worker row");
    const [id, alive, capacity, changedAtMs, currentWeight = 0, rawExtras = null] = w as unknown[];
    if (typeof id !== "string" || typeof alive !== "boolean" || !isNat(capacity) || !isNat(changedAtMs)) {
      throw bad(`worker row ${String(id)}`);
    }
    if (!Number.isSafeInteger(currentWeight)) throw bad(`worker row ${id}: currentWeight`);
    if (previous !== null && !(previous < id)) throw bad("workers not sorted by id");
    previous = id;
    const record: WorkerRecord = { id, alive, capacity, changedAtMs, currentWeight: currentWeight as number };
    const extras = decodeWorkerExtras(rawExtras, `worker ${id}`);
    if (extras !== undefined) record.extras = extras;
    workerRecords.push(record);
  }
  return workerRecords;
}

/** Checks and decodes task row `i` (`previousId`: the row before it, which must sort before it). */
export function decodeTaskRow(row: unknown, i: number, taskColumns: number, previousId: string | null, workerIds?: ReadonlyMap<string, string>): TaskRecord {
  if (!Array.isArray(row) || row.length !== taskColumns) throw bad(`task row ${i}`);
  const [id, state, worker, attempt, priority, maxAttempts, createdIndex, updatedIndex, createdAtMs, retryAtMs, flags] = row as unknown[];
  if (typeof id !== "string") throw bad(`task row ${i}: id`);
  if (previousId !== null && !(previousId < id)) throw bad("tasks not sorted by id");
  if (typeof state !== "string" || !TASK_STATES.includes(state as TaskState)) throw bad(`task ${id}: state`);
  if (worker !== null && typeof worker !== "string") throw bad(`task ${id}: worker`);
  if ((state === "pending") !== (worker === null) && state !== "cancelled") throw bad(`task ${id}: worker vs state`);
  if (
    !isNat(attempt) ||
    !Number.isSafeInteger(priority) ||
    !isNat(maxAttempts) ||
    !isNat(createdIndex) ||
    !isNat(updatedIndex) ||
    !isNat(createdAtMs) ||
    !isNat(retryAtMs) ||
    !isNat(flags)
  ) {
    throw bad(`task ${id}: numbers`);
  }
  const payload = row[11] as JsonValue;
  const result = (flags & HAS_RESULT) !== 0 ? (row[12] as JsonValue) : undefined;
  const error = (flags & HAS_ERROR) !== 0 ? (row[13] as JsonValue) : undefined;
  const extras = taskColumns === 15 ? decodeTaskExtras(row[14], `task ${id}`) : undefined;
  // Strings kept for the task's life are not slices of the decoded snapshot's text (owned-string.ts); an assigned
  // task shares its worker record's id string.
  const record: TaskRecord = {
    id: ownedString(id),
    state: state as TaskState,
    worker: worker === null ? null : (workerIds?.get(worker as string) ?? ownedString(worker as string)),
    attempt,
    payload,
    priority: priority as number,
    maxAttempts,
    result,
    error,
    createdIndex,
    updatedIndex,
    createdAtMs,
    retryAtMs,
  };
  // Only when present: the records of a table that never used an extra field stay as submit() builds them.
  // A terminal task's values are packed here, as apply() packs them (task-record-values.ts).
  return inStateForm(extras === undefined ? record : { ...record, extras });
}

/** Each worker id mapped to the worker record's own string, which the assigned tasks' records then share. */
export function workerIdStrings(workers: readonly WorkerRecord[]): ReadonlyMap<string, string> {
  return new Map(workers.map((w) => [w.id, w.id]));
}

/** The snapshot's Packr (rows decode one at a time with it: src/scheduler/table-restore-slices.ts). */
export const snapshotPackr = packr;

/** BAD_SNAPSHOT with the message the decoders use. */
export function badSnapshot(message: string): TableError {
  return bad(message);
}

function isNat(v: unknown): v is number {
  return Number.isSafeInteger(v) && (v as number) >= 0;
}

function bad(message: string): TableError {
  return new TableError("BAD_SNAPSHOT", `bad snapshot: ${message}`);
}
