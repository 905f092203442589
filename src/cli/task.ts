// `raftsched task submit|get|list|cancel|retry|delete|wait|watch`: the task API from a shell, through the Client
// SDK (src/client), so the CLI finds the leader and fails over as any program would. Tables for people, --json
// for scripts. Exit codes: 0 ok, 1 failed (an error answer, no node reachable, `wait` for a task that did not
// complete), 2 usage.
import { loadClusterFile } from "../config/cluster-file.js";
import { RaftschedError } from "../util/errors.js";
import { Client, ClientError } from "../client/client.js";
import type { ListQuery, Task, TaskState } from "../client/types.js";
import { configPathOr, parseArgs, parseDurationMs, stringFlag, type ParsedArgs } from "./args.js";
import { eventLine, taskDetail, taskTable } from "./task-view.js";

export const TASK_USAGE = `usage: raftsched task <command> [--config <cluster-file>] [--json]
  submit [--id <id>] [--payload <json>] [--priority N] [--max-attempts N]
  get <id> [--stale]
  list [--state pending|assigned|completed|dead|cancelled] [--worker <id>] [--limit N] [--after <cursor>]
  cancel <id> | retry <id> | delete <id>
  wait <id> [--timeout 60s]     exit 0 once completed; 1 if it ended dead/cancelled or did not end in time
  watch [--since <index>] [--count N]   print task events as they apply (until Ctrl-C, or N events)
`;

const FLAGS = {
  config: "string", json: "boolean", id: "string", payload: "string", priority: "string", "max-attempts": "string", stale: "boolean",
  state: "string", worker: "string", limit: "string", after: "string", timeout: "string", since: "string", count: "string",
} as const;

const STATES: readonly TaskState[] = ["pending", "assigned", "completed", "dead", "cancelled"];

type Sub = (c: Client, a: ParsedArgs, out: Output) => Promise<number>;

interface Output {
  readonly json: boolean;
  task(t: Task): void;
  value(v: unknown, human: string): void;
}

const SUBCOMMANDS: Record<string, Sub> = {
  submit: async (c, a, out) => {
    noPositional(a, "submit");
    const payload = a.flags.payload === undefined ? {} : parseJsonFlag(stringFlag(a, "payload")!);
    const id = stringFlag(a, "id");
    const priority = intFlag(a, "priority", -1e15, 1e15);
    const maxAttempts = intFlag(a, "max-attempts", 1, 100);
    out.task(await c.submit({ payload, ...(id ? { id } : {}), ...(priority !== undefined ? { priority } : {}), ...(maxAttempts !== undefined ? { maxAttempts } : {}) }));
    return 0;
  },
  get: async (c, a, out) => (out.task(await c.get(oneId(a, "get"), { stale: a.flags.stale === true })), 0),
  list: async (c, a, out) => {
    noPositional(a, "list");
    const state = stringFlag(a, "state");
    if (state !== undefined && !STATES.includes(state as TaskState)) throw usage(`--state must be one of ${STATES.join(", ")}`);
    const q: ListQuery = { state: state as TaskState | undefined, worker: stringFlag(a, "worker"), limit: intFlag(a, "limit", 1, 1000), after: stringFlag(a, "after") };
    const page = await c.list(q);
    out.value(page, taskTable(page.tasks) + (page.next ? `next page: --after ${page.next}\n` : ""));
    return 0;
  },
  cancel: async (c, a, out) => (out.task(await c.cancel(oneId(a, "cancel"))), 0),
  retry: async (c, a, out) => (out.task(await c.retry(oneId(a, "retry"))), 0),
  delete: async (c, a, out) => {
    const answer = await c.delete(oneId(a, "delete"));
    out.value(answer, `deleted ${answer.id}\n`);
    return 0;
  },
  wait: async (c, a, out) => {
    const id = oneId(a, "wait");
    const timeout = stringFlag(a, "timeout");
    const t = await c.wait(id, { timeoutMs: timeout === undefined ? 60_000 : parseDurationMs(timeout, "--timeout") });
    out.task(t);
    if (t.state === "completed") return 0;
    process.stderr.write(`raftsched task wait: ${t.id} is ${t.state}${t.state === "dead" || t.state === "cancelled" ? "" : " (did not end in time)"}\n`);
    return 1;
  },
  watch: async (c, a, out) => {
    noPositional(a, "watch");
    const since = intFlag(a, "since", 0, Number.MAX_SAFE_INTEGER);
    const count = intFlag(a, "count", 1, Number.MAX_SAFE_INTEGER);
    const ctl = new AbortController();
    const stop = () => ctl.abort();
    process.once("SIGINT", stop);
    process.once("SIGTERM", stop);
    let seen = 0;
    try {
      for await (const e of c.watch({ ...(since !== undefined ? { since } : {}), signal: ctl.signal, deletions: true })) {
        process.stdout.write(out.json ? `${JSON.stringify(e)}\n` : eventLine(e));
        if (count !== undefined && ++seen >= count) break;
      }
    } finally {
      process.off("SIGINT", stop);
      process.off("SIGTERM", stop);
    }
    return 0;
  },
};

export async function taskCommand(argv: readonly string[]): Promise<number> {
  const [sub, ...rest] = argv;
  if (!sub || sub === "help" || sub === "--help") {
    process.stdout.write(TASK_USAGE);
    return sub ? 0 : 2;
  }
  const run = SUBCOMMANDS[sub];
  if (!run) throw usage(`unknown task command "${sub}"\n${TASK_USAGE}`);
  const a = parseArgs(rest, FLAGS, `task ${sub}`);
  const cfg = loadClusterFile(configPathOr(stringFlag(a, "config")));
  const client = new Client({ urls: cfg.nodes.map((n) => n.url), token: cfg.token, retryForMs: 15_000 });
  const json = a.flags.json === true;
  const out: Output = {
    json,
    task: (t) => process.stdout.write(json ? `${JSON.stringify(t)}\n` : taskDetail(t)),
    value: (v, human) => process.stdout.write(json ? `${JSON.stringify(v)}\n` : human),
  };
  try {
    return await run(client, a, out);
  } catch (err) {
    if (err instanceof ClientError) throw new RaftschedError(err.code === "BAD_ARGS" ? "BAD_ARGS" : "TASK_FAILED", `${err.code}: ${err.message}`);
    throw err;
  }
}

function usage(message: string): RaftschedError {
  return new RaftschedError("BAD_ARGS", message);
}

function oneId(a: ParsedArgs, sub: string): string {
  if (a.positional.length !== 1) throw usage(`task ${sub}: give exactly one task id`);
  return a.positional[0]!;
}

function noPositional(a: ParsedArgs, sub: string): void {
  if (a.positional.length > 0) throw usage(`task ${sub}: unexpected argument "${a.positional[0]}"`);
}

function intFlag(a: ParsedArgs, name: string, min: number, max: number): number | undefined {
  const v = stringFlag(a, name);
  if (v === undefined) return undefined;
  const n = Number(v);
  if (!/^-?\d+$/.test(v) || !Number.isSafeInteger(n) || n < min || n > max) throw usage(`--${name} must be an integer from ${min} to ${max}`);
  return n;
}

function parseJsonFlag(text: string): unknown {
  try {
    return JSON.parse(text);
  } catch (err) {
    throw usage(`--payload must be JSON: ${(err as Error).message}`);
  }
}
