// Which node of the cluster file an operator command talks to, and in what order (issue #18 item 5). The CLI used
// to try the nodes one after another with the command's whole timeout each (10 s for transfer-leader, 75 s for
// member add), so a hung (SIGSTOPped) first node cost that much before the next was tried. Now every node is asked
// for its status at once with a short timeout; the command goes to the leader first when one is known, then to
// the other nodes that answered, and to the silent ones last.
import type { ClusterFile } from "../config/cluster-file.js";
import { httpJson } from "./http-client.js";

/** How long a node may take to answer /v1/status before it counts as hung for this command. */
export const PROBE_TIMEOUT_MS = 1_000;

interface NodeRef {
  readonly id: string;
  readonly url: string;
}

export interface ProbedNode extends NodeRef {
  readonly answered: boolean;
}

/** The nodes in the order to try them: the leader (as most answering nodes name it), the others that answered,
 *  then the ones that did not answer within the probe timeout. */
export async function nodesInCallOrder(cfg: Pick<ClusterFile, "nodes" | "token">, probeTimeoutMs = PROBE_TIMEOUT_MS): Promise<ProbedNode[]> {
  const probes = await Promise.all(
    cfg.nodes.map(async (n) => {
      try {
        const r = await httpJson<{ role?: string; leaderId?: string | null }>(`${n.url}/v1/status`, { timeoutMs: probeTimeoutMs, token: cfg.token });
        return { id: n.id, url: n.url, answered: r.status === 200, leaderId: r.status === 200 ? (r.body?.leaderId ?? null) : null };
      } catch {
        return { id: n.id, url: n.url, answered: false, leaderId: null };
      }
    }),
  );
  return orderNodes(probes);
}

/** Pure ordering: leader named by the most answering nodes first, then answering nodes, then silent ones. */
export function orderNodes(probes: ReadonlyArray<ProbedNode & { readonly leaderId: string | null }>): ProbedNode[] {
  const votes = new Map<string, number>();
  for (const p of probes) if (p.answered && p.leaderId) votes.set(p.leaderId, (votes.get(p.leaderId) ?? 0) + 1);
  const leader = [...votes].sort((a, b) => b[1] - a[1])[0]?.[0] ?? null;
  const rank = (p: ProbedNode): number => (p.answered && p.id === leader ? 0 : p.answered ? 1 : 2);
  return [...probes].sort((a, b) => rank(a) - rank(b)).map(({ id, url, answered }) => ({ id, url, answered }));
}
