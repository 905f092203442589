// A worker's reports not yet answered by the leader. A report is sent at once and again after every
// (re)registration until an answer comes (accepted, refused, or an error naming it): a leader that died with the
// report uncommitted, or a connection that dropped, loses nothing. Sending the same report twice is safe: the
// table answers a repeated completion of the attempt that completed the task, and fencing refuses the rest.

/** More unanswered reports than this means the leader is gone for long; the oldest are dropped (the leader
 *  reassigns their tasks once it declares this worker dead, so nothing is lost, only redone). */
export const MAX_UNANSWERED_REPORTS = 10_000;
const RETRY_LATER_MS = 500;

type Frame = Record<string, unknown> & { type: string };

export interface ReportOutbox {
  readonly size: number;
  add(taskId: string, attempt: number, frame: Frame): void;
  has(taskId: string, attempt: number): boolean;
  answered(taskId: string, attempt: number): void;
  /** An error frame naming the task: NOT_HELD drops it, RESULT_TOO_LARGE turns it into a failure. */
  onRefusedReport(taskId: string, code: string): void;
  retryLater(taskId: string): void;
  resendAll(): void;
}

export function createOutbox(send: (frame: Frame) => boolean): ReportOutbox {
  const pending = new Map<string, { attempt: number; frame: Frame }>();
  const transmit = (frame: Frame): void => {
    try {
      JSON.stringify(frame);
    } catch (err) {
      // A result JSON cannot carry (a BigInt, a cycle): the attempt fails instead.
      frame = { type: "fail", taskId: frame.taskId, attempt: frame.attempt, error: { code: "BAD_RESULT", message: (err as Error).message } };
      pending.set(String(frame.taskId), { attempt: Number(frame.attempt), frame });
    }
    send(frame);
  };
  return {
    get size() {
      return pending.size;
    },
    add(taskId, attempt, frame) {
      if (pending.size >= MAX_UNANSWERED_REPORTS) pending.delete(pending.keys().next().value as string);
      pending.set(taskId, { attempt, frame });
      transmit(frame);
    },
    has(taskId, attempt) {
      return pending.get(taskId)?.attempt === attempt;
    },
    answered(taskId, attempt) {
      if (pending.get(taskId)?.attempt === attempt) pending.delete(taskId);
    },
    onRefusedReport(taskId, code) {
      const p = pending.get(taskId);
      if (p === undefined) return;
      if (code === "RESULT_TOO_LARGE" && p.frame.type === "complete") {
        const frame = { type: "fail", taskId, attempt: p.attempt, error: { code, message: "the result was too large to report" } };
        pending.set(taskId, { attempt: p.attempt, frame });
        transmit(frame);
        return;
      }
      pending.delete(taskId);
    },
    retryLater(taskId) {
      setTimeout(() => {
        const p = pending.get(taskId);
        if (p !== undefined) transmit(p.frame);
      }, RETRY_LATER_MS).unref();
    },
    resendAll() {
      for (const p of pending.values()) transmit(p.frame);
    },
  };
}
