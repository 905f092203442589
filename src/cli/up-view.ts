// What `raftsched up` shows, computed from what it polled: pure functions, so the rules are tested without
// processes. The view follows the nodes of the cluster (their /v1/status, the leader's /v1/cluster), not only the
// child processes `up` started: a node killed and started again by hand shows as up again, with its new pid.

/** A node's /v1/status as `up` reads it (the contract's fields plus this node's own work and pid). */
export interface PolledStatus {
  readonly role: string;
  readonly term: number;
  readonly leaderId: string | null;
  readonly commitIndex: number;
  readonly appliedIndex: number;
  readonly pid?: number;
  readonly completedTasks?: number;
  readonly tasks?: { pending: number; assigned: number; completed: number; dead: number; cancelled: number; total: number };
}

export interface PolledWorker {
  readonly id: string;
  readonly alive: boolean;
  readonly active: number;
  readonly capacity: number;
}

/** One poll of the whole cluster. */
export interface ClusterPoll {
  /** Every node worth showing: the file's, then members added at runtime; id → url. */
  readonly nodes: ReadonlyArray<{ readonly id: string; readonly url: string }>;
  /** id → the node's status, or null when it did not answer. */
  readonly statuses: ReadonlyMap<string, PolledStatus | null>;
  /** The members the leader lists, or null when no member list was had this time. */
  readonly members: ReadonlySet<string> | null;
  readonly workers: readonly PolledWorker[];
  /** id → how the child `up` started for it ended ("killed by SIGKILL", "exited 1: ..."), when it did. */
  readonly childExits: ReadonlyMap<string, string>;
  /** id → the pid of `up`'s own child, while it runs. */
  readonly childPids: ReadonlyMap<string, number>;
}

export interface NodeRow {
  readonly id: string;
  readonly url: string;
  readonly pid: string;
  /** The node's role when it answers; otherwise why not: `down (killed by SIGKILL)`, `removed`, `unreachable`. */
  readonly state: string;
  readonly reachable: boolean;
  readonly cells: readonly string[];
}

/** What a node that does not answer is: removed beats down (up's child for it ended) beats "not answering" (up's
 *  child runs: starting, or paused) beats plainly unreachable (a node up does not run). */
export function stateOf(id: string, status: PolledStatus | null, poll: Pick<ClusterPoll, "members" | "childExits" | "childPids">): string {
  if (poll.members !== null && !poll.members.has(id)) return "removed";
  if (status) return status.role;
  const exit = poll.childExits.get(id);
  if (exit !== undefined) return `down (${exit})`;
  return poll.childPids.has(id) ? "not answering" : "unreachable";
}

export function nodeRows(poll: ClusterPoll): NodeRow[] {
  return poll.nodes.map(({ id, url }) => {
    const s = poll.statuses.get(id) ?? null;
    const w = poll.workers.find((x) => x.id === id);
    const pid = s?.pid ?? poll.childPids.get(id);
    const state = stateOf(id, s, poll);
    const cells = [
      s?.role === "leader" ? "★" : "",
      id,
      pid !== undefined && (s || poll.childPids.has(id)) ? String(pid) : "-",
      url,
      state,
      s ? String(s.term) : "-",
      s ? String(s.commitIndex) : "-",
      s ? String(s.appliedIndex) : "-",
      w ? (w.alive ? "alive" : "dead") : "-",
      w ? `${w.active}/${w.capacity}` : "-",
      s?.completedTasks !== undefined ? String(s.completedTasks) : "-",
    ];
    return { id, url, pid: cells[2]!, state, reachable: s !== null, cells };
  });
}

export interface LeaderView {
  readonly id: string;
  readonly term: number;
  /** The leader's pid when the leader itself answered. */
  readonly pid: number | null;
}

/** The leader: a node that answers as leader (the highest term wins over a deposed one that has not heard yet),
 *  else the leader some answering node knows of. Null only when no answering node knows any leader. */
export function leaderOf(poll: Pick<ClusterPoll, "statuses">): LeaderView | null {
  let best: LeaderView | null = null;
  let known: LeaderView | null = null;
  for (const [id, s] of poll.statuses) {
    if (!s) continue;
    if (s.role === "leader" && (best === null || s.term > best.term)) best = { id, term: s.term, pid: s.pid ?? null };
    if (s.leaderId !== null && (known === null || s.term > known.term)) known = { id: s.leaderId, term: s.term, pid: null };
  }
  return best ?? known;
}

export const TABLE_HEADER = ["", "node", "pid", "url", "role", "term", "commit", "applied", "worker", "active", "done"];

export function renderTable(rows: readonly NodeRow[]): string {
  const all = [TABLE_HEADER, ...rows.map((r) => r.cells)];
  const widths = TABLE_HEADER.map((_, col) => Math.max(...all.map((r) => r[col]!.length)));
  return all.map((r) => r.map((cell, col) => cell.padEnd(widths[col]!)).join("  ").trimEnd()).join("\n");
}

export function leaderLine(leader: LeaderView | null): string {
  if (!leader) return "no leader yet (electing)…";
  if (leader.pid === null) return `leader: ${leader.id} (term ${leader.term}, not answering here yet)`;
  return `leader: ${leader.id} (pid ${leader.pid}). Try: kill -9 ${leader.pid}  — another node takes over.`;
}

export function tasksLine(leaderStatus: PolledStatus | null | undefined): string | null {
  const c = leaderStatus?.tasks;
  if (!c) return null;
  return `tasks: ${c.total} in all — ${c.pending} pending, ${c.assigned} assigned, ${c.completed} completed, ${c.dead} dead, ${c.cancelled} cancelled`;
}

/** What a log reader needs to know between two polls (stdout is not a terminal): each node whose state or pid
 *  changed, and a new leader. `before` is the previous call's `after`; the first call reports every node. */
export function describeChanges(
  before: ReadonlyMap<string, string> | null,
  rows: readonly NodeRow[],
  leaderBefore: string | null | undefined,
  leader: LeaderView | null,
): { lines: string[]; after: Map<string, string>; leaderAfter: string | null } {
  const after = new Map<string, string>();
  const lines: string[] = [];
  for (const r of rows) {
    const now = `${r.state}${r.pid !== "-" ? ` (pid ${r.pid})` : ""}`;
    after.set(r.id, now);
    const was = before?.get(r.id);
    if (was !== now) lines.push(was === undefined ? `${r.id}: ${now}` : `${r.id}: ${was} → ${now}`);
  }
  const leaderAfter = leader?.id ?? null;
  if (leaderBefore === undefined || leaderAfter !== leaderBefore) lines.push(leader ? `leader: ${leader.id} (term ${leader.term})` : "no leader yet (electing)…");
  return { lines, after, leaderAfter };
}
