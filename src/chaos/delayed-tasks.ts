// Delayed tasks in the chaos workload (issue 13, CONTRACT "runAt"): which submits carry `delayMs` or `runAt`, and the
// check of what the cluster did with them. The contract: `runAt` is decided once, by the leader (a `delayMs` is
// turned into `runAt` on the leader's clock and written into the log), a new leader honours the same time, and the
// task is not assigned before it. The chaos nodes run on this host's clock, so a client's Date.now() and the
// leader's are the same clock: an answer received before `runAt` that shows the task assigned (attempt >= 1) proves
// an early assignment, with no tolerance needed (the assignment committed before the answer was sent).
//
// Checked per delayed id (ids a client sent a delete for are left out of the last two: an in-flight submit may
// create them anew, with a new runAt):
//   early        no answer or watch event received before runAt shows the task at attempt >= 1;
//   decided once every answer shows the same runAt (a new leader did not recompute it);
//   as asked     runAt equals the one asked, or for delayMs lies in [first send + delayMs, first answer + delayMs]
//                (the leader's clock read between the two).
import type { HistoryEvent } from "./history.js";
import type { TaskInput, TaskOutput } from "./task-model-types.js";

/** Share of new submits that are delayed, and their delays: short, so they run within the chaos run. */
const DELAYED_SHARE = 0.2;
const MAX_DELAY_MS = 2500;

/** The delay fields a new submit carries (null: not delayed), drawn from the client's seeded rng. */
export function pickDelay(rng: () => number, nowWallMs: number): { delayMs: number } | { runAt: number } | null {
  if (rng() >= DELAYED_SHARE) return null;
  const ms = 100 + Math.floor(rng() * (MAX_DELAY_MS - 100));
  return rng() < 0.7 ? { delayMs: ms } : { runAt: nowWallMs + ms };
}

/** One watch event as the chaos watcher received it (chaos-watch.ts). */
export interface ReceivedEvent {
  readonly index: number;
  readonly id: string;
  readonly state: string;
  readonly attempt: number;
  readonly receivedAtWallMs: number;
}

export interface EarlyRun {
  readonly id: string;
  readonly runAt: number;
  readonly seenAtWallMs: number;
  readonly state: string;
  readonly attempt: number;
  readonly by: "answer" | "watch";
}

export interface DelayedFindings {
  /** Delayed submits sent (distinct ids) and how many of them were seen running or finished (attempt >= 1). */
  delayed: number;
  seenRunning: number;
  early: EarlyRun[];
  /** Ids whose answers showed two different runAt values. */
  runAtChanged: string[];
  /** Ids whose runAt is not the one asked (or outside the delayMs window). */
  runAtNotAsked: Array<{ id: string; runAt: number; expected: string }>;
}

interface Asked {
  readonly delayMs?: number;
  readonly runAt?: number;
  firstSentWallMs: number;
  firstAnswerWallMs: number | null;
  runAts: Set<number>;
  running: boolean;
}

export function emptyDelayedFindings(): DelayedFindings {
  return { delayed: 0, seenRunning: 0, early: [], runAtChanged: [], runAtNotAsked: [] };
}

export function checkDelayedTasks(
  events: readonly HistoryEvent<TaskInput, TaskOutput>[],
  watched: readonly ReceivedEvent[],
  deleteSent: ReadonlySet<string>,
): DelayedFindings {
  const asked = new Map<string, Asked>();
  const inputOf = new Map<number, TaskInput>();
  const sightings: Array<{ id: string; at: number; state: string; attempt: number; runAt?: number | null; by: "answer" | "watch" }> = [];
  for (const e of events) {
    if (e.kind === "invoke") {
      inputOf.set(e.opId, e.op);
      const i = e.op;
      if (i.type !== "submit" || (i.delayMs === undefined && i.runAt === undefined)) continue;
      const sent = i.sentAtWallMs ?? Infinity;
      const a = asked.get(i.id);
      if (a === undefined) {
        asked.set(i.id, { ...(i.delayMs !== undefined ? { delayMs: i.delayMs } : {}), ...(i.runAt !== undefined ? { runAt: i.runAt } : {}), firstSentWallMs: sent, firstAnswerWallMs: null, runAts: new Set(), running: false });
      } else a.firstSentWallMs = Math.min(a.firstSentWallMs, sent);
      continue;
    }
    if (e.kind === "unknown") continue;
    const input = inputOf.get(e.opId);
    const task = e.output.task;
    if (input === undefined || task === undefined || !asked.has(input.id)) continue;
    const at = e.output.receivedAtWallMs ?? -Infinity; // no time recorded: proves nothing early
    const a = asked.get(input.id)!;
    if (a.firstAnswerWallMs === null || at < a.firstAnswerWallMs) a.firstAnswerWallMs = at;
    if (typeof task.runAt === "number") a.runAts.add(task.runAt);
    sightings.push({ id: input.id, at, state: task.state, attempt: task.attempt, runAt: task.runAt, by: "answer" });
  }
  for (const w of watched) if (asked.has(w.id)) sightings.push({ id: w.id, at: w.receivedAtWallMs, state: w.state, attempt: w.attempt, by: "watch" });

  const f = emptyDelayedFindings();
  f.delayed = asked.size;
  for (const s of sightings) {
    if (s.attempt < 1) continue;
    const a = asked.get(s.id)!;
    a.running = true;
    // The runAt the leader decided: the one this answer shows, else the (first) one any answer showed.
    const runAt = typeof s.runAt === "number" ? s.runAt : Math.min(...a.runAts);
    if (Number.isFinite(runAt) && s.at < runAt) f.early.push({ id: s.id, runAt, seenAtWallMs: s.at, state: s.state, attempt: s.attempt, by: s.by });
  }
  for (const [id, a] of asked) {
    if (a.running) f.seenRunning++;
    if (deleteSent.has(id) || a.runAts.size === 0) continue;
    if (a.runAts.size > 1) f.runAtChanged.push(id);
    const runAt = [...a.runAts][0]!;
    const problem = runAtProblem(a, runAt);
    if (problem !== null) f.runAtNotAsked.push({ id, runAt, expected: problem });
  }
  return f;
}

/** null when `runAt` is what the submit asked for, else what was expected. */
function runAtProblem(a: Asked, runAt: number): string | null {
  if (a.runAt !== undefined) return runAt === a.runAt ? null : `${a.runAt} (asked)`;
  const lo = a.firstSentWallMs + a.delayMs!;
  const hi = (a.firstAnswerWallMs ?? Infinity) + a.delayMs!;
  return runAt >= lo && runAt <= hi ? null : `within [${lo}, ${hi}] (send + delayMs .. first answer + delayMs)`;
}

/** The violations the findings amount to (an empty list when the delayed tasks kept to the contract). */
export function delayedViolations(f: DelayedFindings): string[] {
  const out: string[] = [];
  if (f.early.length > 0) {
    const e = f.early[0]!;
    out.push(`${f.early.length} delayed tasks seen assigned before their runAt, e.g. ${e.id} ${e.state}/${e.attempt} seen by ${e.by} ${e.runAt - e.seenAtWallMs} ms before runAt ${e.runAt}`);
  }
  if (f.runAtChanged.length > 0) out.push(`${f.runAtChanged.length} delayed tasks showed two different runAt values (decided more than once), e.g. ${f.runAtChanged[0]}`);
  if (f.runAtNotAsked.length > 0) out.push(`${f.runAtNotAsked.length} delayed tasks have a runAt other than asked, e.g. ${JSON.stringify(f.runAtNotAsked[0])}`);
  return out;
}
