// The Client's one error type: the API's stable `code` (or the Client's own: UNREACHABLE, BAD_ARGS), the HTTP
// status (0 when no answer came), and whether trying again elsewhere can help.
export class ClientError extends Error {
  readonly code: string;
  readonly status: number;
  readonly retryable: boolean;
  /** The error object's other fields (e.g. `oldestIndex` of COMPACTED, `leaderId`). */
  readonly details: Record<string, unknown>;

  constructor(code: string, message: string, status: number, retryable = false, cause?: unknown, details: Record<string, unknown> = {}) {
    super(message, cause === undefined ? undefined : { cause });
    this.name = "ClientError";
    this.code = code;
    this.status = status;
    this.retryable = retryable;
    this.details = details;
  }

  static async fromResponse(res: Response): Promise<ClientError> {
    type ErrorBody = { error?: { code?: string; message?: string } & Record<string, unknown> };
    let body: ErrorBody | null = null;
    try {
      body = (await res.json()) as ErrorBody;
    } catch {
      // not JSON: the status says enough
    }
    const { code, message, ...details } = body?.error ?? {};
    return new ClientError(code ?? `HTTP_${res.status}`, message ?? `HTTP ${res.status}`, res.status, isRetryableStatus(res.status), undefined, details);
  }
}

/** 503 (no leader, not ready, overloaded) and 504 (outcome unknown) may succeed on another try or node. */
export function isRetryableStatus(status: number): boolean {
  return status === 503 || status === 504 || status === 502;
}

/** A connection that was refused or never opened: the request surely did not arrive. */
export function isUnsentError(cause: unknown): boolean {
  const code = (cause as { cause?: { code?: string } })?.cause?.code;
  return code === "ECONNREFUSED" || code === "ENOTFOUND" || code === "EHOSTUNREACH" || code === "UND_ERR_CONNECT_TIMEOUT";
}
