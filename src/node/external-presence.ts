// The leader's record of the external workers (not Raft members) connected to it: what each registered with and
// when it was last heard. The worker connections (src/api/worker-hub.ts) write it; the liveness rule
// (worker-liveness.ts) reads it. Heartbeats land here only, never in the log: the log grows with assignments and
// results, not with the number of idle workers.
//
// An entry outlives its connection: a worker whose socket dropped is still "last heard at T" and is declared dead
// workerTimeoutMs after T (not at once: it may be reconnecting), and the entry is dropped once the worker is
// forgotten. Bounded: at most MAX_EXTERNAL_WORKERS entries; the hub refuses registrations beyond it.

export const MAX_EXTERNAL_WORKERS = 10_000;

export interface ExternalPresence {
  readonly capacity: number;
  readonly tags: readonly string[];
  readonly lastHeardMs: number;
  /** A live connection is open to this leader now. */
  readonly connected: boolean;
  /** The worker said goodbye (drained and closing): it may be declared dead at once. */
  readonly leaving: boolean;
}

export class ExternalPresenceRegistry {
  private readonly entries = new Map<string, ExternalPresence>();

  get size(): number {
    return this.entries.size;
  }

  /** A registration, or a change of what the worker offers (drain: capacity 0). */
  registered(id: string, capacity: number, tags: readonly string[], nowMs: number): void {
    this.entries.set(id, { capacity, tags: [...tags], lastHeardMs: nowMs, connected: true, leaving: false });
  }

  /** Any frame from the worker counts as a heartbeat. */
  heard(id: string, nowMs: number): void {
    const e = this.entries.get(id);
    if (e !== undefined) this.entries.set(id, { ...e, lastHeardMs: nowMs });
  }

  setCapacity(id: string, capacity: number): void {
    const e = this.entries.get(id);
    if (e !== undefined) this.entries.set(id, { ...e, capacity });
  }

  leaving(id: string): void {
    const e = this.entries.get(id);
    if (e !== undefined) this.entries.set(id, { ...e, leaving: true });
  }

  disconnected(id: string): void {
    const e = this.entries.get(id);
    if (e !== undefined) this.entries.set(id, { ...e, connected: false });
  }

  forget(id: string): void {
    this.entries.delete(id);
  }

  get(id: string): ExternalPresence | undefined {
    return this.entries.get(id);
  }

  /** A new leadership starts with no connections (a non-leader serves none). */
  clear(): void {
    this.entries.clear();
  }

  view(): ReadonlyMap<string, ExternalPresence> {
    return this.entries;
  }
}
