// What `raftsched status` prints and how it exits, from what it asked: pure, so the rules are tested without a
// cluster. A node that does not answer fails the command (exit 1) — a script or a health check must see it — but a
// member the cluster removed is shown as removed and is no failure; members added at runtime are shown too.

export interface StatusAnswer {
  readonly id: string;
  readonly role: string;
  readonly term: number;
  readonly leaderId: string | null;
  readonly commitIndex: number;
  readonly appliedIndex: number;
}

/** One node of the file or of the cluster's member list, and what it answered. */
export interface StatusProbe {
  readonly id: string;
  readonly url: string;
  readonly answer: StatusAnswer | null;
  /** Why it did not answer ("timed out", "ECONNREFUSED", "HTTP 500"). */
  readonly error?: string;
}

export interface StatusRow {
  readonly id: string;
  readonly url: string;
  readonly state: "ok" | "removed" | "unreachable";
  readonly cells: readonly string[];
}

/** `members`: the ids the cluster lists now (from any node's /v1/cluster), or null when no node could say. */
export function statusRows(probes: readonly StatusProbe[], members: ReadonlySet<string> | null): StatusRow[] {
  return probes.map((p) => {
    const removed = members !== null && !members.has(p.id);
    const a = p.answer;
    if (a) {
      const role = removed ? `removed (still answering as ${a.role})` : a.role === "leader" ? "leader ★" : a.role;
      const cells = [p.id, p.url, role, String(a.term), a.leaderId ?? "-", String(a.commitIndex), String(a.appliedIndex)];
      return { id: p.id, url: p.url, state: removed ? "removed" : "ok", cells };
    }
    const role = removed ? "removed" : `unreachable (${p.error ?? "no answer"})`;
    return { id: p.id, url: p.url, state: removed ? "removed" : "unreachable", cells: [p.id, p.url, role, "-", "-", "-", "-"] };
  });
}

export function statusTable(rows: readonly StatusRow[]): string {
  const all = [["node", "url", "role", "term", "leader", "commit", "applied"], ...rows.map((r) => r.cells)];
  const widths = all[0]!.map((_, c) => Math.max(...all.map((r) => r[c]!.length)));
  return all.map((r) => r.map((x, c) => x.padEnd(widths[c]!)).join("  ").trimEnd()).join("\n");
}

/** 0 when every current member answered; 1 when any did not (or nothing answered at all). */
export function statusExitCode(rows: readonly StatusRow[]): number {
  const current = rows.filter((r) => r.state !== "removed");
  return current.length === 0 || current.some((r) => r.state === "unreachable") ? 1 : 0;
}
