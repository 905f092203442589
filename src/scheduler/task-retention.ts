// Retention: which terminal tasks the leader deletes next (issue 13.1). A pure function of the table and the
// leader's clock, run by the leader (src/node/lifecycle-duties.ts) and by the simulator alike; the ids it picks go
// into a delete command, so every replica deletes the same tasks at the same log index.
//
// A task's age counts from its finish time (TaskExtras.finishedAtMs, written by the complete/fail/cancel command;
// a task finished by an entry older than that field counts from its creation). Each state has its own age, and
// beyond `maxTerminal` terminal tasks the oldest finished go first whatever their age. One call picks at most
// `maxIds`: a burst of expiries is spread over several small commands, so it never holds up other proposals.
import type { TaskRecord } from "./records.js";
import { TERMINAL_STATES, type TaskIndexes, type TerminalState, byFinishOrder } from "./task-indexes.js";

export interface RetentionPolicy {
  readonly completedMs: number;
  readonly deadMs: number;
  readonly cancelledMs: number;
  readonly maxTerminal: number;
  /** How many deleted ids the dedupe window keeps (task-lifecycle.ts); 0 turns it off. */
  readonly dedupeIds: number;
}

/** Defaults (README "Retention"): completed results are usually read within minutes, so an hour; a dead task is
 *  something to investigate, so a week; a cancelled one a day. maxTerminal caps memory whatever the rate: at the
 *  ~1 KiB a task costs in memory (issue 13: 968 MiB per million), 100,000 terminal tasks are ~100 MiB. */
export const RETENTION_DEFAULTS: RetentionPolicy = {
  completedMs: 3_600_000,
  deadMs: 7 * 24 * 3_600_000,
  cancelledMs: 24 * 3_600_000,
  maxTerminal: 100_000,
  dedupeIds: 10_000,
};

/** Ranges accepted in the cluster file: ages up to ten years, counts up to ten million / one million. */
export const RETENTION_LIMITS: Readonly<Record<keyof RetentionPolicy, readonly [number, number]>> = {
  completedMs: [0, 10 * 366 * 24 * 3_600_000],
  deadMs: [0, 10 * 366 * 24 * 3_600_000],
  cancelledMs: [0, 10 * 366 * 24 * 3_600_000],
  maxTerminal: [0, 10_000_000],
  dedupeIds: [0, 1_000_000],
};

/** Ids per delete command that retention proposes. */
export const RETENTION_BATCH = 256;

const AGE_OF: Readonly<Record<TerminalState, keyof RetentionPolicy>> = { completed: "completedMs", dead: "deadMs", cancelled: "cancelledMs" };

export function finishedAtMs(t: TaskRecord): number {
  return t.extras?.finishedAtMs ?? t.createdAtMs;
}

/** The next ids to delete, oldest finished first: beyond maxTerminal, then expired by age; at most maxIds. */
export function planRetention(indexes: Pick<TaskIndexes, "finished">, policy: RetentionPolicy, nowMs: number, maxIds = RETENTION_BATCH): string[] {
  const picked = new Set<string>();
  const lists = TERMINAL_STATES.map((s) => indexes.finished(s));
  const total = lists.reduce((n, l) => n + l.size, 0);
  const excess = Math.min(maxIds, total - policy.maxTerminal);
  if (excess > 0) {
    // Merge the three oldest-first lists until `excess` are taken.
    const its = lists.map((l) => l.after());
    const heads = its.map((it) => it.next());
    while (picked.size < excess) {
      let best = -1;
      for (let i = 0; i < heads.length; i++) {
        const h = heads[i]!;
        if (!h.done && (best < 0 || byFinishOrder(h.value, (heads[best]!.value as TaskRecord)) < 0)) best = i;
      }
      if (best < 0) break;
      picked.add((heads[best]!.value as TaskRecord).id);
      heads[best] = its[best]!.next();
    }
  }
  for (const state of TERMINAL_STATES) {
    const ageMs = policy[AGE_OF[state]];
    for (const t of indexes.finished(state).after()) {
      if (picked.size >= maxIds || finishedAtMs(t) + ageMs > nowMs) break;
      picked.add(t.id);
    }
  }
  return [...picked];
}
