// A snapshot restore that lets the event loop turn (issue 14.3): the restorer's steps (table-restore-slices.ts) in
// slices of about sliceMs, with timers and sockets served between two slices, so a node installing a million-task
// snapshot keeps hearing its leader instead of going silent for seconds.
import { DEFAULT_SNAPSHOT_SLICE_MS, TaskTable } from "./table.js";
import { TableRestorer } from "./table-restore-slices.js";

export interface RestoreSliceOptions {
  /** Work at most about this long before yielding (default 8 ms, as the snapshot's serialization). */
  readonly sliceMs?: number;
  /** Rest between slices (default 0: a setImmediate, so timers and I/O run between two slices). */
  readonly restMs?: number;
  /** Told each slice's duration (scripts/measure-restore.ts). */
  readonly onSlice?: (ms: number) => void;
}

/** TaskTable.restore(bytes), in slices. Throws TableError BAD_SNAPSHOT as restore does. */
export async function restoreTableInSlices(bytes: Uint8Array, options: RestoreSliceOptions = {}): Promise<TaskTable> {
  const restorer = new TableRestorer(bytes);
  const sliceMs = options.sliceMs ?? DEFAULT_SNAPSHOT_SLICE_MS;
  const restMs = options.restMs ?? 0;
  for (;;) {
    const startedMs = performance.now();
    const done = restorer.step(startedMs + sliceMs);
    options.onSlice?.(performance.now() - startedMs);
    if (done) return TaskTable.fromRestorer(restorer);
    await new Promise<void>((resolve) => (restMs > 0 ? setTimeout(resolve, restMs) : setImmediate(resolve)));
  }
}
