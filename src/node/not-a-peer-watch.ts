// A member removed while it could not hear about it (paused, partitioned, or down when the removal committed) never
// applies its own removal: its log stops before the entry, its configuration still lists it, and it would wait as a
// leaderless follower forever while every peer refuses its connections with 403 NOT_A_PEER (issue #18, point 3).
//
// This watch notices that state — the node counts itself a member, no peer accepts it, and at least one has refused
// it as not a peer for several election timeouts — and then asks the peers for the cluster's current configuration
// (GET /v1/cluster). Only an answer that names a leader and does not list this node confirms the removal; then the
// node reports itself removed (/v1/status, /healthz) and leaves like a node that applied its removal.
//
// A node started with --join that has not been added yet gets the same refusals, but its own configuration does not
// list it: it is not a member yet, so it waits instead.
import type { Logger } from "pino";
import { errorMessage } from "../util/errors.js";
import { clusterFetch } from "../tls/cluster-fetch.js";

/** What the transport knows of one outbound peer link. */
export interface PeerLinkState {
  readonly peer: string;
  readonly connected: boolean;
  /** Since when (epoch ms) the peer has refused every dial with 403 NOT_A_PEER, or null. */
  readonly notAPeerSinceMs: number | null;
}

export interface NotAPeerInput {
  /** This node's own configuration lists it (voter or learner). */
  readonly selfIsMember: boolean;
  readonly links: readonly PeerLinkState[];
  readonly nowMs: number;
  /** How long a NOT_A_PEER refusal must have lasted. */
  readonly refusedForMs: number;
}

/** Whether the node should ask its peers whether it is still a member. */
export function shouldAskIfRemoved(i: NotAPeerInput): boolean {
  if (!i.selfIsMember || i.links.length === 0) return false;
  if (i.links.some((l) => l.connected)) return false;
  return i.links.some((l) => l.notAPeerSinceMs !== null && i.nowMs - l.notAPeerSinceMs >= i.refusedForMs);
}

/** Whether a GET /v1/cluster answer confirms that `selfId` is no longer a member: it names a leader (an answer
 *  from a node that knows the current configuration) and does not list `selfId`. */
export function removalConfirmedBy(selfId: string, answer: unknown): boolean {
  if (typeof answer !== "object" || answer === null) return false;
  const { leaderId, members } = answer as { leaderId?: unknown; members?: unknown };
  if (typeof leaderId !== "string" || !Array.isArray(members) || members.length === 0) return false;
  return !members.some((m) => typeof m === "object" && m !== null && (m as { id?: unknown }).id === selfId);
}

export interface NotAPeerWatchOptions {
  readonly selfId: string;
  readonly logger: Logger;
  readonly token: string;
  /** How often the state is looked at, and the per-request timeout of a question. */
  readonly everyMs: number;
  /** How long the refusals must last before the peers are asked (a few election timeouts). */
  readonly refusedForMs: number;
  readonly selfIsMember: () => boolean;
  readonly links: () => readonly PeerLinkState[];
  readonly peerUrl: (peer: string) => string | undefined;
  /** Called once, when a peer confirmed the removal; `evidence` names who said so. */
  readonly onRemovalConfirmed: (evidence: string) => void;
  /** GET <url>/v1/cluster; injectable for tests. */
  readonly fetchCluster?: (url: string, token: string, timeoutMs: number) => Promise<unknown>;
}

export class NotAPeerWatch {
  private readonly o: NotAPeerWatchOptions;
  private timer: NodeJS.Timeout | null = null;
  private asking = false;
  private lastAskMs = 0;
  private confirmed = false;

  constructor(o: NotAPeerWatchOptions) {
    this.o = o;
  }

  start(): void {
    if (this.timer || this.confirmed) return;
    this.timer = setInterval(() => void this.check(), this.o.everyMs);
    this.timer.unref();
  }

  stop(): void {
    if (this.timer) clearInterval(this.timer);
    this.timer = null;
  }

  /** One look; exported for tests. Asks at most once per refusedForMs. */
  async check(nowMs = Date.now()): Promise<void> {
    if (this.asking || this.confirmed || nowMs - this.lastAskMs < this.o.refusedForMs) return;
    const links = this.o.links();
    if (!shouldAskIfRemoved({ selfIsMember: this.o.selfIsMember(), links, nowMs, refusedForMs: this.o.refusedForMs })) return;
    this.asking = true;
    this.lastAskMs = nowMs;
    try {
      this.o.logger.warn(
        { refusedBy: links.filter((l) => l.notAPeerSinceMs !== null).map((l) => l.peer) },
        "no peer accepts this node and some refuse it as not a peer: asking them for the current membership",
      );
      const evidence = await this.askPeers(links.map((l) => l.peer));
      if (evidence !== null && !this.confirmed) {
        this.confirmed = true;
        this.stop();
        this.o.onRemovalConfirmed(evidence);
      }
    } finally {
      this.asking = false;
    }
  }

  private async askPeers(peers: readonly string[]): Promise<string | null> {
    const fetchCluster = this.o.fetchCluster ?? defaultFetchCluster;
    const answers = await Promise.all(
      peers.map(async (peer) => {
        const url = this.o.peerUrl(peer);
        if (!url) return null;
        try {
          const body = await fetchCluster(url, this.o.token, this.o.everyMs * 2);
          if (!removalConfirmedBy(this.o.selfId, body)) return null;
          const b = body as { leaderId: string; members: Array<{ id: string }> };
          return `${peer} answers leader ${b.leaderId}, members ${b.members.map((m) => m.id).join(", ")}`;
        } catch (err) {
          this.o.logger.debug({ peer, err: errorMessage(err) }, "could not ask the peer for the membership");
          return null;
        }
      }),
    );
    return answers.find((a) => a !== null) ?? null;
  }
}

async function defaultFetchCluster(url: string, token: string, timeoutMs: number): Promise<unknown> {
  const res = await clusterFetch(`${url}/v1/cluster`, { headers: { authorization: `Bearer ${token}` }, signal: AbortSignal.timeout(timeoutMs) });
  const text = await res.text();
  if (!res.ok) throw new Error(`HTTP ${res.status}`);
  return JSON.parse(text) as unknown;
}

/** How many election timeouts of NOT_A_PEER refusals make a member ask whether it was removed. */
export const NOT_A_PEER_ELECTION_TIMEOUTS = 5;

/** What the watch needs from a node (src/node/node.ts). */
export interface WatchedNode {
  readonly id: string;
  readonly logger: Logger;
  readonly cfg: { readonly token: string; readonly electionTimeoutMs: readonly [number, number] };
  readonly memberUrls: ReadonlyMap<string, string>;
  raftStatus(): { readonly conf: { readonly voters: readonly string[]; readonly learners: readonly string[] } };
  readonly transport: { stats(): { readonly peers: Readonly<Record<string, { readonly connected: boolean; readonly notAPeerSinceMs: number | null }>> } };
}

/** The watch for one node, looking every election timeout. */
export function notAPeerWatchFor(n: WatchedNode, onRemovalConfirmed: (evidence: string) => void): NotAPeerWatch {
  const electionTimeoutMs = n.cfg.electionTimeoutMs[1];
  return new NotAPeerWatch({
    selfId: n.id,
    logger: n.logger,
    token: n.cfg.token,
    everyMs: electionTimeoutMs,
    refusedForMs: electionTimeoutMs * NOT_A_PEER_ELECTION_TIMEOUTS,
    selfIsMember: () => {
      const conf = n.raftStatus().conf;
      return conf.voters.includes(n.id) || conf.learners.includes(n.id);
    },
    links: () => Object.entries(n.transport.stats().peers).map(([peer, s]) => ({ peer, connected: s.connected, notAPeerSinceMs: s.notAPeerSinceMs })),
    peerUrl: (peer) => n.memberUrls.get(peer),
    onRemovalConfirmed,
  });
}
