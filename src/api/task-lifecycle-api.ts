// DELETE /v1/tasks/:id, POST /v1/tasks/:id/retry and the recurring schedules (/v1/schedules), CONTRACT "A queue
// that runs for months". Writes run on the leader (a follower forwards the request, one hop) as log commands, so
// every replica deletes, retries and schedules alike; reads are linearized through ReadIndex like GET /v1/tasks.
import type { Command } from "../scheduler/commands.js";
import type { ApplyResult, ScheduleRecord, Task } from "../scheduler/types.js";
import { cronProblem, MAX_EVERY_MS, MIN_EVERY_MS, SCHEDULE_ID_PATTERN, TEMPLATE_KEYS, templateFieldProblem } from "../scheduler/schedule-record.js";
import { canonicalTags } from "../scheduler/task-fields.js";
import { RaftschedError } from "../util/errors.js";
import { asObject, checkKeys, field, jsonField } from "./request-input.js";
/** router.ts's RequestContext (not imported: the router imports this file). */
type RequestContext = { readonly forwarded: boolean; readonly body?: Buffer };

/** An answer with its status, so a follower passes on exactly what the leader said. */
export interface Answer {
  readonly status: number;
  readonly body: unknown;
}

export interface TaskLifecycleBackend {
  deleteTask(id: string, ctx?: RequestContext): Promise<Answer>;
  retryTask(id: string, ctx?: RequestContext): Promise<Answer>;
  addSchedule(body: unknown, ctx?: RequestContext): Promise<Answer>;
  listSchedules(): Promise<Answer>;
  getSchedule(id: string): Promise<Answer>;
  removeSchedule(id: string, ctx?: RequestContext): Promise<Answer>;
}

/** What this file needs of the node's API (node-api.ts): its leader-or-forward decision, proposals, reads. */
export interface LifecycleDeps {
  readonly getTask: (id: string) => Task | undefined;
  readonly schedules: () => readonly ScheduleRecord[];
  /** On the leader runs `onLeader`; a follower forwards (method, path, body) and answers what the leader did. */
  readonly write: (method: string, path: string, body: unknown, ctx: RequestContext | undefined, onLeader: () => Promise<Answer>) => Promise<Answer>;
  readonly propose: (cmd: Command) => Promise<ApplyResult>;
  readonly linearize: () => Promise<void>;
  /** The read a write makes before it proposes (DELETE); a failure because leadership moved is TRANSFER_IN_PROGRESS,
   *  so the write is held through the hand-over. Default: linearize. */
  readonly linearizeWrite?: () => Promise<void>;
  readonly nowMs?: () => number;
}

export function parseScheduleId(segment: string): string {
  let id: string;
  try {
    id = decodeURIComponent(segment);
  } catch {
    throw field("id", "is not a valid URL-encoded schedule id");
  }
  if (!SCHEDULE_ID_PATTERN.test(id)) throw field("id", "must be 1–100 characters of [A-Za-z0-9._-]");
  return id;
}

/** POST /v1/schedules's body as the schedule to add, its clock fields set from `nowMs`. 400 names the field. */
export function parseSchedule(body: unknown, nowMs: number): ScheduleRecord {
  const o = asObject(body);
  checkKeys(o, ["id", "everyMs", "cron", "task"]);
  if (typeof o.id !== "string" || !SCHEDULE_ID_PATTERN.test(o.id)) throw field("id", "must be 1–100 characters of [A-Za-z0-9._-]");
  if ((o.everyMs === undefined) === (o.cron === undefined)) throw field("everyMs", "exactly one of everyMs and cron is required");
  if (o.everyMs !== undefined) {
    const v = o.everyMs;
    if (typeof v !== "number" || !Number.isInteger(v) || v < MIN_EVERY_MS || v > MAX_EVERY_MS) throw field("everyMs", `must be an integer from ${MIN_EVERY_MS} to ${MAX_EVERY_MS}`);
  } else {
    const problem = cronProblem(o.cron, nowMs);
    if (problem !== null) throw field("cron", problem);
  }
  if (typeof o.task !== "object" || o.task === null || Array.isArray(o.task)) throw field("task", "must be an object { payload, priority?, maxAttempts?, requires?, timeoutMs? }");
  const t = o.task as Record<string, unknown>;
  for (const k of Object.keys(t)) if (!TEMPLATE_KEYS.includes(k)) throw field(`task.${k}`, `unknown field (allowed: ${TEMPLATE_KEYS.join(", ")})`);
  if (!("payload" in t)) throw field("task.payload", "is required (any JSON value)");
  const int = (name: string, min: number, max: number, def: number): number => {
    const v = t[name];
    if (v === undefined) return def;
    if (typeof v !== "number" || !Number.isInteger(v) || v < min || v > max) throw field(`task.${name}`, `must be an integer from ${min} to ${max}`);
    return v;
  };
  return {
    id: o.id,
    everyMs: (o.everyMs as number | undefined) ?? null,
    cron: (o.cron as string | undefined) ?? null,
    task: { payload: jsonField("task.payload", t.payload), priority: int("priority", -1_000_000, 1_000_000, 0), maxAttempts: int("maxAttempts", 1, 100, 3), ...templateFields(t) },
    createdAtMs: nowMs,
    lastSlotMs: nowMs,
  };
}

/** The template's requires/timeoutMs, checked as a submit's are (400 naming `task.requires` / `task.timeoutMs`). */
function templateFields(t: Record<string, unknown>): Pick<ScheduleRecord["task"], "requires" | "timeoutMs"> {
  const problem = templateFieldProblem(t);
  if (problem !== null) throw field(problem[0], problem[1]);
  return {
    ...(t.requires !== undefined && (t.requires as string[]).length > 0 ? { requires: canonicalTags(t.requires as string[]) } : {}),
    ...(t.timeoutMs !== undefined ? { timeoutMs: t.timeoutMs as number } : {}),
  };
}

export class TaskLifecycleApi implements TaskLifecycleBackend {
  private readonly d: LifecycleDeps;

  constructor(deps: LifecycleDeps) {
    this.d = deps;
  }

  deleteTask(id: string, ctx?: RequestContext): Promise<Answer> {
    return this.d.write("DELETE", taskPath(id), undefined, ctx, async () => {
      await (this.d.linearizeWrite ?? this.d.linearize)();
      this.refuseLive(id, "deleted");
      const res = await this.d.propose({ type: "delete", ids: [id] });
      if (res.ok && res.deleted?.includes(id)) return { status: 200, body: { id, deleted: true } };
      this.refuseLive(id, "deleted"); // retried or resubmitted meanwhile
      throw new RaftschedError("NOT_FOUND", `no task "${id}"`);
    });
  }

  retryTask(id: string, ctx?: RequestContext): Promise<Answer> {
    return this.d.write("POST", `${taskPath(id)}/retry`, {}, ctx, async () => {
      const res = await this.d.propose({ type: "retry", id });
      if (!res.ok) throw new RaftschedError(res.code, res.message, res.task ? { state: res.task.state } : undefined);
      return { status: 200, body: res.task };
    });
  }

  addSchedule(body: unknown, ctx?: RequestContext): Promise<Answer> {
    parseSchedule(body, this.now()); // 400 here, before any forward
    return this.d.write("POST", "/v1/schedules", body, ctx, async () => {
      const schedule = parseSchedule(body, this.now());
      const res = await this.d.propose({ type: "scheduleAdd", schedule });
      if (!res.ok) throw new RaftschedError(res.code, res.message);
      return { status: res.created ? 201 : 200, body: res.schedule };
    });
  }

  async listSchedules(): Promise<Answer> {
    await this.d.linearize();
    return { status: 200, body: { schedules: this.d.schedules() } };
  }

  async getSchedule(id: string): Promise<Answer> {
    await this.d.linearize();
    const s = this.d.schedules().find((x) => x.id === id);
    if (s === undefined) throw new RaftschedError("NOT_FOUND", `no schedule "${id}"`);
    return { status: 200, body: s };
  }

  removeSchedule(id: string, ctx?: RequestContext): Promise<Answer> {
    return this.d.write("DELETE", `/v1/schedules/${encodeURIComponent(id)}`, undefined, ctx, async () => {
      const res = await this.d.propose({ type: "scheduleRemove", id });
      if (!res.ok) throw new RaftschedError(res.code, res.message);
      return { status: 200, body: { id, deleted: true } };
    });
  }

  /** 404 for an unknown task, 409 (with its state) for a live one. */
  private refuseLive(id: string, what: string): void {
    const task = this.d.getTask(id);
    if (task === undefined) throw new RaftschedError("NOT_FOUND", `no task "${id}"`);
    if (task.state === "pending" || task.state === "assigned") {
      throw new RaftschedError("INVALID_STATE", `task "${id}" is ${task.state}; only a completed, dead or cancelled task can be ${what}`, { state: task.state });
    }
  }

  private now(): number {
    return (this.d.nowMs ?? Date.now)();
  }
}

function taskPath(id: string): string {
  return `/v1/tasks/${encodeURIComponent(id)}`;
}
