// The simulated network: every message gets a delivery tick (random delay, so messages reorder), may be
// dropped or duplicated, and never crosses a cut link. Links are directed, so A->B can be cut while B->A
// stays open (asymmetric partitions). A message in flight when its link is cut is lost.
import type { Message, NodeId } from "../../src/raft/types.js";
import type { Rng } from "./prng.js";

export interface NetworkConditions {
  /** Delivery delay in ticks, uniform in [min, max]. 0 = delivered at the start of the next tick's deliveries. */
  readonly minDelayTicks: number;
  readonly maxDelayTicks: number;
  readonly dropRate: number;
  readonly duplicateRate: number;
}

export const GOOD_NETWORK: NetworkConditions = { minDelayTicks: 0, maxDelayTicks: 2, dropRate: 0, duplicateRate: 0 };

interface InFlight {
  readonly deliverTick: number;
  /** Send order: ties on deliverTick deliver in send order. */
  readonly seq: number;
  readonly m: Message;
}

/** Bound on messages in flight; past it new sends are dropped (a real transport's bounded queue). */
const MAX_IN_FLIGHT = 20_000;

export class SimNetwork {
  conditions: NetworkConditions = GOOD_NETWORK;
  private readonly cut = new Set<string>();
  private queue: InFlight[] = [];
  private seq = 0;
  sent = 0;
  dropped = 0;
  /** Told about every message that will never arrive (dropped, cut, or cut while in flight), so the cluster can
   *  report a failed snapshot transfer to its sender as a real transport does. */
  onLost: ((m: Message) => void) | null = null;

  constructor(private readonly rng: Rng) {}

  private static link(from: NodeId, to: NodeId): string {
    return `${from}>${to}`;
  }

  isCut(from: NodeId, to: NodeId): boolean {
    return this.cut.has(SimNetwork.link(from, to));
  }

  cutLink(from: NodeId, to: NodeId): void {
    this.cut.add(SimNetwork.link(from, to));
  }

  /** Splits the nodes into groups that cannot talk to each other in either direction. */
  partition(groups: readonly (readonly NodeId[])[]): void {
    for (const g of groups) {
      for (const h of groups) {
        if (g === h) continue;
        for (const a of g) for (const b of h) this.cutLink(a, b);
      }
    }
  }

  healAll(): void {
    this.cut.clear();
  }

  cutLinks(): string[] {
    return [...this.cut].sort();
  }

  /** Queues a message; returns what happened to it, for the trace. */
  send(m: Message, now: number): "queued" | "dropped" | "duplicated" | "cut" {
    this.sent++;
    if (this.isCut(m.from, m.to)) {
      this.dropped++;
      this.onLost?.(m);
      return "cut";
    }
    if (this.queue.length >= MAX_IN_FLIGHT || this.rng.chance(this.conditions.dropRate)) {
      this.dropped++;
      this.onLost?.(m);
      return "dropped";
    }
    this.enqueue(m, now);
    if (this.rng.chance(this.conditions.duplicateRate)) {
      this.enqueue(m, now);
      return "duplicated";
    }
    return "queued";
  }

  private enqueue(m: Message, now: number): void {
    const { minDelayTicks, maxDelayTicks } = this.conditions;
    const deliverTick = now + this.rng.int(minDelayTicks, maxDelayTicks);
    this.queue.push({ deliverTick, seq: this.seq++, m });
  }

  /** Removes and returns the messages due by `now`, in delivery order, minus those whose link is now cut. */
  due(now: number): Message[] {
    const ready: InFlight[] = [];
    const rest: InFlight[] = [];
    for (const f of this.queue) (f.deliverTick <= now ? ready : rest).push(f);
    if (ready.length === 0) return [];
    this.queue = rest;
    ready.sort((x, y) => x.deliverTick - y.deliverTick || x.seq - y.seq);
    const out: Message[] = [];
    for (const f of ready) {
      if (this.isCut(f.m.from, f.m.to)) {
        this.dropped++;
        this.onLost?.(f.m);
      } else out.push(f.m);
    }
    return out;
  }

  inFlight(): number {
    return this.queue.length;
  }
}
