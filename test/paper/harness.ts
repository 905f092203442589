// The paper tests' harness: RaftNodes over MemoryStorage, driven either one at a time (step crafted messages,
// read what comes out) or as a small in-process cluster.
//
// Every Ready is handled exactly as the contract on `Ready` says (persist, then send, then apply, then advance),
// and the harness checks Figure 2's persistence rules on every single one, so each test also proves them:
//  - a vote grant leaves only once the matching (term, vote) is in storage;
//  - an append acknowledgement leaves only once the acknowledged entries are in storage;
//  - a Ready that carries a new term/vote or entries says mustSync;
//  - commitIndex never decreases; lastApplied never decreases and applies exactly commitIndex's entries in order.
import { RaftNode } from "../../src/raft/raft.js";
import type { RaftConfig } from "../../src/raft/api.js";
import { makePrng } from "../../src/raft/prng.js";
import type { ConfState, Entry, Message, NodeId, Ready } from "../../src/raft/types.js";
import { MemoryStorage } from "../../src/storage/memory.js";

export const ELECTION_TICKS_MIN = 10;
export const ELECTION_TICKS_MAX = 20;
export const HEARTBEAT_TICKS = 2;

export type PaperOptions = Partial<Omit<RaftConfig, "id" | "storage">>;

export function bytes(s: string): Uint8Array {
  return new TextEncoder().encode(s);
}

export function text(e: Entry): string {
  return new TextDecoder().decode(e.data);
}

/** Entries with the given terms at indexes from + 0, from + 1, …; data names index and term ("3@2"). */
export function entriesWithTerms(terms: readonly number[], from = 1): Entry[] {
  return terms.map((term, k) => ({ term, index: from + k, kind: "normal" as const, data: bytes(`${from + k}@${term}`) }));
}

/** A storage that already holds a log of the given terms (index 1 on), a hard state and a membership. */
export function storageWith(voters: readonly NodeId[], logTerms: readonly number[] = [], term = 0, vote: NodeId | null = null, commit = 0): MemoryStorage {
  const conf: ConfState = { voters: [...voters], learners: [] };
  const s = new MemoryStorage(conf);
  s.append(entriesWithTerms(logTerms));
  s.setHardState({ term, vote, commit });
  return s;
}

/** The terms of the stored log, index 1 on. */
export function storedTerms(s: MemoryStorage): number[] {
  const out: number[] = [];
  for (let i = s.firstIndex(); i <= s.lastIndex(); i++) out.push(s.term(i));
  return out;
}

let nextSeed = 1;

/** One RaftNode, its storage, and what it applied. Ready handling (and the Figure 2 checks) lives here. */
export class PaperNode {
  readonly raft: RaftNode;
  readonly applied: Entry[] = [];
  /** Every Ready handed out, in order (for tests that look at how output was batched). */
  readonly readies: Ready[] = [];
  private lastCommit: number;

  constructor(
    readonly id: NodeId,
    readonly storage: MemoryStorage,
    opts: PaperOptions = {},
  ) {
    this.raft = new RaftNode({
      id,
      storage,
      electionTicksMin: ELECTION_TICKS_MIN,
      electionTicksMax: ELECTION_TICKS_MAX,
      heartbeatTicks: HEARTBEAT_TICKS,
      random: makePrng(nextSeed++),
      ...opts,
    });
    this.lastCommit = storage.initialState().hardState.commit;
  }

  /** Handles every pending Ready; returns the messages to send, in order. */
  drain(): Message[] {
    const out: Message[] = [];
    while (this.raft.hasReady()) out.push(...this.handle(this.raft.ready()));
    return out;
  }

  private handle(rd: Ready): Message[] {
    this.readies.push(rd);
    const termOrVoteChanged = rd.hardState !== undefined && (() => {
      const prev = this.storage.initialState().hardState;
      return rd.hardState.term !== prev.term || rd.hardState.vote !== prev.vote;
    })();
    if ((termOrVoteChanged || rd.entries.length > 0 || rd.snapshot !== undefined) && !rd.mustSync) {
      throw new Error(`${this.id}: a Ready with new term/vote/entries must say mustSync`);
    }
    // 1. persist
    if (rd.snapshot) this.storage.applySnapshot(rd.snapshot);
    this.storage.append(rd.entries);
    if (rd.hardState) {
      if (rd.hardState.commit < this.lastCommit) throw new Error(`${this.id}: commit went back from ${this.lastCommit} to ${rd.hardState.commit}`);
      this.lastCommit = rd.hardState.commit;
      this.storage.setHardState(rd.hardState);
    }
    // 2. every message may leave only now: check that what it promises is durable
    const hs = this.storage.initialState().hardState;
    for (const m of rd.messages) {
      // A grant is safe to send once the stored state can never grant another vote in its term: the same term with
      // this vote, or a later term (a node that granted in term 6 and then moved to term 8 in the same Ready never
      // votes in term 6 again).
      if (m.type === "voteResp" && !m.reject && hs.term < m.term) {
        throw new Error(`${this.id}: vote for ${m.to} in term ${m.term} sent before its term was persisted (stored ${hs.term}/${hs.vote})`);
      }
      if (m.type === "voteResp" && !m.reject && hs.term === m.term && hs.vote !== m.to) {
        throw new Error(`${this.id}: vote for ${m.to} in term ${m.term} sent before it was persisted (stored ${hs.term}/${hs.vote})`);
      }
      if (m.type === "appendResp" && !m.reject && m.index > this.storage.lastIndex()) {
        throw new Error(`${this.id}: acknowledged index ${m.index} past the stored log end ${this.storage.lastIndex()}`);
      }
    }
    // 3. apply: exactly the next committed entries, in order, all durable and within commitIndex
    for (const e of rd.committedEntries) {
      const expected = (this.applied[this.applied.length - 1]?.index ?? this.raft.status().applied) + 1;
      if (e.index !== expected) throw new Error(`${this.id}: applied ${e.index}, expected ${expected}`);
      if (e.index > this.lastCommit) throw new Error(`${this.id}: applied ${e.index} past commit ${this.lastCommit}`);
      if (this.storage.term(e.index) !== e.term) throw new Error(`${this.id}: applied entry ${e.index} is not the stored one`);
      this.applied.push(e);
    }
    this.raft.advance(rd);
    return [...rd.messages];
  }

  /** Payloads of the applied non-empty normal entries (the leaders' no-ops left out). */
  appliedData(): string[] {
    return this.applied.filter((e) => e.kind === "normal" && e.data.byteLength > 0).map(text);
  }
}

/** A few nodes and a network between them that delivers every message at once, unless cut or filtered. */
export class PaperCluster {
  readonly nodes = new Map<NodeId, PaperNode>();
  /** Every message sent (delivered or dropped), in order. */
  readonly sent: Message[] = [];
  private readonly cut = new Set<string>();
  /** Return false to drop a message. */
  filter: (m: Message) => boolean = () => true;

  constructor(
    readonly ids: readonly NodeId[],
    readonly opts: PaperOptions = {},
    logs: Partial<Record<NodeId, MemoryStorage>> = {},
  ) {
    for (const id of ids) this.nodes.set(id, new PaperNode(id, logs[id] ?? storageWith(ids), opts));
  }

  node(id: NodeId): PaperNode {
    const n = this.nodes.get(id);
    if (!n) throw new Error(`no node ${id}`);
    return n;
  }

  isolate(id: NodeId): void {
    for (const other of this.ids) {
      if (other === id) continue;
      this.cut.add(`${id}->${other}`);
      this.cut.add(`${other}->${id}`);
    }
  }

  heal(): void {
    this.cut.clear();
  }

  /** Crash (keeping only what was persisted) and restart a node. */
  restart(id: NodeId, opts: PaperOptions = {}): PaperNode {
    const n = new PaperNode(id, this.node(id).storage.clone(), { ...this.opts, ...opts });
    this.nodes.set(id, n);
    return n;
  }

  /** Handles Readies and delivers messages until nothing moves. */
  settle(maxRounds = 10_000): void {
    for (let round = 0; round < maxRounds; round++) {
      const inFlight: Message[] = [];
      for (const n of this.nodes.values()) inFlight.push(...n.drain());
      if (inFlight.length === 0) return;
      for (const m of inFlight) {
        this.sent.push(m);
        if (this.cut.has(`${m.from}->${m.to}`) || !this.filter(m)) continue;
        this.nodes.get(m.to)?.raft.step(m);
      }
    }
    throw new Error("cluster did not settle");
  }

  tick(ids: readonly NodeId[] | "all", n = 1): void {
    for (let i = 0; i < n; i++) {
      for (const [id, node] of this.nodes) if (ids === "all" || ids.includes(id)) node.raft.tick();
      this.settle();
    }
  }

  /** Makes `id` campaign and settles; the caller asserts the outcome. */
  campaign(id: NodeId): void {
    this.node(id).raft.campaign();
    this.settle();
  }

  leaders(): NodeId[] {
    return [...this.nodes.values()].filter((n) => n.raft.status().role === "leader").map((n) => n.id);
  }
}

/** Makes a lone node (of a cluster of `voters`) leader of the next term with pre-vote off: campaign, then grants
 *  from enough peers. Returns the messages the new leader sent (its first appends). */
export function makeLeader(n: PaperNode, voters: readonly NodeId[]): Message[] {
  n.raft.campaign();
  const votes = n.drain().filter((m) => m.type === "vote" || m.type === "preVote");
  if (votes.length === 0) throw new Error("no vote requests were sent");
  const preVote = votes[0]!.type === "preVote";
  const term = votes[0]!.term;
  const others = voters.filter((v) => v !== n.id);
  const needed = Math.floor(voters.length / 2);
  for (const from of others.slice(0, needed)) {
    n.raft.step({ type: preVote ? "preVoteResp" : "voteResp", from, to: n.id, term, reject: false });
  }
  if (preVote) {
    n.drain();
    for (const from of others.slice(0, needed)) n.raft.step({ type: "voteResp", from, to: n.id, term, reject: false });
  }
  if (n.raft.status().role !== "leader") throw new Error(`${n.id} did not become leader`);
  return n.drain();
}
