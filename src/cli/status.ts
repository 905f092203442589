// `raftsched status --config <file>`: every node's view, in one table, from the outside.
import { loadClusterFile } from "../config/cluster-file.js";
import { httpJson } from "./http-client.js";
import { configPathOr, parseArgs, stringFlag } from "./args.js";

interface StatusView {
  id: string;
  role: string;
  term: number;
  leaderId: string | null;
  commitIndex: number;
  appliedIndex: number;
}

export async function statusCommand(argv: readonly string[]): Promise<number> {
  const args = parseArgs(argv, { config: "string", json: "boolean" }, "status");
  const cfg = loadClusterFile(configPathOr(stringFlag(args, "config")));
  const views = await Promise.all(
    cfg.nodes.map(async (n) => {
      try {
        const r = await httpJson<StatusView>(`${n.url}/v1/status`, { timeoutMs: 1000 });
        return r.status === 200 ? { ok: true as const, url: n.url, ...r.body } : { ok: false as const, id: n.id, url: n.url, error: `HTTP ${r.status}` };
      } catch (err) {
        return { ok: false as const, id: n.id, url: n.url, error: (err as Error).message };
      }
    }),
  );
  if (args.flags.json) {
    process.stdout.write(JSON.stringify(views, null, 2) + "\n");
  } else {
    const rows = [["node", "url", "role", "term", "leader", "commit", "applied"]];
    for (const v of views) {
      rows.push(
        v.ok
          ? [v.id, v.url, v.role === "leader" ? "leader ★" : v.role, String(v.term), v.leaderId ?? "-", String(v.commitIndex), String(v.appliedIndex)]
          : [v.id, v.url, `unreachable (${v.error})`, "-", "-", "-", "-"],
      );
    }
    const widths = rows[0]!.map((_, c) => Math.max(...rows.map((r) => r[c]!.length)));
    process.stdout.write(rows.map((r) => r.map((x, c) => x.padEnd(widths[c]!)).join("  ")).join("\n") + "\n");
  }
  const reachable = views.filter((v) => v.ok).length;
  return reachable === 0 ? 1 : 0;
}
