// A reference task table and a simulated concurrent workload, for the task model's tests. Each operation
// takes effect atomically at one instant between its invoke and its answer (or later, or never, when the
// client gave up), and the "cluster" assigns, reassigns, requeues, completes and kills tasks on its own in
// between. Histories made this way are linearizable by construction.
import { HistoryRecorder, type HistoryEvent } from "../../../src/chaos/history.js";
import type { TaskInput, TaskOutput, TaskStatus } from "../../../src/chaos/task-model.js";
import { makePrng } from "../../../src/raft/prng.js";


interface RefTask {
  state: TaskStatus;
  attempt: number;
  worker: string | null;
  payload: unknown;
}

const WORKERS = ["n1", "n2", "n3"];
const isFinal = (s: TaskStatus): boolean => s === "completed" || s === "dead" || s === "cancelled";

export class ReferenceCluster {
  readonly tasks = new Map<string, RefTask>();
  constructor(private readonly random: () => number) {}

  apply(input: TaskInput): TaskOutput {
    const task = this.tasks.get(input.id);
    if (input.type === "submit") {
      if (task) return { status: 200, task: view(task) };
      const created: RefTask = { state: "pending", attempt: 0, worker: null, payload: input.payload };
      this.tasks.set(input.id, created);
      return { status: 201, task: view(created) };
    }
    if (!task) return { status: 404, code: "NOT_FOUND" };
    switch (input.type) {
      case "get":
        return { status: 200, task: view(task) };
      case "complete":
      case "fail":
        if (task.state !== "assigned" || task.attempt !== input.attempt) return { status: 409, code: "STALE_ATTEMPT" };
        if (input.type === "complete") task.state = "completed";
        else if (this.random() < 0.5) task.state = "dead";
        else {
          task.state = "pending";
          task.worker = null;
        }
        return { status: 200, task: view(task) };
      case "cancel":
        if (isFinal(task.state)) return { status: 409, code: "FINISHED" };
        task.state = "cancelled";
        return { status: 200, task: view(task) };
      case "delete":
        if (!isFinal(task.state)) return { status: 409, code: "INVALID_STATE" };
        this.tasks.delete(input.id);
        return { status: 200 };
      case "retry":
        if (task.state !== "dead" && task.state !== "cancelled") return { status: 409, code: "INVALID_STATE" };
        Object.assign(task, { state: "pending", worker: null }); // attempt kept
        return { status: 200, task: view(task) };
    }
  }

  /** One transition the cluster makes on its own, on a random task. */
  internalStep(ids: readonly string[]): void {
    const id = ids[Math.floor(this.random() * ids.length)];
    const task = id === undefined ? undefined : this.tasks.get(id);
    if (!task || isFinal(task.state)) return;
    const worker = WORKERS[Math.floor(this.random() * WORKERS.length)]!;
    if (task.state === "pending") {
      Object.assign(task, { state: "assigned", attempt: task.attempt + 1, worker });
      return;
    }
    const roll = this.random();
    if (roll < 0.45) Object.assign(task, { attempt: task.attempt + 1, worker }); // reassignment
    else if (roll < 0.8) Object.assign(task, { state: "pending", worker: null }); // worker died
    else if (roll < 0.93) task.state = "completed"; // its worker finished it
    else task.state = "dead";
  }
}

function view(task: RefTask): NonNullable<TaskOutput["task"]> {
  return { state: task.state, attempt: task.attempt, worker: task.worker, payload: task.payload };
}

export interface WorkloadOptions {
  readonly seed: number;
  readonly operations: number;
  readonly ids: number;
  readonly clients: number;
  /** Probability that a client gives up on an operation (before or after it took effect). */
  readonly giveUpRate: number;
  /** Clients also delete and retry tasks (issue 13's lifecycle operations). */
  readonly lifecycle?: boolean;
}

interface InFlight {
  readonly opId: number;
  readonly input: TaskInput;
  output?: TaskOutput;
}

/** Runs the workload; returns the recorded events and the reference cluster's final table. */
export function simulateWorkload(options: WorkloadOptions): {
  events: readonly HistoryEvent<TaskInput, TaskOutput>[];
  cluster: ReferenceCluster;
} {
  const random = makePrng(options.seed);
  const cluster = new ReferenceCluster(random);
  const ids = Array.from({ length: options.ids }, (_, i) => `t${i}`);
  let now = 0;
  const recorder = new HistoryRecorder<TaskInput, TaskOutput>(() => now);
  const clients: (InFlight | null)[] = Array.from({ length: options.clients }, () => null);
  const orphans: TaskInput[] = []; // given up before taking effect: may still take effect later
  let issued = 0;

  const pickInput = (): TaskInput => {
    // A sliding window of a few ids: each task sees a burst of concurrent operations while it is young.
    const base = Math.floor((issued * ids.length) / options.operations);
    const id = ids[Math.min(ids.length - 1, base + Math.floor(random() * 4))]!;
    const roll = random();
    const current = cluster.tasks.get(id)?.attempt ?? 1;
    const attempt = roll < 0.4 ? current : Math.max(1, current + Math.floor(random() * 3) - 1);
    if (roll < 0.3) return { type: "submit", id, payload: { by: issued } };
    if (roll < 0.7) return { type: "get", id };
    if (roll < 0.87) return { type: "complete", id, attempt };
    if (roll < 0.95) return { type: "fail", id, attempt };
    if (options.lifecycle && roll < 0.99) return { type: random() < 0.5 ? "delete" : "retry", id };
    return { type: "cancel", id };
  };

  while (issued < options.operations || clients.some((c) => c !== null)) {
    now += Math.floor(random() * 3); // ties happen on purpose
    const roll = random();
    if (roll < 0.1) {
      cluster.internalStep(ids);
      continue;
    }
    if (roll < 0.13) {
      const i = Math.floor(random() * orphans.length);
      const orphan = orphans[i];
      if (orphan !== undefined) {
        orphans.splice(i, 1);
        if (random() < 0.5) cluster.apply(orphan);
      }
      continue;
    }
    const c = Math.floor(random() * clients.length);
    const inFlight = clients[c];
    if (inFlight === null || inFlight === undefined) {
      if (issued >= options.operations) continue;
      const input = pickInput();
      issued++;
      clients[c] = { opId: recorder.invoke(`c${c}`, input), input };
      continue;
    }
    if (random() < options.giveUpRate) {
      // No answer. Before taking effect: it may still happen later. A definite "not executed" answer
      // (401) is recorded as a fail that the classifier drops, and such an op never takes effect.
      if (inFlight.output === undefined) {
        if (random() < 0.2) recorder.fail(inFlight.opId, { status: 401, code: "UNAUTHORIZED" });
        else {
          orphans.push(inFlight.input);
          recorder.unknown(inFlight.opId);
        }
      } else if (random() < 0.5) recorder.unknown(inFlight.opId);
      else recorder.fail(inFlight.opId, { status: 503, code: "NO_LEADER" }); // classified unknown
      clients[c] = null;
      continue;
    }
    if (inFlight.output === undefined) {
      inFlight.output = cluster.apply(inFlight.input);
      continue;
    }
    if (inFlight.output.status >= 400) recorder.fail(inFlight.opId, inFlight.output);
    else recorder.ok(inFlight.opId, inFlight.output);
    clients[c] = null;
  }
  return { events: recorder.events(), cluster };
}
