// The chaos run's clients: N sequential clients acting on tasks through the HTTP API of whichever node they
// pick, recording every operation in the history (invoke, then ok / fail / unknown). What they do:
//   submit  a new id with a {sleepMs, fail} payload (the nodes run it), one in five delayed (delayMs or runAt,
//           delayed-tasks.ts); after no answer or a 5xx, the client submits the SAME id and body again until it is
//           acknowledged (or gives up after a few tries);
//   get     a linearizable read of a known id;
//   complete / fail  with the attempt the last read showed (racing the node that runs the task: 200 or 409);
//   complete with a stale attempt (one below the highest attempt seen, only for a task seen at attempt >= 2):
//           fencing must refuse it (counted in staleReports);
//   cancel  now and then, and of a task seen running (its handler is aborted);
//   delete / retry  of a task seen finished / dead or cancelled (lifecycle-ops.ts); a deleted task must read 404.
// A request that gets no answer within requestTimeoutMs is "unknown" in the history.
import type { HistoryRecorder } from "./history.js";
import type { TaskInput, TaskOutput, TaskStatus } from "./task-model.js";
import { taskOutputFromResponse } from "./task-outcome.js";
import type { ChaosCluster, ChaosNode } from "./cluster.js";
import { requestJson, sleep, type Answer } from "./http.js";
import { pickStaleReport } from "./stale-report.js";
import { lifecycleRequest, pickLifecycleOp } from "./lifecycle-ops.js";
import { pickDelay } from "./delayed-tasks.js";

/** Output recorded for a request refused at connect time: nothing was sent, so the checker drops it. */
export const REFUSED_CODE = "CONNECTION_REFUSED";

export interface WorkloadOptions {
  readonly cluster: ChaosCluster;
  readonly recorder: HistoryRecorder<TaskInput, TaskOutput>;
  readonly clients: number;
  /** Seeded randomness for each client's choices (given the client index). */
  readonly rngFor: (client: number) => () => number;
  readonly requestTimeoutMs: number;
  /** Pause between two operations of one client. */
  readonly thinkMs: readonly [number, number];
  /** The history's clock. */
  readonly clock: () => number;
}

export interface WriteSample {
  readonly invokeMs: number;
  readonly okMs: number;
}

interface Seen {
  state: TaskStatus;
  attempt: number;
}

const MAX_SUBMIT_TRIES = 6;
/** Reads and completions pick among the most recent ids (older ones are mostly finished). */
const RECENT_IDS = 300;

export class Workload {
  /** Ids whose submit was acknowledged with a 2xx. */
  readonly acknowledged = new Set<string>();
  /** Every id a client ever tried to submit. */
  readonly submitted: string[] = [];
  /** Successful writes (2xx submit / complete / fail / cancel): the failover measurements use them. */
  readonly writes: WriteSample[] = [];
  readonly counts = { ops: 0, ok: 0, fail: 0, unknown: 0, refused: 0 };
  /** Completions sent with a superseded attempt, and how many of them were refused with 409 STALE_ATTEMPT. */
  readonly staleReports = { sent: 0, refused: 0 };
  /** Ids a delete was sent for (whatever its answer): they may be gone, so not "lost", and no longer in `seen`
   *  (a resubmit would start their attempts again, and a stale report could then be current). */
  readonly deleteSent = new Set<string>();
  /** Lifecycle operations sent, by kind (the verdict prints them). */
  readonly lifecycleCounts = { delete: 0, retry: 0, cancel: 0 };
  private readonly seen = new Map<string, Seen>();
  private stopping = false;
  private running: Promise<void>[] = [];

  constructor(private readonly o: WorkloadOptions) {}

  start(): void {
    for (let c = 0; c < this.o.clients; c++) this.running.push(this.client(c));
  }

  async stop(): Promise<void> {
    this.stopping = true;
    await Promise.all(this.running);
  }

  /** One linearizable read of `id` recorded in the history under `clientId` (the final reads use it). */
  async read(clientId: string, node: ChaosNode, id: string): Promise<Answer> {
    return await this.call(clientId, node, { type: "get", id }, "GET", `/v1/tasks/${encodeURIComponent(id)}`);
  }

  private async client(index: number): Promise<void> {
    const rng = this.o.rngFor(index);
    const clientId = `c${index}`;
    let seq = 0;
    const pick = <T>(xs: readonly T[]): T | undefined => xs[Math.floor(rng() * xs.length)];
    while (!this.stopping) {
      const [lo, hi] = this.o.thinkMs;
      await sleep(lo + rng() * (hi - lo));
      if (this.stopping) break;
      const running = this.o.cluster.nodes.filter((n) => n.proc !== null);
      const node = pick(running.length > 0 ? running : this.o.cluster.nodes)!;
      const recent = this.submitted.slice(-RECENT_IDS);
      const r = rng();
      if (r < 0.3 || recent.length === 0) {
        const id = `t${index}-${seq++}`;
        this.submitted.push(id);
        const payload = { sleepMs: Math.floor(rng() * 600), fail: rng() < 0.08 };
        await this.submitUntilAcknowledged(clientId, id, payload, pickDelay(rng, Date.now()), rng);
        continue;
      }
      const id = pick(recent)!;
      const seen = this.seen.get(id);
      const lifecycle = seen === undefined ? null : pickLifecycleOp(seen.state, rng);
      if (lifecycle !== null) {
        await this.lifecycleWrite(clientId, node, id, lifecycle);
      } else if (r < 0.7 || seen === undefined || seen.attempt === 0) {
        await this.read(clientId, node, id);
      } else if (r < 0.85) {
        await this.attemptWrite(clientId, node, id, "complete", seen.attempt);
      } else if (r < 0.92) {
        await this.attemptWrite(clientId, node, id, "fail", seen.attempt);
      } else if (r < 0.97) {
        // A stale worker: an attempt below one already seen must be fenced off (409), never accepted.
        const stale = pickStaleReport(id, recent, this.seen);
        if (stale) await this.staleComplete(clientId, node, stale);
        else await this.read(clientId, node, id);
      } else {
        await this.call(clientId, node, { type: "cancel", id }, "POST", `/v1/tasks/${encodeURIComponent(id)}/cancel`, {});
      }
    }
  }

  private async submitUntilAcknowledged(clientId: string, id: string, payload: unknown, delay: { delayMs: number } | { runAt: number } | null, rng: () => number): Promise<void> {
    for (let attempt = 0; attempt < MAX_SUBMIT_TRIES; attempt++) {
      const running = this.o.cluster.nodes.filter((n) => n.proc !== null);
      const node = running[Math.floor(rng() * running.length)] ?? this.o.cluster.nodes[0]!;
      const input: TaskInput = { type: "submit", id, payload, ...delay, ...(delay ? { sentAtWallMs: Date.now() } : {}) };
      const a = await this.call(clientId, node, input, "POST", "/v1/tasks", { id, payload, ...delay });
      if (a.status === 200 || a.status === 201 || a.status === 400 || a.status === 401) return;
      if (this.stopping) return;
      await sleep(50 + rng() * 150);
    }
  }

  private async lifecycleWrite(clientId: string, node: ChaosNode, id: string, op: "delete" | "retry" | "cancel"): Promise<void> {
    this.lifecycleCounts[op]++;
    if (op === "delete") {
      this.deleteSent.add(id);
      this.seen.delete(id);
    }
    const req = lifecycleRequest(op, id);
    await this.call(clientId, node, { type: op, id }, req.method, req.path, req.body);
  }

  private async attemptWrite(clientId: string, node: ChaosNode, id: string, kind: "complete" | "fail", attempt: number): Promise<void> {
    const body = kind === "complete" ? { attempt, result: { by: clientId } } : { attempt, error: { by: clientId } };
    await this.call(clientId, node, { type: kind, id, attempt }, "POST", `/v1/tasks/${encodeURIComponent(id)}/${kind}`, body);
  }

  private async staleComplete(clientId: string, node: ChaosNode, s: { id: string; attempt: number; supersededBy: number }): Promise<void> {
    this.staleReports.sent++;
    const input: TaskInput = { type: "complete", id: s.id, attempt: s.attempt, supersededBy: s.supersededBy };
    const a = await this.call(clientId, node, input, "POST", `/v1/tasks/${encodeURIComponent(s.id)}/complete`, { attempt: s.attempt, result: { by: clientId } });
    if (a.status === 409) this.staleReports.refused++;
  }

  private async call(clientId: string, node: ChaosNode, input: TaskInput, method: string, path: string, body?: unknown): Promise<Answer> {
    const rec = this.o.recorder;
    const opId = rec.invoke(clientId, input);
    const invokeMs = this.o.clock();
    this.counts.ops++;
    const a = await requestJson(node.url + path, {
      method,
      ...(body !== undefined ? { body } : {}),
      ...(method !== "GET" ? { token: this.o.cluster.token } : {}),
      timeoutMs: this.o.requestTimeoutMs,
    });
    if (a.status === 0) {
      if (a.noAnswer === "refused") {
        this.counts.refused++;
        rec.fail(opId, { status: 0, code: REFUSED_CODE });
      } else {
        this.counts.unknown++;
        rec.unknown(opId);
      }
      return a;
    }
    const output: TaskOutput = { ...taskOutputFromResponse(a.status, a.body), receivedAtWallMs: Date.now() };
    if (a.status >= 200 && a.status < 300) {
      this.counts.ok++;
      rec.ok(opId, output);
      if (input.type !== "get") this.writes.push({ invokeMs, okMs: this.o.clock() });
      if (input.type === "submit") this.acknowledged.add(input.id);
      if (output.task && !this.deleteSent.has(input.id)) this.remember(input.id, output.task.state, output.task.attempt);
    } else {
      if (a.status >= 500) this.counts.unknown++;
      else this.counts.fail++;
      rec.fail(opId, output);
    }
    return a;
  }

  private remember(id: string, state: TaskStatus, attempt: number): void {
    const prev = this.seen.get(id);
    if (prev === undefined || attempt >= prev.attempt) this.seen.set(id, { state, attempt });
  }
}
