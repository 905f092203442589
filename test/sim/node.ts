// One simulated node: a core, the storage that survived (durable), and the runner around them, modelled on the
// Ready contract: persist (after a simulated fsync delay) -> send -> apply -> advance. A crash throws away the
// core and the Ready being persisted: its entries and hard state never reach storage and its messages are
// never sent. A restart builds a new core over what did reach storage, with the state machine restored from the
// stored snapshot and rebuilt by re-applying the committed entries after it.
//
// The state machine is the list of applied entries plus the scheduler's task table they build (statemachine.ts):
// every normal entry with data goes through TaskTable.applyEntry, exactly as src/node/node.ts does. Between Readies the cluster may ask the
// node to snapshot it at its applied index and to compact its log to a trailing window; a leader whose needed
// entries are gone then sends a snapshot, which the follower's runner persists before the Ready's entries and
// restores its state machine from.
import type { RaftConfig, RaftCore } from "../../src/raft/api.js";
import type { ConfState, Entry, Message, NodeId, ReadState, Ready, Role, Snapshot } from "../../src/raft/types.js";
import { RaftError } from "../../src/raft/types.js";
import { changesTermOrVote, planReady } from "../../src/node/ready-plan.js";
import { writeStallAction } from "../../src/node/disk-stall-rule.js";
import { type Command, decodeCommand } from "../../src/scheduler/commands.js";
import { TaskTable } from "../../src/scheduler/table.js";
import type { ApplyResult } from "../../src/scheduler/types.js";
import { MemoryStorage } from "../../src/storage/memory.js";
import { describeEntry, sameEntry } from "./entries.js";
import { confAfter, confText, decodeState, encodeState, sameConf, snapshotEntries } from "./statemachine.js";

export type MakeCore = (cfg: RaftConfig) => RaftCore;

/** What the runner hands back to the cluster as it works through Readies. */
export interface RunnerSink {
  send(m: Message): void;
  /** `command` is the scheduler command the entry carries (as proposed) and `result` what the node's table
   *  answered; both absent for config entries, a new leader's empty entry and data that is not a command. */
  applied(node: SimNode, e: Entry, command?: Command, result?: ApplyResult): void;
  readState(node: SimNode, rs: ReadState): void;
  /** Called right after core.ready(): every entry the core holds is now visible in node.log. */
  readyTaken(node: SimNode, rd: Ready): void;
  /** The state machine was replaced by a snapshot the leader sent (already persisted). */
  restored(node: SimNode, s: Snapshot): void;
  /** A Ready was fully handled (persisted, sent, applied, advanced): the moment to take a snapshot. */
  advanced(node: SimNode, rd: Ready): void;
  /** The core broke the Ready contract (or storage refused its batch). */
  contractBroken(node: SimNode, detail: string): void;
}

export interface CoreSettings {
  readonly electionTicksMin: number;
  readonly electionTicksMax: number;
  readonly heartbeatTicks: number;
  readonly brokenRules?: RaftConfig["brokenRules"];
  /** Small batching and pipelining limits make partial replication (and so Figure 8) reachable. */
  readonly maxEntriesPerMsg?: number;
  readonly maxInflightMsgs?: number;
  /** A deliberately wrong runner for tests: sends a Ready's messages before its batch is synced, so a crash
   *  can lose state that a vote or an acknowledgement already promised. */
  readonly sendBeforeSync?: boolean;
  /** Model the strict order (persist → send → apply) instead of the real runner's leader streaming. */
  readonly strictOrder?: boolean;
  /** Pre-vote off (scenario contrast runs only: it shows what a removed node's elections do without it). */
  readonly preVote?: boolean;
  /** Check-quorum off (scenario contrast runs only: the stalled-disk rule shown on its own). */
  readonly checkQuorum?: boolean;
  /** Deliberately wrong scheduler replicas for tests: each must make a scheduler checker fire. */
  readonly brokenScheduler?: BrokenScheduler;
  /** PRNG for one incarnation of one node. */
  readonly random: (incarnation: number) => () => number;
}

export interface BrokenScheduler {
  /** Completion and failure reports carrying an old attempt are applied as if they carried the current one
   *  (no fencing token). */
  readonly acceptStaleReports?: boolean;
  /** Snapshots carry the table as it was at the node's previous snapshot, not at the snapshot index. */
  readonly staleSnapshotTable?: boolean;
  /** Node n2 skips the last assignment of every assign command (an apply() that depends on the replica). */
  readonly replicaSpecificApply?: boolean;
  /** Executors start what their table assigns them at once, before the leader confirmed a commit index they
   *  applied (the bug of issue #17.1: a restarted node re-runs superseded attempts). */
  readonly startFromLocalTable?: boolean;
  /** Executors free an aborted attempt's slot when the abort is sent, not when its handler returns (issue #17.2). */
  readonly freeSlotOnAbort?: boolean;
  /** The leader places work without counting the aborted handlers the workers told it still run (issue #17.2). */
  readonly ignoreLingering?: boolean;
  /** Node n2 derives its watch events without the requeued tasks (a replica whose derivation differs). */
  readonly watchDropsRequeued?: boolean;
  /** Node n2 derives its watch events without the deletions (issue 13: deletions are watch events too). */
  readonly watchDropsDeleted?: boolean;
  /** Node n2 skips the last id of every delete command of more than one id (issue 13). */
  readonly replicaSpecificDelete?: boolean;
  /** The leader submits a schedule's slot as a plain submit of `<schedule>:<slot>` (the id alone makes it
   *  idempotent, lastSlotMs never advances) and retention keeps no dedupe window: a slot whose task was deleted
   *  runs again (issue 13). */
  readonly slotsByIdOnly?: boolean;
  /** The leader fires the first missed slot instead of the latest due one: missed slots are replayed one by one. */
  readonly replayMissedSlots?: boolean;
  /** The leader leaves every third slot of a schedule unfired: slots skipped while it leads. */
  readonly skipSlots?: boolean;
  /** The rule before 2026-12-08: a leader fires a schedule's next slot only once the last fire has applied, so a
   *  commit slower than a period skips a slot while it leads. */
  readonly oneFireInFlight?: boolean;
  /** The leader also places a task that requires tags on a worker lacking them. */
  readonly ignoreRequires?: boolean;
  /** The leader also places a delayed task before its runAt. */
  readonly ignoreRunAt?: boolean;
}

/** At most this many Readies are worked through per node per delivery round (a runaway core cannot hang us). */
const MAX_READIES_PER_ROUND = 16;

/** A Ready whose write is in flight, and what the runner already did with it. */
interface InflightReady {
  readonly rd: Ready;
  readonly doneTick: number;
  /** The tick the write began, when the Ready writes anything (the stalled-disk rule measures from it). */
  readonly writeStartTick: number | null;
  /** Indexes in rd.messages sent before the write completed (a leader's appends and heartbeats). */
  readonly sentEarly: Set<number>;
  /** How many of rd.committedEntries were applied before the write completed. */
  appliedEarly: number;
  /** The membership before this Ready's committed entries were applied (early ones included). */
  readonly confBefore: ConfState;
}

export class SimNode {
  /** What survives a crash. The live core reads it; the runner writes each Ready's batch to it once "synced". */
  storage: MemoryStorage;
  core: RaftCore | null = null;
  incarnation = 0;
  /** The Ready being persisted and the tick its fsync completes. */
  inflight: InflightReady | null = null;
  /** What storage holds, as a whole log from index 1: the stored snapshot's entries (the state it encodes)
   *  followed by the stored log after it. durableLog[k].index === k + 1. */
  durableLog: Entry[] = [];
  /** durableLog overlaid with the in-flight Ready's entries. */
  log: Entry[] = [];
  /** Bumped whenever log or durableLog changes, so the cluster reruns the log checkers only then. */
  logVersion = 0;
  /** The state machine: every entry applied, from index 1 (restored from the snapshot at a restart). */
  applied: Entry[] = [];
  /** The scheduler half of the state machine, at applied index applied.length. */
  tasks = new TaskTable();
  /** The table bytes written into this node's last snapshot (only the staleSnapshotTable bug reads them). */
  private lastSnapshotTable: Uint8Array = new Uint8Array(0);
  /** The membership the state machine implies: the snapshot's, then every applied config entry. */
  conf: ConfState = { voters: [], learners: [] };
  /** Snapshots taken locally and installed from a leader, by this node over its whole life. */
  snapshotsTaken = 0;
  snapshotsInstalled = 0;
  /** The highest commit index already reported to the cluster's commit-term record, this incarnation. */
  commitSeen = 0;
  role: Role | "down" = "down";
  /** The leader this node last showed (as of the last Ready or observation). */
  leaderId: NodeId | null = null;
  /** `conf` as it was before the last batch of committed entries was applied. */
  confBeforeLastBatch: ConfState = this.conf;
  term = 0;
  /** A stalled disk: no write completes before this tick (scripted scenarios; issue 14.5). */
  diskStalledUntil = 0;
  /** Last soft/hard state printed in the trace, to print changes only. */
  lastTraced = "";

  /** `conf` is the bootstrap membership; an empty one makes a joining node that waits for a leader's snapshot. */
  constructor(
    readonly id: NodeId,
    conf: ConfState,
    private readonly settings: CoreSettings,
    private readonly makeCore: MakeCore,
  ) {
    this.storage = new MemoryStorage(conf);
  }

  get alive(): boolean {
    return this.core !== null;
  }

  start(): void {
    this.incarnation++;
    // A fresh clone: nothing the dead core held can leak into the new incarnation.
    this.storage = this.storage.clone();
    const snap = this.storage.snapshot();
    this.durableLog = logOf(this.storage);
    this.log = this.durableLog;
    this.logVersion++;
    this.applied = snapshotEntries(snap).slice();
    this.tasks = tableOf(decodeState(snap.data).table);
    this.conf = snap.meta.conf;
    this.confBeforeLastBatch = this.conf;
    this.commitSeen = 0;
    this.inflight = null;
    this.core = this.makeCore({
      id: this.id,
      storage: this.storage,
      electionTicksMin: this.settings.electionTicksMin,
      electionTicksMax: this.settings.electionTicksMax,
      heartbeatTicks: this.settings.heartbeatTicks,
      random: this.settings.random(this.incarnation),
      applied: snap.meta.index,
      ...(this.settings.preVote === false ? { preVote: false } : {}),
      ...(this.settings.checkQuorum === false ? { checkQuorum: false } : {}),
      ...(this.settings.brokenRules ? { brokenRules: this.settings.brokenRules } : {}),
      ...(this.settings.maxEntriesPerMsg ? { maxEntriesPerMsg: this.settings.maxEntriesPerMsg } : {}),
      ...(this.settings.maxInflightMsgs ? { maxInflightMsgs: this.settings.maxInflightMsgs } : {}),
    });
    const st = this.core.status();
    this.role = st.role;
    this.term = st.term;
  }

  /** Loses everything not yet synced: the core, its unstable entries, and the Ready being persisted. */
  crash(): void {
    this.core = null;
    this.inflight = null;
    this.log = this.durableLog;
    this.logVersion++;
    this.applied = [];
    this.tasks = new TaskTable();
    this.role = "down";
  }

  /** The disk is lost: storage becomes what a first start from the cluster file writes (`conf` at index 0, term
   *  0, no vote, no log). The node must be down; start() brings it back on the empty disk. */
  wipe(conf: ConfState): void {
    if (this.core) throw new Error(`wipe ${this.id} while it runs`);
    this.storage = new MemoryStorage(conf);
    this.durableLog = [];
    this.log = this.durableLog;
    this.logVersion++;
  }

  /** Snapshots the state machine at its applied index, with the membership in force there, and compacts the
   *  log to keep `keepEntries` entries below it (null: keep the whole log). Returns whether it snapshotted. */
  takeSnapshot(keepEntries: number | null, sink: RunnerSink): boolean {
    const core = this.core;
    const index = this.applied.length;
    if (!core || this.inflight || index <= this.storage.snapshot().meta.index) return false;
    const st = core.status();
    // With nothing committed beyond the applied index, the core's membership is the one in force at it.
    if (st.applied === index && st.commit === index && !sameConf(st.conf, this.conf)) {
      sink.contractBroken(this, `membership at applied index ${index}: core says ${confText(st.conf)}, the applied entries say ${confText(this.conf)}`);
    }
    const last = this.applied[index - 1]!;
    const current = this.tasks.snapshot();
    const table = this.settings.brokenScheduler?.staleSnapshotTable ? this.lastSnapshotTable : current;
    this.lastSnapshotTable = current;
    this.storage.createSnapshot({ meta: { index, term: last.term, conf: this.conf }, data: encodeState(this.applied, table) });
    if (keepEntries !== null) this.storage.compact(Math.max(0, index - keepEntries));
    this.snapshotsTaken++;
    return true;
  }

  /** One tick, after the runner's stalled-disk rule (src/node/disk-stall-rule.ts, in ticks): a leader whose write is
   *  stalled steps down, and a stalled node's timers hold. `ignoreRule` is the broken-rule switch. */
  tickWithStallRule(now: number, ignoreRule: boolean): void {
    const core = this.core;
    if (!core) return;
    const writeStartedAt = this.inflight?.writeStartTick ?? null;
    // status() copies the membership: read it only while a write is pending.
    const voterCount = writeStartedAt === null ? 0 : core.status().conf.voters.length;
    const action = ignoreRule ? "none" : writeStallAction({ writeStartedAt, now, stallAfter: this.settings.electionTicksMax, role: core.currentRole(), voterCount });
    if (action === "stepDown") core.stepDown();
    if (action === "none") core.tick();
  }

  /** Works through Readies: completes a persist whose fsync is done, then takes the next Ready, and so on.
   *  Returns true when anything happened (so the cluster runs another delivery round). */
  processReadies(now: number, fsyncDelayTicks: () => number, sink: RunnerSink): boolean {
    let progressed = false;
    for (let n = 0; n < MAX_READIES_PER_ROUND && this.core; n++) {
      if (this.inflight) {
        if (now < this.inflight.doneTick) break;
        const inflight = this.inflight;
        this.inflight = null;
        this.complete(inflight.rd, inflight, sink);
        progressed = true;
        continue;
      }
      if (!this.core.hasReady()) break;
      const rd = this.core.ready();
      this.checkShape(rd, sink);
      if (rd.snapshot) {
        // What storage will hold once this batch is synced.
        const after = this.storage.clone();
        after.applySnapshot(rd.snapshot);
        after.append(rd.entries);
        this.log = logOf(after);
        this.logVersion++;
      } else if (rd.entries.length > 0) {
        const first = rd.entries[0]!.index;
        this.log = this.durableLog.slice(0, Math.min(first - 1, this.durableLog.length)).concat(rd.entries);
        this.logVersion++;
      }
      const writes = rd.hardState !== undefined || rd.entries.length > 0 || rd.snapshot !== undefined;
      const doneTick = Math.max(rd.mustSync ? now + fsyncDelayTicks() : now, writes ? this.diskStalledUntil : 0);
      this.inflight = { rd, doneTick, writeStartTick: writes ? now : null, sentEarly: new Set(), appliedEarly: 0, confBefore: this.conf };
      sink.readyTaken(this, rd);
      if (this.settings.sendBeforeSync) for (const m of rd.messages) sink.send(m);
      else this.streamAsLeader(rd, this.inflight, sink);
      progressed = true;
    }
    return progressed;
  }

  /** What src/node/raft-runner.ts does while a Ready's write is in flight, by the same plan (src/node/ready-plan.ts):
   *  a leader whose Ready changes neither term nor vote sends its appends and heartbeats at once, and committed
   *  entries below the Ready's new ones are applied at once. A crash before the write completes still loses the
   *  write (and the replies, which wait for it), which is what the checkers hold this to. */
  private streamAsLeader(rd: Ready, inflight: InflightReady, sink: RunnerSink): void {
    if (this.settings.strictOrder) return;
    const plan = planReady(rd, this.core?.currentRole() === "leader", this.storage.initialState().hardState);
    for (const k of plan.sendEarly) {
      inflight.sentEarly.add(k);
      sink.send(rd.messages[k]!);
    }
    for (const e of rd.committedEntries.slice(0, plan.applyDuringWrite)) {
      // Applying an entry can retire this node (its own removal): then it is down and applies nothing more.
      if (!this.core) break;
      if (!this.applyCommitted(e, sink)) break;
      inflight.appliedEarly++;
    }
  }

  /** Readies that need no fsync must not carry anything that would be lost by a crash unnoticed. */
  private checkShape(rd: Ready, sink: RunnerSink): void {
    if (rd.mustSync) return;
    if (rd.entries.length > 0 || rd.snapshot || changesTermOrVote(rd.hardState, this.storage.initialState().hardState)) {
      sink.contractBroken(this, `Ready with mustSync=false carries entries, a snapshot, or a new term/vote`);
    }
  }

  /** The fsync finished: write the batch, then send, apply and advance, in the contract's order. */
  private complete(rd: Ready, inflight: InflightReady, sink: RunnerSink): void {
    const core = this.core!;
    try {
      if (rd.snapshot) {
        this.storage.applySnapshot(rd.snapshot);
        this.storage.append(rd.entries);
        this.durableLog = logOf(this.storage);
        this.logVersion++;
      } else if (rd.entries.length > 0) {
        this.storage.append(rd.entries);
        const first = rd.entries[0]!.index;
        this.durableLog.length = Math.min(first - 1, this.durableLog.length);
        for (const e of rd.entries) this.durableLog.push(e);
        this.logVersion++;
      }
      if (rd.hardState) this.storage.setHardState(rd.hardState);
    } catch (err) {
      sink.contractBroken(this, `storage refused the Ready's batch: ${errorText(err)}`);
    }
    this.log = this.durableLog;
    if (rd.snapshot) this.restore(rd.snapshot, sink);
    rd.messages.forEach((m, i) => {
      if (m.from !== this.id) sink.contractBroken(this, `message from ${m.from} in ${this.id}'s Ready`);
      if (!this.settings.sendBeforeSync && !inflight.sentEarly.has(i)) sink.send(m);
    });
    this.confBeforeLastBatch = inflight.confBefore;
    for (const e of rd.committedEntries.slice(inflight.appliedEarly)) {
      if (!this.core) return; // retired by applying its own removal
      this.applyCommitted(e, sink);
    }
    for (const rs of rd.readStates) sink.readState(this, rs);
    core.advance(rd);
    sink.advanced(this, rd);
  }

  /** Applies one committed entry, checking it is the next one and already durable. */
  private applyCommitted(e: Entry, sink: RunnerSink): boolean {
    if (e.index !== this.applied.length + 1) {
      sink.contractBroken(this, `committed entry ${describeEntry(e)} handed out after applied index ${this.applied.length}`);
      return false;
    }
    const stored = this.durableLog[e.index - 1];
    if (!stored || !sameEntry(stored, e)) {
      sink.contractBroken(this, `committed entry ${describeEntry(e)} is not in durable storage (it holds ${describeEntry(stored)})`);
    }
    this.applied.push(e);
    this.conf = confAfter(this.conf, e);
    if (e.kind === "config" || e.data.byteLength === 0) {
      sink.applied(this, e);
      return true;
    }
    const decoded = decodeCommand(e.data);
    const command = decoded.ok ? decoded.command : undefined;
    // What TaskTable.applyEntry does (decode, then apply; undecodable data is a BAD_COMMAND no-op), without
    // decoding twice.
    const result = command ? this.tasks.apply(e.index, this.settings.brokenScheduler ? this.brokenCommand(command) : command) : this.tasks.applyEntry(e.index, e.data);
    sink.applied(this, e, command, result);
    return true;
  }

  /** The command as a broken replica would apply it (the command itself when nothing is broken). */
  private brokenCommand(command: Command): Command {
    const broken = this.settings.brokenScheduler;
    let c = command;
    if (broken?.acceptStaleReports && (c.type === "complete" || c.type === "fail")) {
      const t = this.tasks.getTask(c.id);
      if (t && t.state === "assigned") c = { ...c, attempt: t.attempt };
    }
    if (broken?.replicaSpecificApply && this.id === "n2" && c.type === "assign" && c.assignments.length > 0) {
      c = { ...c, assignments: c.assignments.slice(0, -1) };
    }
    if (broken?.replicaSpecificDelete && this.id === "n2" && c.type === "delete" && c.ids.length > 1) c = { ...c, ids: c.ids.slice(0, -1) };
    return c;
  }

  /** Step 3 of the contract for a snapshot: the state machine becomes the snapshot's state. */
  private restore(s: Snapshot, sink: RunnerSink): void {
    if (s.meta.index < this.applied.length) {
      sink.contractBroken(this, `Ready carries a snapshot at ${s.meta.index}, behind the applied index ${this.applied.length}`);
      return;
    }
    let entries: readonly Entry[];
    try {
      entries = snapshotEntries(s);
    } catch (err) {
      sink.contractBroken(this, `snapshot at ${s.meta.index} does not decode: ${errorText(err)}`);
      return;
    }
    try {
      this.tasks = tableOf(decodeState(s.data).table);
    } catch (err) {
      sink.contractBroken(this, `snapshot at ${s.meta.index} holds a task table that does not restore: ${errorText(err)}`);
      return;
    }
    this.applied = entries.slice();
    this.conf = s.meta.conf;
    this.snapshotsInstalled++;
    sink.restored(this, s);
  }
}

function tableOf(bytes: Uint8Array): TaskTable {
  return bytes.byteLength === 0 ? new TaskTable() : TaskTable.restore(bytes);
}

/** A storage's content as a whole log from index 1: its snapshot's entries, then the log after the snapshot
 *  (entries kept below the snapshot by a trailing-window compaction are the same entries; the snapshot's win). */
function logOf(storage: MemoryStorage): Entry[] {
  const snap = storage.snapshot();
  const prefix = snapshotEntries(snap);
  const last = storage.lastIndex();
  const tail = last > snap.meta.index ? storage.entries(snap.meta.index + 1, last + 1) : [];
  return prefix.concat(tail);
}

export function errorText(err: unknown): string {
  if (err instanceof RaftError) return `RaftError ${err.code}: ${err.message}`;
  if (err instanceof Error) return `${err.name}: ${err.message}`;
  return String(err);
}
