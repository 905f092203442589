// Each member's own GET /v1/status, fetched by this node for the dashboard (the page itself talks to one node
// only). Bounded in time: a member that is down or paused answers null after PROBE_TIMEOUT_MS.
import type { MemberStatus } from "./member-rows.js";
import { clusterFetch } from "../tls/cluster-fetch.js";

export const PROBE_TIMEOUT_MS = 1_000;

export type StatusProbe = (url: string) => Promise<MemberStatus | null>;

/** A probe over HTTP presenting the cluster token (a cluster that requires tokens on reads still answers). */
export function httpStatusProbe(token: string): StatusProbe {
  return async (url) => {
    try {
      // clusterFetch: https members are verified against the cluster file's CA (src/tls/cluster-fetch.ts).
      const res = await clusterFetch(`${url.replace(/\/+$/, "")}/v1/status`, {
        headers: { authorization: `Bearer ${token}` },
        signal: AbortSignal.timeout(PROBE_TIMEOUT_MS),
      });
      if (!res.ok) return null;
      return asMemberStatus(await res.json());
    } catch {
      return null;
    }
  };
}

/** The contract's status fields, or null when the answer does not have them. */
export function asMemberStatus(v: unknown): MemberStatus | null {
  if (typeof v !== "object" || v === null) return null;
  const o = v as Record<string, unknown>;
  const num = (k: string): boolean => typeof o[k] === "number" && Number.isFinite(o[k]);
  if (typeof o.id !== "string" || typeof o.role !== "string" || !num("term") || !num("commitIndex") || !num("appliedIndex")) return null;
  const leaderId = typeof o.leaderId === "string" ? o.leaderId : null;
  return { id: o.id, role: o.role, term: o.term as number, leaderId, commitIndex: o.commitIndex as number, appliedIndex: o.appliedIndex as number };
}
