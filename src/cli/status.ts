// `raftsched status [--config <file>]`: every node's view, in one table, from the outside. The rows and the exit
// code are decided in status-view.ts.
import { loadClusterFile } from "../config/cluster-file.js";
import { httpJson } from "./http-client.js";
import { configPathOr, parseArgs, stringFlag } from "./args.js";
import { statusExitCode, statusRows, statusTable, type StatusAnswer, type StatusProbe } from "./status-view.js";

// Reads carry the token too: a cluster with "authReads" answers them only with one.
async function probe(id: string, url: string, token: string): Promise<StatusProbe> {
  try {
    const r = await httpJson<StatusAnswer>(`${url}/v1/status`, { timeoutMs: 1000, token });
    return r.status === 200 ? { id, url, answer: r.body } : { id, url, answer: null, error: `HTTP ${r.status}` };
  } catch (err) {
    return { id, url, answer: null, error: (err as Error).message };
  }
}

/** The members the cluster lists now, asked of the nodes that answered (a follower forwards to the leader). */
async function currentMembers(urls: readonly string[], token: string): Promise<Array<{ id: string; url: string | null }> | null> {
  for (const url of urls) {
    try {
      const r = await httpJson<{ members?: Array<{ id: string; url: string | null }> }>(`${url}/v1/cluster`, { timeoutMs: 2000, token });
      if (r.status === 200 && Array.isArray(r.body.members)) return r.body.members;
    } catch {
      // the next node
    }
  }
  return null;
}

export async function statusCommand(argv: readonly string[]): Promise<number> {
  const args = parseArgs(argv, { config: "string", json: "boolean" }, "status");
  const given = stringFlag(args, "config");
  const configPath = configPathOr(given);
  // Without --config the bundled demo file may be the one read: say so, so a reader is not misled by its table.
  if (given === undefined) process.stderr.write(`raftsched status: no --config given; read ${configPath}\n`);
  const cfg = loadClusterFile(configPath);
  const probes = await Promise.all(cfg.nodes.map((n) => probe(n.id, n.url, cfg.token)));
  const members = await currentMembers(probes.filter((p) => p.answer).map((p) => p.url), cfg.token);
  // Members added at runtime are not in the file: ask them too.
  const extra = (members ?? []).filter((m) => m.url !== null && !cfg.nodes.some((n) => n.id === m.id));
  probes.push(...(await Promise.all(extra.map((m) => probe(m.id, m.url!, cfg.token)))));
  const rows = statusRows(probes, members ? new Set(members.map((m) => m.id)) : null);
  if (args.flags.json) {
    const out = probes.map((p, i) =>
      p.answer ? { ok: true, url: p.url, state: rows[i]!.state, ...p.answer } : { ok: false, id: p.id, url: p.url, state: rows[i]!.state, error: p.error },
    );
    process.stdout.write(JSON.stringify(out, null, 2) + "\n");
  } else {
    process.stdout.write(statusTable(rows) + "\n");
  }
  return statusExitCode(rows);
}
