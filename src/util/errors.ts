// One error shape for the whole project: a stable machine-readable `code` plus a human message.
// HTTP answers map codes to statuses (src/api/errors.ts); the CLI prints the message on one line.

export class RaftschedError extends Error {
  readonly code: string;
  readonly details?: Record<string, unknown>;
  constructor(code: string, message: string, details?: Record<string, unknown>) {
    super(message);
    this.name = "RaftschedError";
    this.code = code;
    if (details) this.details = details;
  }
}

export function errorCode(err: unknown): string | undefined {
  if (err && typeof err === "object" && "code" in err && typeof (err as { code: unknown }).code === "string") {
    return (err as { code: string }).code;
  }
  return undefined;
}

export function errorMessage(err: unknown): string {
  if (err instanceof Error) return err.message;
  return String(err);
}
