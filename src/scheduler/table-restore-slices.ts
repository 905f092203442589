// Restoring a task table from snapshot bytes in bounded steps (issue 14.3). One msgpack unpack of a million-task
// snapshot (100 MiB), then the row checks and the index build, held a follower's event loop for ~5 s: it answered
// no heartbeat and served nothing meanwhile. Here the outer array's head is decoded first (magic, version, workers,
// extras: small), then the task rows one at a time (msgpack values are self-delimiting, so the rows of the tasks
// array decode as a sequence), at most RESTORE_ROWS_PER_STEP rows or about BYTES_PER_STEP bytes per step, each row going
// straight into every index. A caller yields to the event loop between steps (TaskTable.restoreInSlices); the
// synchronous TaskTable.restore runs the same steps back to back, so the simulator and the unit tests prove this
// code. The result is the table a whole-snapshot decode would build: same records, same order.
import type { TaskRecord } from "./records.js";
import { TableError } from "./errors.js";
import { badSnapshot, decodeSnapshotHead, decodeTaskRow, snapshotPackr, workerIdStrings, type SnapshotHead } from "./snapshot.js";
import { SortedList } from "./sorted-list.js";
import { byFinishOrder, byId, byQueueOrder, isTerminal, newStateLists, TaskIndexes, type StateLists, type TerminalState } from "./task-indexes.js";
import type { TaskState } from "./types.js";

/** Rows decoded and indexed in one step at most: a few milliseconds of work on a quiet machine. */
export const RESTORE_ROWS_PER_STEP = 1024;
/** A step also ends once its rows reach this many bytes (payloads may be up to 1 MiB each). */
export const RESTORE_BYTES_PER_STEP = 256 * 1024;
/** Bytes handed to the decoder per step: a step ends on its own bounds first, not on the window's. */
const RESTORE_WINDOW_BYTES = 128 * 1024;

/** What one step did: the bound a test checks, counted rather than timed. */
export interface RestoreStepWork {
  readonly rows: number;
  readonly bytes: number;
}

export class TableRestorer {
  private head: SnapshotHead | null = null;
  /** Where the next task row starts in the bytes, and how many rows there are and were read. */
  private offset = 0;
  private rowCount = 0;
  private rowsRead = 0;
  private previousId: string | null = null;
  private readonly tasks = new Map<string, TaskRecord>();
  private readonly all = new SortedList<TaskRecord>(byId);
  private readonly byState = newStateLists();
  private readonly byWorker = new Map<string, StateLists>();
  private readonly pending = new SortedList<TaskRecord>(byQueueOrder);
  private readonly finished: Record<TerminalState, SortedList<TaskRecord>> = {
    completed: new SortedList(byFinishOrder),
    dead: new SortedList(byFinishOrder),
    cancelled: new SortedList(byFinishOrder),
  };
  /** Worker id → the worker record's own string (assigned tasks share it: owned-string.ts). */
  private workerIds: ReadonlyMap<string, string> = new Map();
  /** The work of the last step. */
  lastStep: RestoreStepWork = { rows: 0, bytes: 0 };

  constructor(private readonly bytes: Uint8Array) {}

  /** Works until performance.now() passes deadlineMs (at least one step); true once the table is complete.
   *  Throws TableError BAD_SNAPSHOT on anything inconsistent, as decodeSnapshot does. */
  step(deadlineMs: number): boolean {
    if (this.head === null) {
      this.readHead();
      this.lastStep = { rows: 0, bytes: this.offset };
      return this.done();
    }
    for (;;) {
      this.readRows();
      if (this.done() || performance.now() >= deadlineMs) return this.done();
    }
  }

  /** The head (appliedIndex, rrCursor, workers, extras) and the indexes; only once step() returned true. */
  result(): { head: SnapshotHead; indexes: TaskIndexes } {
    if (this.head === null || !this.done()) throw new Error("restore: not finished");
    const indexes = TaskIndexes.fromParts({ tasks: this.tasks, all: this.all, byState: this.byState, byWorker: this.byWorker, pending: this.pending, finished: this.finished });
    return { head: this.head, indexes };
  }

  private done(): boolean {
    return this.head !== null && this.rowsRead === this.rowCount;
  }

  /** The outer array's header, every element before the tasks, and the tasks array's header. */
  private readHead(): void {
    const first = this.bytes[0];
    if (first === undefined || (first & 0xf0) !== 0x90) throw badSnapshot("not a task table snapshot");
    const elementCount = first & 0x0f;
    const elements: unknown[] = [];
    let end = 1;
    if (elementCount > 1) {
      this.unpackFrom(1, Number.POSITIVE_INFINITY, (value, _start, valueEnd) => {
        elements.push(value);
        end = 1 + valueEnd;
        return elements.length < elementCount - 1;
      });
    }
    this.head = decodeSnapshotHead(elements, elementCount);
    this.workerIds = workerIdStrings(this.head.workers);
    const [count, headerBytes] = arrayHeaderAt(this.bytes, end);
    this.rowCount = count;
    this.offset = end + headerBytes;
    if (count === 0 && this.offset !== this.bytes.byteLength) throw badSnapshot("trailing bytes after the tasks");
  }

  /** One step's rows: decoded, checked, and put in every index. */
  private readRows(): void {
    const rows: TaskRecord[] = [];
    const start = this.offset;
    if (this.offset >= this.bytes.byteLength) throw badSnapshot(`${this.rowCount - this.rowsRead} task rows missing`);
    this.unpackFrom(this.offset, RESTORE_WINDOW_BYTES, (row, _start, rowEnd) => {
      const record = decodeTaskRow(row, this.rowsRead, this.head!.taskColumns, this.previousId, this.workerIds);
      if (record.state === "assigned" && !this.workerIds.has(record.worker ?? "")) {
        throw new TableError("BAD_SNAPSHOT", `task ${record.id} is assigned to unknown worker ${String(record.worker)}`);
      }
      this.previousId = record.id;
      this.rowsRead++;
      rows.push(record);
      const consumed = start + rowEnd;
      this.offset = consumed;
      return this.rowsRead < this.rowCount && rows.length < RESTORE_ROWS_PER_STEP && consumed - start < RESTORE_BYTES_PER_STEP;
    });
    if (this.rowsRead === this.rowCount && this.offset !== this.bytes.byteLength) throw badSnapshot("trailing bytes after the tasks");
    this.index(rows);
    this.lastStep = { rows: rows.length, bytes: this.offset - start };
  }

  /** Puts rows (sorted by id, all after the rows before them) in every index. */
  private index(rows: readonly TaskRecord[]): void {
    const byState: Record<TaskState, TaskRecord[]> = { pending: [], assigned: [], completed: [], dead: [], cancelled: [] };
    const byWorker = new Map<string, Record<TaskState, TaskRecord[]>>();
    for (const t of rows) {
      this.tasks.set(t.id, t);
      byState[t.state].push(t);
      if (t.state === "pending") this.pending.insert(t);
      if (isTerminal(t.state)) this.finished[t.state].insert(t);
      if (t.worker === null) continue;
      let lists = byWorker.get(t.worker);
      if (lists === undefined) byWorker.set(t.worker, (lists = { pending: [], assigned: [], completed: [], dead: [], cancelled: [] }));
      lists[t.state].push(t);
    }
    this.all.appendSorted(rows);
    appendStateLists(this.byState, byState);
    for (const [worker, lists] of byWorker) {
      let target = this.byWorker.get(worker);
      if (target === undefined) this.byWorker.set(worker, (target = newStateLists()));
      appendStateLists(target, lists);
    }
  }

  /** msgpack values one after another from `at`, until `each` returns false or the bytes end (positions are
   *  relative to `at`). An undecodable value is a bad snapshot. */
  private unpackFrom(at: number, windowBytes: number, each: (value: unknown, start: number, end: number) => boolean): void {
    // A window, not the rest of the bytes: msgpackr's native string extraction decodes strings ahead up to the end
    // of what it is given, so every step paid for the whole remaining table. A value cut by the window's end ends
    // the step after the whole values before it; a value longer than the window (a big payload) is read with the
    // rest of the bytes.
    let read = 0;
    const end = Math.min(this.bytes.byteLength, at + windowBytes);
    try {
      snapshotPackr.unpackMultiple(this.bytes.subarray(at, end), (value: unknown, start?: number, valueEnd?: number) => (read++, each(value, start ?? 0, valueEnd ?? 0)));
    } catch (err) {
      if ((err as { code?: unknown }).code === "BAD_SNAPSHOT") throw err;
      if ((err as { incomplete?: unknown }).incomplete === true && end < this.bytes.byteLength) {
        if (read === 0) this.unpackFrom(at, Number.POSITIVE_INFINITY, each);
        return;
      }
      throw badSnapshot(`undecodable: ${(err as Error).message}`);
    }
  }
}

function appendStateLists(target: StateLists, rows: Record<TaskState, TaskRecord[]>): void {
  for (const state of Object.keys(rows) as TaskState[]) if (rows[state].length > 0) target[state].appendSorted(rows[state]);
}

/** msgpack's array header at `at`: [element count, header length]. */
function arrayHeaderAt(bytes: Uint8Array, at: number): [number, number] {
  const b = bytes[at];
  if (b === undefined) throw badSnapshot("workers/tasks must be arrays");
  if ((b & 0xf0) === 0x90) return [b & 0x0f, 1];
  if (b === 0xdc && at + 3 <= bytes.byteLength) return [(bytes[at + 1]! << 8) | bytes[at + 2]!, 3];
  if (b === 0xdd && at + 5 <= bytes.byteLength) return [((bytes[at + 1]! << 24) >>> 0) + ((bytes[at + 2]! << 16) | (bytes[at + 3]! << 8) | bytes[at + 4]!), 5];
  throw badSnapshot("workers/tasks must be arrays");
}
