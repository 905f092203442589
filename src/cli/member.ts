// `raftsched member add|remove|list` and `raftsched transfer-leader`: operator commands that talk to whichever
// node of the cluster file answers (a follower forwards writes to the leader).
import { loadClusterFile, type ClusterFile } from "../config/cluster-file.js";
import { RaftschedError } from "../util/errors.js";
import { httpJson, type HttpAnswer } from "./http-client.js";
import { configPathOr, parseArgs, stringFlag } from "./args.js";
import { nodesInCallOrder, PROBE_TIMEOUT_MS } from "./node-order.js";

interface Member {
  id: string;
  url: string | null;
  role: string;
  matchIndex: number | null;
  alive: boolean | null;
}

/** Sends one call to the first node that answers, the leader first when known (node-order.ts); connection
 *  failures move on to the next node. A node silent on the status probe gets only the probe's short timeout. */
async function callAny(cfg: ClusterFile, path: string, opts: { method?: string; body?: unknown; timeoutMs?: number }): Promise<HttpAnswer> {
  let last = "";
  for (const n of await nodesInCallOrder(cfg)) {
    try {
      const timeoutMs = n.answered ? opts.timeoutMs : Math.min(opts.timeoutMs ?? PROBE_TIMEOUT_MS, PROBE_TIMEOUT_MS);
      const r = await httpJson(`${n.url}${path}`, { ...opts, timeoutMs, token: cfg.token });
      if (r.status === 503) {
        last = `${n.id}: ${JSON.stringify(r.body)}`;
        continue;
      }
      return r;
    } catch (err) {
      last = (err as Error).message;
    }
  }
  throw new RaftschedError("UNREACHABLE", `no node of the cluster file answered (${last})`);
}

function check(r: HttpAnswer): unknown {
  if (r.status >= 200 && r.status < 300) return r.body;
  const e = (r.body as { error?: { code?: string; message?: string } } | null)?.error;
  throw new RaftschedError(e?.code ?? "HTTP_ERROR", `${e?.code ?? r.status}: ${e?.message ?? JSON.stringify(r.body)}`);
}

function printMembers(body: unknown): void {
  const c = body as { leaderId: string | null; term: number; members: Member[] };
  const rows = [["member", "url", "role", "match", "alive"]];
  for (const m of c.members) {
    rows.push([m.id === c.leaderId ? `${m.id} ★` : m.id, m.url ?? "-", m.role, String(m.matchIndex ?? "-"), String(m.alive ?? "-")]);
  }
  const widths = rows[0]!.map((_, i) => Math.max(...rows.map((r) => r[i]!.length)));
  process.stdout.write(rows.map((r) => r.map((x, i) => x.padEnd(widths[i]!)).join("  ")).join("\n") + "\n");
  process.stdout.write(`leader: ${c.leaderId ?? "none"}, term ${c.term}\n`);
}

/** What the new member runs with: --capacity and --tags, else what the cluster file says of it (capacity, worker,
 *  tags). The node checks the tags (400 BAD_FIELD). */
export function memberFactsFor(cfg: ClusterFile, id: string, capacityFlag: string | undefined, tagsFlag: string | undefined): { capacity?: number; worker?: boolean; tags?: string[] } {
  const listed = cfg.nodes.find((n) => n.id === id);
  const tags = tagsFlag !== undefined ? tagsFlag.split(",").map((t) => t.trim()).filter((t) => t.length > 0) : listed?.tags.length ? [...listed.tags] : undefined;
  let capacity = listed?.capacity;
  if (capacityFlag !== undefined) {
    capacity = Number(capacityFlag);
    if (!Number.isInteger(capacity) || capacity < 0 || capacity > 100_000) throw new RaftschedError("BAD_ARGS", "--capacity must be an integer from 0 to 100000");
  }
  return { ...(capacity !== undefined ? { capacity } : {}), ...(listed && !listed.worker ? { worker: false } : {}), ...(tags !== undefined ? { tags } : {}) };
}

export async function memberCommand(argv: readonly string[]): Promise<number> {
  const args = parseArgs(argv, { config: "string", role: "string", url: "string", capacity: "string", tags: "string", json: "boolean" }, "member");
  const cfg = loadClusterFile(configPathOr(stringFlag(args, "config")));
  const [action, id, urlArg] = args.positional;
  const out = (body: unknown): void => {
    if (args.flags.json) process.stdout.write(JSON.stringify(body, null, 2) + "\n");
    else printMembers(body);
  };
  switch (action) {
    case "list": {
      out(check(await callAny(cfg, "/v1/cluster", {})));
      return 0;
    }
    case "add": {
      if (!id) throw new RaftschedError("BAD_ARGS", "member add <id> [<url>] [--role voter|learner] [--capacity N] [--tags a,b]");
      const url = urlArg ?? stringFlag(args, "url") ?? cfg.nodes.find((n) => n.id === id)?.url;
      if (!url) throw new RaftschedError("BAD_ARGS", `member add: no url for "${id}" (give it, or list the node in the cluster file)`);
      const role = stringFlag(args, "role") ?? "voter";
      if (role !== "voter" && role !== "learner") throw new RaftschedError("BAD_ARGS", "--role must be voter or learner");
      out(check(await callAny(cfg, "/v1/cluster/members", { body: { id, url, role, ...memberFactsFor(cfg, id, stringFlag(args, "capacity"), stringFlag(args, "tags")) }, timeoutMs: 75_000 })));
      return 0;
    }
    case "remove": {
      if (!id) throw new RaftschedError("BAD_ARGS", "member remove <id>");
      out(check(await callAny(cfg, `/v1/cluster/members/${encodeURIComponent(id)}`, { method: "DELETE", timeoutMs: 15_000 })));
      return 0;
    }
    default:
      throw new RaftschedError("BAD_ARGS", "member: use add <id> [<url>] [--role voter|learner], remove <id>, or list");
  }
}

export async function transferLeaderCommand(argv: readonly string[]): Promise<number> {
  const args = parseArgs(argv, { config: "string", to: "string" }, "transfer-leader");
  const cfg = loadClusterFile(configPathOr(stringFlag(args, "config")));
  const to = stringFlag(args, "to");
  const body = check(await callAny(cfg, "/v1/cluster/transfer-leader", { body: to ? { to } : {}, timeoutMs: 10_000 })) as { leaderId: string };
  process.stdout.write(`leader: ${body.leaderId}\n`);
  return 0;
}
