// The SDK's error: a stable `code` (the node's error codes, or the SDK's own: BAD_ARGS, WORKER_CLOSED, TIMEOUT,
// ABORTED, SUPERSEDED, BAD_PROGRESS) and a message.
export class WorkerError extends Error {
  constructor(
    readonly code: string,
    message: string,
  ) {
    super(message);
    this.name = "WorkerError";
  }
}
