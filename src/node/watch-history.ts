// A replica's recent task events (GET /v1/watch): a bounded ring filled as entries apply, which serves a watcher's
// `since`, and the live feed its watchers and `?wait=terminal` waiters subscribe to. Each node holds its own,
// from what it applied itself, so any node (leader or follower) serves a watch.
//
// Bounds: at most `maxEvents` events and `maxBytes` of their JSON (defaults 100,000 events and 16 MiB, about
// 120 bytes an event): a node's memory for watch history is bounded whatever the load, and a watcher that asks
// for an index older than the ring gets 410 COMPACTED with the oldest `since` still served. The ring drops whole
// indexes only, so a watcher never gets a part of one entry's events.
import { taskEventsOf, type WatchEvent } from "../scheduler/task-events.js";
import type { ApplyResult, Task } from "../scheduler/types.js";

export const DEFAULT_WATCH_HISTORY_EVENTS = 100_000;
export const DEFAULT_WATCH_HISTORY_BYTES = 16 * 1024 * 1024;

/** One event and its `data:` JSON, serialized once for every watcher. */
export interface StoredEvent {
  readonly event: WatchEvent;
  readonly json: string;
}

export interface WatchSubscriber {
  /** The entry at `index` applied here; `events` may be empty (an entry that changed no task). */
  onApplied(index: number, events: readonly StoredEvent[]): void;
  /** The replica's state was replaced (a snapshot restore): events up to `floorIndex` are not in the ring. */
  onReset(floorIndex: number): void;
  /** The node is closing. */
  onClose(): void;
}

export type SinceAnswer = { readonly ok: true; readonly events: readonly StoredEvent[] } | { readonly ok: false; readonly oldestIndex: number };

export class WatchHistory {
  private readonly maxEvents: number;
  private readonly maxBytes: number;
  /** Events in index order from `head` on (the slots before `head` are dropped, compacted away now and then). */
  private ring: StoredEvent[] = [];
  private head = 0;
  private bytes = 0;
  /** The ring holds every event with index > floorIndex. */
  private floor = 0;
  /** The last index applied here. */
  private last = 0;
  private readonly subscribers = new Set<WatchSubscriber>();
  private closed = false;

  constructor(opts: { maxEvents?: number; maxBytes?: number } = {}) {
    this.maxEvents = opts.maxEvents ?? DEFAULT_WATCH_HISTORY_EVENTS;
    this.maxBytes = opts.maxBytes ?? DEFAULT_WATCH_HISTORY_BYTES;
  }

  /** The oldest `since` served: every event after it is still here. */
  get floorIndex(): number {
    return this.floor;
  }

  get lastIndex(): number {
    return this.last;
  }

  get size(): { events: number; bytes: number } {
    return { events: this.ring.length - this.head, bytes: this.bytes };
  }

  /** The replica starts (or restores a snapshot) at `index`: nothing before it is known here. */
  reset(index: number): void {
    this.ring = [];
    this.head = 0;
    this.bytes = 0;
    this.floor = index;
    this.last = index;
    for (const s of [...this.subscribers]) s.onReset(index);
  }

  /** The entry at `index` applied with these events (in taskEventsOf's order). */
  record(index: number, events: readonly WatchEvent[]): void {
    if (index <= this.last) return; // a replay of what is already here (cannot happen in order; harmless)
    const stored = events.map((event) => ({ event, json: JSON.stringify(event) }));
    for (const s of stored) {
      this.ring.push(s);
      this.bytes += s.json.length;
    }
    this.last = index;
    this.evict();
    for (const s of [...this.subscribers]) s.onApplied(index, stored);
  }

  /** The replica's table answered `result` to the command at `index`; `lookup` reads the table right after. */
  recordApplied(index: number, result: ApplyResult, lookup: (id: string) => Task | undefined): void {
    this.record(index, taskEventsOf(index, result, lookup));
  }

  /** Every event with index > since, or the oldest `since` still served when the ring no longer holds them all. */
  since(since: number, limit = Number.MAX_SAFE_INTEGER): SinceAnswer {
    if (since < this.floor) return { ok: false, oldestIndex: this.floor };
    const from = this.firstAfter(since);
    return { ok: true, events: this.ring.slice(from, Math.min(this.ring.length, from + limit)) };
  }

  /** Up to `limit` events after `since`, ending at a whole index (never a part of one entry's events). */
  chunkAfter(since: number, limit: number): SinceAnswer {
    const answer = this.since(since, limit + 1);
    if (!answer.ok || answer.events.length <= limit) return answer;
    const events = answer.events.slice(0, limit);
    const cut = answer.events[limit]!.event.index;
    let end = events.length;
    while (end > 0 && events[end - 1]!.event.index === cut) end--;
    // One entry with more events than `limit` (an assign of up to 1024 tasks) goes whole.
    return { ok: true, events: end > 0 ? events.slice(0, end) : this.wholeIndex(cut) };
  }

  subscribe(s: WatchSubscriber): () => void {
    if (this.closed) {
      s.onClose();
      return () => undefined;
    }
    this.subscribers.add(s);
    return () => this.subscribers.delete(s);
  }

  get subscriberCount(): number {
    return this.subscribers.size;
  }

  close(): void {
    if (this.closed) return;
    this.closed = true;
    for (const s of [...this.subscribers]) s.onClose();
    this.subscribers.clear();
  }

  private wholeIndex(index: number): StoredEvent[] {
    const from = this.firstAfter(index - 1);
    let end = from;
    while (end < this.ring.length && this.ring[end]!.event.index === index) end++;
    return this.ring.slice(from, end);
  }

  /** Position of the first event with index > since (binary search: the ring is in index order). */
  private firstAfter(since: number): number {
    let lo = this.head;
    let hi = this.ring.length;
    while (lo < hi) {
      const mid = (lo + hi) >>> 1;
      if (this.ring[mid]!.event.index <= since) lo = mid + 1;
      else hi = mid;
    }
    return lo;
  }

  /** Drops the oldest whole indexes until both bounds hold. */
  private evict(): void {
    while (this.ring.length - this.head > this.maxEvents || this.bytes > this.maxBytes) {
      const index = this.ring[this.head]!.event.index;
      while (this.head < this.ring.length && this.ring[this.head]!.event.index === index) {
        this.bytes -= this.ring[this.head]!.json.length;
        this.head++;
      }
      this.floor = index;
    }
    // Drop the dead prefix once it is the larger half, so the array does not grow for ever (amortized O(1)).
    if (this.head > 1024 && this.head * 2 > this.ring.length) {
      this.ring = this.ring.slice(this.head);
      this.head = 0;
    }
  }
}
