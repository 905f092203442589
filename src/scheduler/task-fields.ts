// The task fields of CONTRACT "Task fields added" (requires, timeoutMs, runAt) and worker tags: their limits, their
// checks (shared by the HTTP input, the command decoder and the snapshot), and the pure rules placement and the
// read path apply to them. Pure: the planner, apply() and the simulator all call these.
import type { TaskExtras, WorkerExtras } from "./types.js";

/** A tag: what `requires` on a task and `tags` on a worker are made of. */
export const TAG_PATTERN = /^[A-Za-z0-9._:-]{1,64}$/;
/** At most this many tags in a task's `requires` or on a worker (bounds the per-pick check). */
export const MAX_TAGS = 16;
export const MIN_TIMEOUT_MS = 1;
export const MAX_TIMEOUT_MS = 24 * 3600_000;
/** runAt/delayMs may reach at most this far ahead of the leader's clock. */
export const MAX_DELAY_MS = 365 * 24 * 3600_000;
/** A runAt older than this before now is refused: almost surely a unit mistake (seconds for ms) or a stale value;
 *  a runAt a little in the past just means "now" (clocks differ between a client and the leader). */
export const MAX_RUN_AT_PAST_MS = 24 * 3600_000;

/** null when `value` is a valid tag list, otherwise the reason (without the field name). */
export function tagListProblem(value: unknown): string | null {
  if (!Array.isArray(value)) return "must be an array of tags";
  if (value.length > MAX_TAGS) return `at most ${MAX_TAGS} tags`;
  for (const tag of value) {
    if (typeof tag !== "string" || !TAG_PATTERN.test(tag)) return "each tag must be 1–64 characters of [A-Za-z0-9._:-]";
  }
  if (new Set(value).size !== value.length) return "tags must not repeat";
  return null;
}

/** The canonical form of a tag list: sorted, so the same set is the same bytes on every replica. */
export function canonicalTags(tags: readonly string[]): readonly string[] {
  return [...tags].sort((a, b) => (a < b ? -1 : a > b ? 1 : 0));
}

/** Whether a worker carrying `workerTags` may run a task that requires `requires`: it carries every one. */
export function carriesAll(workerTags: readonly string[] | undefined, requires: readonly string[] | undefined): boolean {
  if (requires === undefined || requires.length === 0) return true;
  if (workerTags === undefined || workerTags.length === 0) return false;
  return requires.every((tag) => workerTags.includes(tag));
}

export interface WorkerTagView {
  readonly alive: boolean;
  readonly capacity: number;
  readonly tags?: readonly string[];
}

/** Why a pending task that requires tags cannot be placed at all, or null when some live worker could take it
 *  (it may still wait for room). Computed when the task is read, never stored: it changes with the workers. */
export function waitingReason(requires: readonly string[] | undefined, workers: Iterable<WorkerTagView>): string | null {
  if (requires === undefined || requires.length === 0) return null;
  for (const w of workers) if (w.alive && w.capacity > 0 && carriesAll(w.tags, requires)) return null;
  return `no live worker with tags [${requires.join(", ")}]`;
}

export interface RunAtInput {
  readonly runAt?: number;
  readonly delayMs?: number;
}

/** The problem with a submit's runAt/delayMs against the clock `nowMs`, as [field, reason], or null. */
export function runAtProblem(input: RunAtInput, nowMs: number): [string, string] | null {
  if (input.runAt !== undefined && input.delayMs !== undefined) return ["delayMs", "give runAt or delayMs, not both"];
  if (input.delayMs !== undefined) {
    const d = input.delayMs;
    if (!Number.isSafeInteger(d) || d < 0 || d > MAX_DELAY_MS) return ["delayMs", `must be an integer from 0 to ${MAX_DELAY_MS} (a year)`];
  }
  if (input.runAt !== undefined) {
    const r = input.runAt;
    if (!Number.isSafeInteger(r) || r < 0) return ["runAt", "must be epoch milliseconds (an integer)"];
    if (r < nowMs - MAX_RUN_AT_PAST_MS) return ["runAt", `is more than a day in the past (now is ${nowMs}); epoch milliseconds expected`];
    if (r > nowMs + MAX_DELAY_MS) return ["runAt", "is more than a year ahead"];
  }
  return null;
}

/** The runAt the leader writes into the submit entry: delayMs becomes an absolute time on the leader's clock, once;
 *  undefined when the task is not delayed. */
export function resolveRunAt(input: RunAtInput, leaderNowMs: number): number | undefined {
  if (input.runAt !== undefined) return input.runAt;
  if (input.delayMs !== undefined && input.delayMs > 0) return leaderNowMs + input.delayMs;
  return undefined;
}

/** The extras a submit entry gives its task: only what differs from the defaults, so a task without these
 *  fields costs nothing in a snapshot. */
export function submitExtras(c: { requires?: readonly string[]; timeoutMs?: number; runAt?: number }): TaskExtras | undefined {
  const extras: { -readonly [K in keyof TaskExtras]: TaskExtras[K] } = {};
  if (c.requires !== undefined && c.requires.length > 0) extras.requires = canonicalTags(c.requires);
  if (c.timeoutMs !== undefined) extras.timeoutMs = c.timeoutMs;
  if (c.runAt !== undefined) extras.runAt = c.runAt;
  return Object.keys(extras).length > 0 ? extras : undefined;
}

/** A worker's extras with its tags replaced (extras are immutable: a snapshot in flight may hold the old ones);
 *  other fields (an external worker's kind) are kept. */
export function withWorkerTags(extras: WorkerExtras | undefined, tags: readonly string[] | undefined): WorkerExtras | undefined {
  const { tags: _old, ...rest } = extras ?? {};
  const next: WorkerExtras = tags !== undefined && tags.length > 0 ? { ...rest, tags: canonicalTags(tags) } : rest;
  return Object.keys(next).length > 0 ? next : undefined;
}
