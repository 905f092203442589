// The chaos run's check on external workers, read from their logs (the `raftsched worker` CLI logs one JSON line
// per attempt it starts, `{"worker", "taskId", "attempt", "msg": "attempt started"}`): no attempt of a task may
// start on two workers. The attempt number is the fencing token; two workers running the same attempt would mean
// an assignment was pushed to a worker that did not hold it. The same worker starting an attempt again (a killed
// worker restarted and given its assignments back) is allowed. Pure: test/unit/chaos feeds it broken runs.

export interface AttemptStart {
  readonly worker: string;
  readonly taskId: string;
  readonly attempt: number;
}

export interface AttemptOnTwoWorkers {
  readonly taskId: string;
  readonly attempt: number;
  readonly workers: readonly string[];
}

/** The attempts a worker's log says it started, and how many of its reports were refused as stale. */
export function readWorkerLog(worker: string, text: string): { starts: AttemptStart[]; refused: number } {
  const starts: AttemptStart[] = [];
  let refused = 0;
  for (const line of text.split("\n")) {
    if (!line.startsWith("{")) continue;
    let o: { msg?: unknown; taskId?: unknown; attempt?: unknown };
    try {
      o = JSON.parse(line) as typeof o;
    } catch {
      continue; // a line cut short by SIGKILL
    }
    if (o.msg === "report refused") refused++;
    if (o.msg === "attempt started" && typeof o.taskId === "string" && Number.isSafeInteger(o.attempt)) {
      starts.push({ worker, taskId: o.taskId, attempt: o.attempt as number });
    }
  }
  return { starts, refused };
}

/** Every (task, attempt) started by more than one worker. */
export function attemptsOnTwoWorkers(starts: readonly AttemptStart[]): AttemptOnTwoWorkers[] {
  const byAttempt = new Map<string, { taskId: string; attempt: number; workers: Set<string> }>();
  for (const s of starts) {
    const key = `${s.taskId}\u0000${s.attempt}`;
    let e = byAttempt.get(key);
    if (e === undefined) byAttempt.set(key, (e = { taskId: s.taskId, attempt: s.attempt, workers: new Set() }));
    e.workers.add(s.worker);
  }
  return [...byAttempt.values()].filter((e) => e.workers.size > 1).map((e) => ({ taskId: e.taskId, attempt: e.attempt, workers: [...e.workers].sort() }));
}
