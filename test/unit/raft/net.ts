// A tiny deterministic in-test network of RaftNodes over MemoryStorage: every node's Ready is persisted into its
// storage, its messages delivered (unless cut), and advance()d, until the cluster is quiet.
import { RaftNode } from "../../../src/raft/raft.js";
import type { RaftConfig } from "../../../src/raft/api.js";
import type { ConfState, Entry, Message, NodeId, ReadState, SoftState } from "../../../src/raft/types.js";
import { MemoryStorage } from "../../../src/storage/memory.js";
import { makePrng } from "../../../src/raft/prng.js";

export interface TestPeer {
  raft: RaftNode;
  storage: MemoryStorage;
  applied: Entry[];
  readStates: ReadState[];
  softState: SoftState;
}

export type NodeOptions = Partial<Omit<RaftConfig, "id" | "storage" | "random">>;

export const ELECTION_MIN = 10;
export const ELECTION_MAX = 20;

export class TestNet {
  readonly peers = new Map<NodeId, TestPeer>();
  /** Every message delivered or dropped, in order (for assertions). */
  readonly sent: Message[] = [];
  /** Directed links that drop messages: "from->to". */
  private readonly cut = new Set<string>();
  /** Return false to drop a message. */
  filter: (m: Message) => boolean = () => true;
  /** Rewrites a message in flight (after filter). */
  rewrite: (m: Message) => Message = (m) => m;
  private seed = 1;
  /** Reorders every batch of messages in flight, drops and duplicates some. */
  chaos: { random: () => number; dropRate: number; duplicateRate: number } | undefined;

  constructor(readonly opts: NodeOptions = {}) {}

  static cluster(ids: NodeId[], opts: NodeOptions = {}): TestNet {
    const net = new TestNet(opts);
    for (const id of ids) net.add(id, new MemoryStorage({ voters: ids, learners: [] }));
    return net;
  }

  add(id: NodeId, storage: MemoryStorage, extra: NodeOptions = {}): TestPeer {
    const raft = new RaftNode({
      id,
      storage,
      electionTicksMin: ELECTION_MIN,
      electionTicksMax: ELECTION_MAX,
      heartbeatTicks: 2,
      random: makePrng(this.seed++),
      ...this.opts,
      ...extra,
    });
    const peer: TestPeer = { raft, storage, applied: [], readStates: [], softState: { leaderId: null, role: "follower" } };
    this.peers.set(id, peer);
    return peer;
  }

  /** Simulates a crash that keeps what was persisted, and a restart from it. */
  restart(id: NodeId, extra: NodeOptions = {}): TestPeer {
    const old = this.peer(id);
    return this.add(id, old.storage.clone(), extra);
  }

  remove(id: NodeId): void {
    this.peers.delete(id);
  }

  peer(id: NodeId): TestPeer {
    const p = this.peers.get(id);
    if (!p) throw new Error(`no peer ${id}`);
    return p;
  }

  raft(id: NodeId): RaftNode {
    return this.peer(id).raft;
  }

  isolate(id: NodeId): void {
    for (const other of this.peers.keys()) {
      if (other === id) continue;
      this.cut.add(`${id}->${other}`);
      this.cut.add(`${other}->${id}`);
    }
  }

  cutLink(a: NodeId, b: NodeId): void {
    this.cut.add(`${a}->${b}`);
    this.cut.add(`${b}->${a}`);
  }

  heal(): void {
    this.cut.clear();
  }

  /** Processes Readies and delivers messages until nothing is left to do. */
  settle(maxRounds = 10_000): void {
    for (let round = 0; round < maxRounds; round++) {
      const inFlight: Message[] = [];
      for (const p of this.peers.values()) {
        while (p.raft.hasReady()) {
          const rd = p.raft.ready();
          if (rd.snapshot) p.storage.applySnapshot(rd.snapshot);
          p.storage.append(rd.entries);
          if (rd.hardState) p.storage.setHardState(rd.hardState);
          if (rd.softState) p.softState = rd.softState;
          inFlight.push(...rd.messages);
          p.applied.push(...rd.committedEntries);
          p.readStates.push(...rd.readStates);
          p.raft.advance(rd);
        }
      }
      if (inFlight.length === 0) return;
      if (this.chaos) {
        const { random, dropRate, duplicateRate } = this.chaos;
        for (let i = inFlight.length - 1; i > 0; i--) {
          const j = Math.floor(random() * (i + 1));
          [inFlight[i], inFlight[j]] = [inFlight[j]!, inFlight[i]!];
        }
        const kept: Message[] = [];
        for (const m of inFlight) {
          if (random() < dropRate) continue;
          kept.push(m);
          if (random() < duplicateRate) kept.push(m);
        }
        inFlight.length = 0;
        inFlight.push(...kept);
      }
      for (const m of inFlight) {
        this.sent.push(m);
        if (this.cut.has(`${m.from}->${m.to}`) || !this.filter(m)) continue;
        this.peers.get(m.to)?.raft.step(this.rewrite(m));
      }
    }
    throw new Error("network did not settle");
  }

  tick(ids: NodeId[] | "all", n = 1): void {
    for (let i = 0; i < n; i++) {
      for (const [id, p] of this.peers) if (ids === "all" || ids.includes(id)) p.raft.tick();
      this.settle();
    }
  }

  leaders(): NodeId[] {
    return [...this.peers].filter(([, p]) => p.raft.status().role === "leader").map(([id]) => id);
  }

  /** Ticks everybody until exactly one leader stands (or throws). */
  electSomeone(maxTicks = 500): NodeId {
    for (let i = 0; i < maxTicks; i++) {
      const ls = this.leaders();
      if (ls.length === 1) return ls[0]!;
      this.tick("all");
    }
    throw new Error("no leader elected");
  }

  /** Payloads (as text) of the normal, non-empty entries node `id` applied. */
  appliedData(id: NodeId): string[] {
    return this.peer(id)
      .applied.filter((e) => e.kind === "normal" && e.data.byteLength > 0)
      .map((e) => new TextDecoder().decode(e.data));
  }
}

export function bytes(s: string): Uint8Array {
  return new TextEncoder().encode(s);
}

/** A storage holding a given log (terms by index starting at 1), hard state and membership. */
export function storageWithLog(conf: ConfState, terms: number[], term: number, commit: number): MemoryStorage {
  const s = new MemoryStorage(conf);
  s.append(terms.map((t, k) => ({ term: t, index: k + 1, kind: "normal" as const, data: bytes(`e${k + 1}t${t}`) })));
  s.setHardState({ term, vote: null, commit });
  return s;
}
