// The one place the chaos link filter is applied. Every frame crosses it once: outgoing messages and snapshot
// frames before they are queued, incoming ones (of either kind) once their sender and addressee are checked.
import type { NodeId } from "../raft/types.js";
import type { PeerCounters } from "./peer-link.js";

/** Returns false to drop a message travelling from `from` to `to`. In-process only (chaos tests). */
export type LinkFilter = (from: NodeId, to: NodeId) => boolean;

export class LinkGate {
  private filter: LinkFilter | null = null;

  /** Pass null to heal every link. */
  set(filter: LinkFilter | null): void {
    this.filter = filter;
  }

  /** Whether traffic from `from` to `to` may pass; a drop is counted in the peer's `filtered`. A filter that
   *  throws drops: a broken chaos hook must not deliver what it meant to cut. */
  passes(from: NodeId, to: NodeId, counters: PeerCounters): boolean {
    const filter = this.filter;
    if (filter === null) return true;
    let ok: boolean;
    try {
      ok = filter(from, to);
    } catch {
      ok = false;
    }
    if (!ok) counters.filtered++;
    return ok;
  }
}
