// The runner: the only place where the pure core meets time, disk and network. It turns ticks and peer messages
// into core calls and executes each Ready in the order its contract demands:
//   persist (one synced batch) → update the in-memory log → send → apply → answer reads → advance.
// Proposals resolve when their entry is applied at the index the core gave them, so a caller learns the
// state machine's answer, not just "appended".
import { stageTrace } from "./stage-trace.js";
import { timedStage } from "../util/loop-block-trace.js";
import type { Logger } from "pino";
import type { RaftCore, RaftStatus } from "../raft/api.js";
import type { ConfChange, Entry, Message, NodeId, Ready, Role, Snapshot } from "../raft/types.js";
import { RaftError } from "../raft/types.js";
import type { DurableStore } from "../storage/durable.js";
import type { MemoryStorage } from "../storage/memory.js";
import { RaftschedError } from "../util/errors.js";
import { planReady } from "./ready-plan.js";
import { LocalSnapshotter, type LocalSnapshotFacts } from "./local-snapshotter.js";
import { PendingAnswers } from "./pending-answers.js";
import type { ReplicaObserver } from "./replica-observer.js";
import { writeStallAction } from "./disk-stall-rule.js";
import { LogicalTickClock } from "./logical-tick-clock.js";

export interface RaftRunnerOptions {
  readonly core: RaftCore;
  readonly storage: MemoryStorage;
  readonly durable: DurableStore;
  readonly tickMs: number;
  readonly logger: Logger;
  /** Hands messages to the transport. Must not block; the transport drops rather than queue without bound. */
  readonly send: (messages: readonly Message[]) => void;
  /** Applies one committed entry to the state machine; the return value answers the proposal, if any. */
  readonly apply: (entry: Entry) => unknown;
  /** Replaces the state machine with a snapshot received from the leader; may take many turns of the event loop
   *  (a big table restores in slices): ticks and messages are stepped meanwhile, the next Ready waits for it. */
  readonly restore: (snapshot: Snapshot) => void | Promise<void>;
  /** Large entries: `arrived` as they are written (work may start on them), `beforeApply` a promise to wait
   *  for before applying these (null: apply now). Issue 14.3: a follower decodes a large entry in slices. */
  readonly largeEntries?: { arrived(entries: readonly Entry[]): void; beforeApply(entries: readonly Entry[]): Promise<void> | null };
  /** Called whenever the node's role or known leader changes. */
  readonly onRoleChange?: (role: Role, leaderId: NodeId | null, term: number) => void;
  /** Called after every batch of applied entries. */
  readonly onApplied?: (appliedIndex: number) => void;
  /** Limits: how many proposals and reads may wait at once (back-pressure instead of unbounded memory). */
  readonly maxPendingProposals?: number;
  readonly maxPendingReads?: number;
  /** Snapshot the state machine every this many applied entries (0 = never). */
  readonly snapshotEveryEntries?: number;
  /** Entries kept below a snapshot so that slightly-behind followers catch up from the log, not a snapshot. */
  readonly snapshotTrailingEntries?: number;
  /** Serializes the state machine as of the last applied entry. The state must be captured during the call
   *  (synchronously); the bytes may arrive later, as a promise, while the runner keeps applying entries. */
  readonly takeSnapshot?: () => Uint8Array | Promise<Uint8Array>;
  /** Timings for the metrics: commit latency of this node's proposals, apply time, snapshots installed. */
  readonly observer?: ReplicaObserver;
  /** A log write pending this long counts as a stalled disk (disk-stall-rule.ts): the election timeout. Absent: never. */
  readonly writeStallAfterMs?: number;
}

/** The most ticks replayed at once after the timer fell behind (see start()). */
const MAX_CATCHUP_TICKS = 5;

export class RaftRunner {
  private readonly o: RaftRunnerOptions;
  private readonly core: RaftCore;
  private tickTimer: NodeJS.Timeout | null = null;
  private processing = false;
  private scheduled = false;
  private stopped = false;
  private fatal: Error | null = null;
  private applied: number;
  private role: Role = "follower";
  private leaderId: NodeId | null = null;
  private readonly answers: PendingAnswers;
  private readSeq = 0;
  private idleWaiters: Array<() => void> = [];
  private readonly snapshotter: LocalSnapshotter;
  /** When the Ready's write in flight began (null: none): wall clock for the log, logical ticks for the rule. */
  private writeStartedAtMs: number | null = null;
  private writeStartedAtTick: number | null = null;
  private readonly clock: LogicalTickClock;
  private stallActedOn = false;
  readonly counters = { readies: 0, fsyncs: 0, entriesPersisted: 0, entriesApplied: 0, messagesSent: 0 };

  constructor(o: RaftRunnerOptions) {
    this.o = o;
    this.core = o.core;
    this.clock = new LogicalTickClock(o.tickMs, MAX_CATCHUP_TICKS);
    this.applied = o.core.status().applied;
    this.answers = new PendingAnswers(o.maxPendingProposals ?? 50_000, o.maxPendingReads ?? 10_000);
    this.snapshotter = new LocalSnapshotter({
      ...o,
      appliedIndex: () => this.applied,
      isStopped: () => this.stopped,
      isProcessing: () => this.processing,
      die: (err) => this.die(err),
    });
  }

  /** The last snapshot this node took, for the metrics and the log. */
  get lastSnapshot(): LocalSnapshotFacts | null {
    return this.snapshotter.lastSnapshot;
  }

  start(): void {
    if (this.tickTimer) return;
    // Ticks follow the monotonic clock, with a freeze of the loop caught up only in part (logical-tick-clock.ts).
    this.clock.start();
    this.tickTimer = setInterval(() => {
      if (this.stopped) return;
      const due = this.clock.catchUp();
      const held = this.onWriteStall(); // a stalled disk holds the timers (disk-stall-rule.ts)
      this.clock.markDone(due);
      for (let k = 0; k < due && !held; k++) this.core.tick();
      this.kick();
    }, this.o.tickMs);
    this.kick();
  }

  get appliedIndex(): number {
    return this.applied;
  }

  /** The core's view, not the last Ready's: a proposal made right after an election must not be refused
   *  because the Ready announcing it has not been processed yet. */
  get isLeader(): boolean {
    return !this.stopped && this.core.currentRole() === "leader";
  }

  /** Proposals waiting for their commit. */
  get pendingProposals(): number {
    return this.answers.proposalCount;
  }

  get knownLeader(): NodeId | null {
    return this.core.currentLeader();
  }

  /** Resolves once a leader is known (or this node leads), or after timeoutMs. */
  async waitForLeader(timeoutMs: number): Promise<NodeId | null> {
    const deadline = Date.now() + timeoutMs;
    while (!this.stopped && this.core.currentLeader() === null && Date.now() < deadline) {
      await new Promise((r) => setTimeout(r, 10));
    }
    return this.core.currentLeader();
  }

  status(): RaftStatus {
    return this.core.status();
  }

  /** A message from a peer. Never throws: a core invariant failure stops the node instead. */
  step(m: Message): void {
    if (this.stopped) return;
    try {
      this.core.step(m);
    } catch (err) {
      this.die(err);
      return;
    }
    this.kick();
  }

  campaign(): void {
    this.core.campaign();
    this.kick();
  }

  transferLeadership(to: NodeId): void {
    this.core.transferLeadership(to);
    this.kick();
  }

  reportUnreachable(to: NodeId): void {
    this.core.reportUnreachable(to);
  }

  /** The transport's word on a snapshot transfer: on failure the leader probes again instead of waiting. */
  reportSnapshot(to: NodeId, ok: boolean): void {
    if (this.stopped) return;
    this.core.reportSnapshot(to, ok);
    this.kick();
  }

  /** Proposes a command; resolves with what `apply` returned for it once it is committed and applied. */
  propose(data: Uint8Array, timeoutMs: number): Promise<unknown> {
    return this.track((c) => c.propose(data), timeoutMs);
  }

  proposeConfChange(cc: ConfChange, timeoutMs: number): Promise<unknown> {
    return this.track((c) => c.proposeConfChange(cc), timeoutMs);
  }

  private track(append: (core: RaftCore) => { index: number; term: number }, timeoutMs: number): Promise<unknown> {
    if (this.stopped) return Promise.reject(new RaftschedError("SHUTTING_DOWN", "the node is stopping"));
    const full = this.answers.proposalRoom();
    if (full) return Promise.reject(full);
    let at: { index: number; term: number };
    try {
      at = append(this.core);
      stageTrace?.proposed(at.index);
    } catch (err) {
      return Promise.reject(err);
    }
    this.kick();
    return this.answers.proposal(at, timeoutMs);
  }

  /** Resolves with a read index once this node has applied it: a read of local state is then linearizable. */
  readIndex(timeoutMs: number): Promise<number> {
    if (this.stopped) return Promise.reject(new RaftschedError("SHUTTING_DOWN", "the node is stopping"));
    const full = this.answers.readRoom();
    if (full) return Promise.reject(full);
    const ctx = `${this.core.id}:${++this.readSeq}`;
    try {
      this.core.readIndex(ctx);
    } catch (err) {
      return Promise.reject(err);
    }
    this.kick();
    return this.answers.read(ctx, timeoutMs);
  }

  /** Resolves when no Ready is being processed (tests and graceful shutdown). */
  idle(): Promise<void> {
    if (!this.processing && !this.core.hasReady()) return Promise.resolve();
    return new Promise((r) => this.idleWaiters.push(r));
  }

  async stop(): Promise<void> {
    if (this.tickTimer) clearInterval(this.tickTimer);
    this.tickTimer = null;
    // Let an in-flight batch finish its fsync so we never leave half a Ready behind us on purpose.
    if (this.processing) await new Promise<void>((r) => this.idleWaiters.push(r));
    this.stopped = true;
    this.answers.failAll(new RaftschedError("SHUTTING_DOWN", "the node is stopping"));
  }

  get fatalError(): Error | null {
    return this.fatal;
  }

  kick(): void {
    if (this.scheduled || this.processing || this.stopped) return;
    this.scheduled = true;
    // A microtask lets proposals arriving in the same turn join one batch (one fsync for all of them).
    queueMicrotask(() => {
      this.scheduled = false;
      void this.process();
    });
  }

  private async process(): Promise<void> {
    if (this.processing || this.stopped) return;
    this.processing = true;
    try {
      while (!this.stopped && this.core.hasReady()) {
        const rd = this.core.ready();
        await this.handle(rd);
        this.core.advance(rd);
        if (this.afterAdvance.length > 0) {
          const done = this.afterAdvance;
          this.afterAdvance = [];
          for (const f of done) f();
        }
        this.snapshotter.betweenReadies();
      }
    } catch (err) {
      this.die(err);
    } finally {
      this.processing = false;
      const waiters = this.idleWaiters;
      this.idleWaiters = [];
      for (const w of waiters) w();
    }
  }

  private async handle(rd: Ready): Promise<void> {
    this.counters.readies++;
    // What may go on while the write is in flight (ready-plan.ts): a leader's appends and heartbeats, and the
    // committed entries already durable on a majority.
    const plan = planReady(rd, this.core.currentRole() === "leader", this.o.storage.initialState().hardState);
    const late = rd.messages.filter((_, k) => !plan.sendEarly.has(k));
    if (plan.sendEarly.size > 0) this.sendNow(rd.messages.filter((_, k) => plan.sendEarly.has(k)));

    // 1. persist, as one batch (synced when the Ready says so).
    this.writeStartedAtMs = plan.needsWrite ? performance.now() : null;
    this.writeStartedAtTick = plan.needsWrite ? this.clock.now() : null;
    if (plan.needsWrite) stageTrace?.persist(rd.entries, "start");
    const persisted = plan.needsWrite
      ? timedStage("persist (sync part)", () => this.o.durable.persist({
          entries: rd.entries,
          sync: plan.sync,
          ...(rd.hardState ? { hardState: rd.hardState } : {}),
          ...(rd.snapshot ? { snapshot: rd.snapshot } : {}),
        }))
      : null;
    if (rd.entries.length > 0) this.o.largeEntries?.arrived(rd.entries);
    // Large entries still being decoded: applied after the write and the acknowledgements, once decoded.
    const decoding = rd.committedEntries.length > 0 ? this.o.largeEntries?.beforeApply(rd.committedEntries) : null;
    let i = 0;
    while (i < plan.applyDuringWrite && !decoding) this.applyOne(rd.committedEntries[i++]!);

    if (persisted) {
      await persisted;
      stageTrace?.persist(rd.entries, "end");
      this.writeStartedAtMs = this.writeStartedAtTick = null;
      this.counters.fsyncs += rd.mustSync ? 1 : 0;
      this.counters.entriesPersisted += rd.entries.length;
      if (this.stopped) return;
      // 2. the in-memory log the core reads.
      if (rd.snapshot) this.o.storage.applySnapshot(rd.snapshot);
      this.o.storage.append(rd.entries);
      if (rd.hardState) this.o.storage.setHardState(rd.hardState);
    }
    // 3. send: only now is everything these messages promise durable.
    if (late.length > 0) this.sendNow(late);
    // 4. apply the rest (a snapshot from the leader first).
    if (decoding) await decoding;
    if (rd.snapshot && rd.snapshot.meta.index > this.applied) {
      await this.o.restore(rd.snapshot);
      if (this.stopped) return;
      this.applied = rd.snapshot.meta.index;
      this.answers.replacedUpTo(this.applied);
      this.o.observer?.snapshotInstalled();
    }
    while (i < rd.committedEntries.length) this.applyOne(rd.committedEntries[i++]!);
    if (rd.committedEntries.length > 0 || rd.snapshot) this.o.onApplied?.(this.applied);
    // After a stall the role was noted from the core already; this Ready's is older (the next one has the current).
    if (rd.softState && !this.stallActedOn) this.noteSoftState(rd.softState.role, rd.softState.leaderId);
    this.stallActedOn = false;
    // 5. reads.
    for (const rs of rd.readStates) this.answers.noteReadState(rs.context, rs.index);
    this.answers.releaseReads(this.applied);
  }

  /** Applies the stalled-disk rule; true while the write is stalled (the caller then holds the tick timers). A
   *  leader steps down at once, and the role the core now has is noted here: no Ready can bring it while stalled. */
  private onWriteStall(): boolean {
    const stallAfter = this.o.writeStallAfterMs;
    if (stallAfter === undefined || this.writeStartedAtMs === null || this.writeStartedAtTick === null) return false;
    const role = this.core.currentRole();
    const voterCount = this.core.status().conf.voters.length;
    const action = writeStallAction({ writeStartedAt: this.writeStartedAtTick, now: this.clock.now(), stallAfter: Math.ceil(stallAfter / this.o.tickMs), role, voterCount });
    if (action === "none") return false;
    if (action === "stepDown") {
      this.o.logger.warn({ code: "DISK_STALLED", pendingMs: Math.round(performance.now() - this.writeStartedAtMs) }, "log write stalled past the election timeout: stepping down as leader");
      this.core.stepDown();
    }
    if (this.core.currentRole() !== this.role || this.core.currentLeader() !== this.leaderId) {
      this.stallActedOn = true;
      this.noteSoftState(this.core.currentRole(), this.core.currentLeader());
    }
    return true;
  }

  private sendNow(messages: readonly Message[]): void {
    this.counters.messagesSent += messages.length;
    this.o.send(messages);
  }

  private applyOne(e: Entry): void {
    if (e.index <= this.applied) return;
    if (e.index !== this.applied + 1) {
      throw new RaftError("INVARIANT", `applying ${e.index} after ${this.applied}: committed entries must be contiguous`);
    }
    stageTrace?.applied(e.index);
    const applyStartMs = performance.now();
    const result = this.o.apply(e);
    this.o.observer?.apply((performance.now() - applyStartMs) / 1000);
    this.applied = e.index;
    this.counters.entriesApplied++;
    // The core switches membership inside advance(): a config entry is answered once status() shows it.
    const commitSeconds = this.answers.applied(e, result, (answer) => this.afterAdvance.push(answer));
    if (commitSeconds !== null) this.o.observer?.commit(commitSeconds);
  }

  /** Answers that must wait until the core has advanced past the Ready that applied them. */
  private afterAdvance: Array<() => void> = [];

  private noteSoftState(role: Role, leaderId: NodeId | null): void {
    const wasLeader = this.role === "leader";
    this.role = role;
    this.leaderId = leaderId;
    if (wasLeader && role !== "leader") {
      this.answers.leadershipLost();
    }
    this.o.onRoleChange?.(role, leaderId, this.core.status().term);
  }

  /** A broken invariant or a failed fsync: stop acting rather than risk corrupting the cluster's data. */
  private die(err: unknown): void {
    if (this.fatal) return;
    this.fatal = err instanceof Error ? err : new Error(String(err));
    const code = (this.fatal as { code?: unknown }).code ?? "NODE_FAILED";
    this.o.logger.fatal({ code, err: this.fatal }, `raft runner stopped, the node stops: ${this.fatal.message}`);
    this.stopped = true;
    if (this.tickTimer) clearInterval(this.tickTimer);
    this.tickTimer = null;
    this.answers.failAll(new RaftschedError("NODE_FAILED", `the node stopped: ${this.fatal.message}`));
  }
}
