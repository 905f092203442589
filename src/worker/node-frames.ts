// The checks the worker SDK makes on what a node sends it. A node is trusted, but a frame that is not what the
// protocol says (a bug, a proxy, a different server on that port) must not crash the worker's process, start an
// attempt of a task called "undefined", or send it to a url it cannot even parse: such a frame is ignored.

export type Frame = Record<string, unknown> & { type: string };

/** A JSON object with a string `type`, or null. */
export function parseNodeFrame(text: string): Frame | null {
  let value: unknown;
  try {
    value = JSON.parse(text);
  } catch {
    return null;
  }
  if (typeof value !== "object" || value === null || Array.isArray(value)) return null;
  return typeof (value as { type?: unknown }).type === "string" ? (value as Frame) : null;
}

/** The task and attempt a frame names, when both are well formed (the node's own TASK_ID rule and attempt >= 1). */
export function attemptOf(f: Frame): { taskId: string; attempt: number } | null {
  const { taskId, attempt } = f;
  if (typeof taskId !== "string" || !/^[A-Za-z0-9._:-]{1,128}$/.test(taskId)) return null;
  if (typeof attempt !== "number" || !Number.isSafeInteger(attempt) || attempt < 1) return null;
  return { taskId, attempt };
}

/** A notLeader's leaderUrl when it is an http(s) url; null otherwise (the worker then tries its own list). */
export function leaderUrlOf(f: Frame): string | null {
  if (typeof f.leaderUrl !== "string") return null;
  try {
    const url = new URL(f.leaderUrl);
    return url.protocol === "http:" || url.protocol === "https:" ? f.leaderUrl : null;
  } catch {
    return null;
  }
}

/** A deadline in ms when the frame carries a usable one. */
export function timeoutOf(f: Frame): number | undefined {
  return typeof f.timeoutMs === "number" && Number.isFinite(f.timeoutMs) && f.timeoutMs > 0 ? f.timeoutMs : undefined;
}
