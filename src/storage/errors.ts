// Errors from the durable store carry a stable code, as everywhere in raftsched. A node that sees any of them
// on its write path must stop: continuing could acknowledge state that is not on disk.

export type StorageErrorCode =
  /** What is on disk does not form a valid Raft log; `key` names the first offending key. */
  | "STORAGE_CORRUPT"
  /** The store was written by an incompatible format version. */
  | "STORAGE_VERSION"
  /** A write that the in-memory log would also refuse (a gap, a snapshot past the log, ...): a caller bug. */
  | "STORAGE_INVARIANT"
  /** A previous write failed; what reached the disk is unknown, so the store refuses all further writes. */
  | "STORAGE_FAILED"
  /** A write failed because the disk is full (ENOSPC); the store refuses further writes, as for STORAGE_FAILED. */
  | "STORAGE_NO_SPACE"
  /** A write failed with an I/O error (EIO); the store refuses further writes, as for STORAGE_FAILED. */
  | "STORAGE_IO_ERROR"
  /** Too many writes queued (the runner is not awaiting persist, or the disk stalled). */
  | "STORAGE_OVERLOADED"
  | "STORAGE_CLOSED"
  /** Another process holds the data dir's LevelDB lock (a second node started on the same dir). */
  | "STORAGE_LOCKED";

export class StorageError extends Error {
  readonly code: StorageErrorCode;
  /** The key involved, in readable form (e.g. "e/00000000000000000007", "h"), when there is one. */
  readonly key: string | undefined;
  constructor(code: StorageErrorCode, message: string, options: { key?: string; cause?: unknown } = {}) {
    super(message, options.cause === undefined ? undefined : { cause: options.cause });
    this.name = "StorageError";
    this.code = code;
    this.key = options.key;
  }
}
