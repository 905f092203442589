// The task fields in the simulator's workload (CONTRACT "Task fields added"): members carry tags fixed by the seed
// and their id, clients submit some tasks that require tags, some delayed (runAt) and some with a per-attempt
// deadline (timeoutMs); the leader runs the production deadline rule (src/node/attempt-deadlines.ts). The broken
// switches make a leader place one task against the rules, for the broken-rule tests of taskFieldPlacement.
import type { Assignment, AssignCommand, SubmitCommand } from "../../src/scheduler/commands.js";
import type { TaskTable } from "../../src/scheduler/table.js";
import { carriesAll } from "../../src/scheduler/task-fields.js";
import type { BrokenScheduler } from "./node.js";
import { type Rng, mixSeed } from "./prng.js";

export type SubmitFields = Pick<SubmitCommand, "requires" | "timeoutMs" | "runAt">;

/** A member's tags: gpu on about half the members, ssd on about a third, fixed per seed and id (across restarts). */
export function memberTagsOf(seed: number, id: string): readonly string[] {
  const n = Number(id.slice(1)) || 0;
  const tags: string[] = [];
  if (mixSeed(seed, 11, n) % 2 === 0) tags.push("gpu");
  if (mixSeed(seed, 13, n) % 3 === 0) tags.push("ssd");
  return tags;
}

/** The fields of a new task: drawn once, so a client's retry sends the same. `tickMs` converts ticks to ms. */
export function drawSubmitFields(rng: Rng, nowMs: number, tickMs: number, maxRunTicks: number): SubmitFields {
  const fields: { -readonly [K in keyof SubmitFields]: SubmitFields[K] } = {};
  if (rng.chance(0.15)) fields.requires = rng.chance(0.7) ? ["gpu"] : ["gpu", "ssd"];
  if (rng.chance(0.15)) fields.runAt = nowMs + rng.int(1, 100) * tickMs;
  // Some deadlines shorter than the handler may run: those attempts time out and are retried.
  if (rng.chance(0.15)) fields.timeoutMs = rng.int(Math.max(1, Math.floor(maxRunTicks / 2)), maxRunTicks + 20) * tickMs;
  return fields;
}

/** With a broken switch on: one more assignment that breaks the rule (a tagged task on a worker lacking the tags,
 *  or a delayed task before its runAt), on a live worker with room; null when there is none to break. */
export function brokenAssignment(table: TaskTable, planned: AssignCommand | null, nowMs: number, broken: BrokenScheduler | undefined, tagsOf: (id: string) => readonly string[]): Assignment | null {
  if (!broken?.ignoreRequires && !broken?.ignoreRunAt) return null;
  const taken = new Set(planned?.assignments.map((a) => a.taskId) ?? []);
  const load = new Map<string, number>();
  for (const a of planned?.assignments ?? []) load.set(a.worker, (load.get(a.worker) ?? 0) + 1);
  const workers = table.workers().filter((w) => w.alive && w.active + (load.get(w.id) ?? 0) < w.capacity);
  for (const t of table.pendingQueue(200)) {
    if (taken.has(t.id)) continue;
    if (broken.ignoreRequires && t.requires.length > 0) {
      const w = workers.find((x) => !carriesAll(tagsOf(x.id), t.requires));
      if (w) return { taskId: t.id, worker: w.id, attempt: t.attempt + 1 };
    }
    if (broken.ignoreRunAt && t.runAt !== null && t.runAt > nowMs && workers.length > 0) {
      return { taskId: t.id, worker: workers[0]!.id, attempt: t.attempt + 1 };
    }
  }
  return null;
}
