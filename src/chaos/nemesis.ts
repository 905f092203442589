// The nemesis: injects one fault at a time on a seeded schedule, holds it, heals it, rests, and again.
//   kill-leader     kill -9 the leader, restart it after a while
//   kill-random     kill -9 any node, restart it after a while
//   pause           SIGSTOP a node (the leader half the time) for longer than the election timeout, then SIGCONT
//   partition       symmetric (one side cut from the rest both ways) or asymmetric (A→B dropped, B→A flows)
//   isolate-leader  cut every link to and from the leader; clients still reach it over HTTP, and it must stop
//                   acknowledging writes (check-quorum) while the rest elect a new leader
//   restart         a graceful restart (SIGTERM, then start again) of any node
//   disk-stall      (opt-in: --faults disk-stall) a node's log writes hang (the leader half the time) for longer
//                   than the election timeout, then go on; a stalled leader must step down (issue 14.5)
//   worker-kill, worker-pause, worker-disconnect  (with --workers N) on external workers: worker-faults.ts
// The kinds, targets and durations come from the seed; when each fault lands depends on the machine.
// Cuts go through the nodes' fault hook, or with --netns through real links (veth down, blackhole routes).
import type { ChaosCluster, ChaosNode, NodeStatusView } from "./cluster.js";
import { sleep } from "./http.js";
import { makePrng } from "../raft/prng.js";
import type { ChaosWorkers } from "./chaos-workers.js";
import { ReassignmentWatch, type ReassignmentSample } from "./reassignment-watch.js";
import { injectWorkerFault } from "./worker-faults.js";
import { isWorkerFault, type FaultKind, type FaultRecord, type WorkerFaultKind } from "./fault-kinds.js";

export { FAULT_KINDS, OPT_IN_FAULT_KINDS, WORKER_FAULT_KINDS, type FaultKind, type FaultRecord } from "./fault-kinds.js";

/** Leader kills are what users distrust most: they get three times the weight of the other kinds. */
const WEIGHT: Record<FaultKind, number> = {
  "kill-leader": 3,
  "kill-random": 1,
  pause: 1,
  partition: 1,
  "isolate-leader": 1,
  restart: 1,
  "disk-stall": 1,
  "worker-kill": 1,
  "worker-pause": 1,
  "worker-disconnect": 1,
};

export interface NemesisOptions {
  readonly cluster: ChaosCluster;
  readonly kinds: readonly FaultKind[];
  readonly rng: () => number;
  readonly clock: () => number;
  readonly log: (line: string) => void;
  /** External workers (--workers N), the targets of the worker faults. */
  readonly workers?: ChaosWorkers | null;
}

export class Nemesis {
  readonly faults: FaultRecord[] = [];
  /** The kinds come from their own stream, so the sequence of kinds depends on the seed alone (not on which
   *  branches the targets and durations took). */
  private readonly kindRng: () => number;
  private readonly reassignmentWatch: ReassignmentWatch;
  private blocked: Array<readonly [string, string]> = [];
  private readonly e: number;
  private readonly w: number;

  constructor(private readonly o: NemesisOptions) {
    this.e = o.cluster.electionTimeoutMs[1];
    this.w = o.cluster.workerTimeoutMs;
    this.kindRng = makePrng(Math.floor(o.rng() * 2 ** 32));
    this.reassignmentWatch = new ReassignmentWatch({ cluster: o.cluster, clock: o.clock, findLeader: (ms) => this.findLeader(ms) });
  }

  /** How fast each lost worker's tasks moved on (members and external workers). */
  get reassignments(): readonly ReassignmentSample[] {
    return this.reassignmentWatch.samples;
  }

  /** The first `count` fault kinds this seed injects, in order. */
  static schedule(kinds: readonly FaultKind[], seedRng: () => number, count: number): FaultKind[] {
    const kindRng = makePrng(Math.floor(seedRng() * 2 ** 32));
    const first = shuffle([...kinds], kindRng);
    return Array.from({ length: count }, (_, i) => (i < first.length ? first[i]! : draw(kinds, kindRng)));
  }

  /** Injects faults until `untilMs` (the clock's time); the last fault is always healed before returning. */
  async run(untilMs: number, shouldStop: () => boolean = () => false): Promise<void> {
    const first = shuffle([...this.o.kinds], this.kindRng);
    let i = 0;
    while (this.o.clock() < untilMs && !shouldStop()) {
      // The first round covers every kind once; then weighted draws.
      const kind = i < first.length ? first[i]! : draw(this.o.kinds, this.kindRng);
      i++;
      await this.inject(kind);
      await sleep(this.between(500, 1500));
    }
  }

  /** Heals everything: SIGCONT, restart the dead, and an empty cut list on every node (retried). */
  async healAll(): Promise<void> {
    const c = this.o.cluster;
    for (const n of c.nodes) c.resume(n);
    for (const n of c.nodes) if (!c.isRunning(n)) c.start(n);
    this.blocked = [];
    await this.broadcastBlocked(20);
    if (this.o.kinds.includes("disk-stall")) {
      await Promise.all(c.nodes.filter((n) => c.isRunning(n)).map((n) => c.setDisk(n, { mode: "none" }).catch(() => undefined)));
    }
    this.o.workers?.healAll();
  }

  /** Waits for the background reassignment watches. */
  async settle(): Promise<void> {
    await this.reassignmentWatch.settle();
  }

  private async inject(kind: FaultKind): Promise<void> {
    const c = this.o.cluster;
    const leader = await this.findLeader(3000);
    const voters = c.nodes.filter((n) => n.role === "voter");
    const anyNode = (): ChaosNode => this.pick(c.nodes.filter((n) => c.isRunning(n)).length > 0 ? c.nodes.filter((n) => c.isRunning(n)) : c.nodes);
    const startRecord = (targets: ReadonlyArray<ChaosNode | string>, detail: string, leaderLost = false): FaultRecord => {
      const ids = targets.map((t) => (typeof t === "string" ? t : t.id));
      const rec: FaultRecord = { kind, targets: ids, detail, startMs: this.o.clock(), endMs: NaN, leaderAtStart: leader?.id ?? null, leaderLost };
      this.faults.push(rec);
      this.o.log(`fault ${this.faults.length}: ${kind} ${detail}`);
      return rec;
    };
    if (kind === "disk-stall") return await this.diskStall(leader, anyNode, startRecord);
    if (kind === "partition") return await this.partition(leader, startRecord);
    if (isWorkerFault(kind)) return await this.workerFault(kind, (ids, detail) => startRecord(ids, detail));
    switch (kind) {
      case "kill-leader":
      case "kill-random": {
        const target = kind === "kill-leader" ? (leader ?? this.pick(voters)) : anyNode();
        const downMs = this.between(Math.max(1.5 * this.w, 4 * this.e), Math.max(1.5 * this.w, 4 * this.e) + this.w);
        const assigned = await this.reassignmentWatch.assignedTo(target.id, target);
        const rec = startRecord([target], `${target.id}${target === leader ? " (leader)" : ""}, down ${Math.round(downMs)} ms`, target === leader);
        await c.kill(target);
        this.reassignmentWatch.watch(this.faults.indexOf(rec), rec.startMs, target.id, target, assigned);
        await sleep(downMs);
        c.start(target);
        rec.endMs = this.o.clock();
        await this.waitServing(target, 10_000);
        return;
      }
      case "pause": {
        const target = leader && this.o.rng() < 0.5 ? leader : anyNode();
        if (!c.isRunning(target)) c.start(target);
        const holdMs = this.between(2 * this.e, 2 * this.e + 1.5 * this.w);
        const assigned = await this.reassignmentWatch.assignedTo(target.id, target);
        const rec = startRecord([target], `${target.id}${target === leader ? " (leader)" : ""} frozen ${Math.round(holdMs)} ms`, target === leader);
        c.pause(target);
        this.reassignmentWatch.watch(this.faults.indexOf(rec), rec.startMs, target.id, target, assigned);
        await sleep(holdMs);
        c.resume(target);
        rec.endMs = this.o.clock();
        return;
      }
      case "isolate-leader": {
        const target = leader ?? this.pick(voters);
        const cut: Array<readonly [string, string]> = [];
        for (const n of c.nodes) if (n !== target) cut.push([target.id, n.id], [n.id, target.id]);
        const holdMs = this.between(1500, 3500);
        const assigned = await this.reassignmentWatch.assignedTo(target.id, target);
        const rec = startRecord([target], `${target.id}${target === leader ? " (leader)" : ""} cut from every peer, ${Math.round(holdMs)} ms`, target === leader);
        this.blocked = cut;
        await this.broadcastBlocked(3);
        this.reassignmentWatch.watch(this.faults.indexOf(rec), rec.startMs, target.id, target, assigned);
        await sleep(holdMs);
        this.blocked = [];
        await this.broadcastBlocked(20);
        rec.endMs = this.o.clock();
        return;
      }
      case "restart": {
        const target = anyNode();
        const rec = startRecord([target], `${target.id}${target === leader ? " (leader)" : ""} graceful restart`, false);
        await c.stop(target);
        c.start(target);
        rec.endMs = this.o.clock();
        await this.waitServing(target, 10_000);
        return;
      }
    }
  }

  /** A fault on an external worker (worker-faults.ts). */
  private async workerFault(kind: WorkerFaultKind, startRecord: (ids: string[], detail: string) => FaultRecord): Promise<void> {
    if (!this.o.workers) throw new Error(`fault ${kind} needs external workers (--workers N)`);
    const faultIndex = (rec: FaultRecord): number => this.faults.indexOf(rec);
    await injectWorkerFault(kind, { workers: this.o.workers, workerTimeoutMs: this.w, rng: this.o.rng, clock: this.o.clock, watch: this.reassignmentWatch, startRecord, faultIndex });
  }

  /** partition: a symmetric cut of a minority from the rest, or one direction of one link (often the leader's). */
  private async partition(leader: ChaosNode | null, startRecord: (t: ChaosNode[], detail: string, leaderLost: boolean) => FaultRecord): Promise<void> {
    const c = this.o.cluster;
    const ids = c.nodes.map((n) => n.id);
    let cut: Array<readonly [string, string]>;
    let detail: string;
    const a = this.pick(c.nodes);
    if (this.o.rng() < 0.5) {
      // Symmetric: a minority (one node, or up to half-1 of a bigger cluster) against the rest.
      const sizeMax = Math.max(1, Math.floor((ids.length - 1) / 2));
      const size = 1 + Math.floor(this.o.rng() * sizeMax);
      const side = this.shuffled([...ids]).slice(0, size);
      const other = ids.filter((x) => !side.includes(x));
      cut = [];
      for (const x of side) for (const y of other) cut.push([x, y], [y, x]);
      detail = `symmetric {${side.join(",")}} | {${other.join(",")}}`;
    } else {
      // Asymmetric: A's messages to B are lost, B's reach A (often the leader on one end).
      const from = leader && this.o.rng() < 0.5 ? leader : a;
      const to = this.pick(c.nodes.filter((n) => n !== from));
      cut = [[from.id, to.id]];
      detail = `asymmetric ${from.id} -> ${to.id} cut (${to.id} -> ${from.id} flows)`;
    }
    const holdMs = this.between(1500, 3500);
    const rec = startRecord([], `${detail}, ${Math.round(holdMs)} ms`, false);
    this.blocked = cut;
    await this.broadcastBlocked(3);
    await sleep(holdMs);
    this.blocked = [];
    await this.broadcastBlocked(20);
    rec.endMs = this.o.clock();
    return;
  }

  /** disk-stall: one node's log writes hang (the leader half the time) for longer than an election timeout. */
  private async diskStall(leader: ChaosNode | null, other: () => ChaosNode, startRecord: (t: ChaosNode[], detail: string, leaderLost: boolean) => FaultRecord): Promise<void> {
    const c = this.o.cluster;
    const target = leader && this.o.rng() < 0.5 ? leader : other();
    const holdMs = this.between(2 * this.e, 2 * this.e + 1.5 * this.w);
    const rec = startRecord([target], `${target.id}${target === leader ? " (leader)" : ""} disk stalled ${Math.round(holdMs)} ms`, target === leader);
    const set = await c.setDisk(target, { mode: "stall" });
    if (set.status !== 200) this.o.log(`warning: ${target.id} did not take the disk stall (${set.status})`);
    await sleep(holdMs);
    // Released with retries: a node left stalled would hang every later write.
    for (let t = 0; t < 20 && (await c.setDisk(target, { mode: "none" })).status !== 200 && c.isRunning(target); t++) await sleep(100);
    rec.endMs = this.o.clock();
  }

  /** The leader with the highest term among the reachable nodes, waiting up to `timeoutMs` for one. */
  async findLeader(timeoutMs: number): Promise<ChaosNode | null> {
    const c = this.o.cluster;
    const deadline = this.o.clock() + timeoutMs;
    for (;;) {
      const views = await Promise.all(c.nodes.map((n) => c.status(n, 400).catch(() => null)));
      let best: { n: ChaosNode; v: NodeStatusView } | null = null;
      views.forEach((v, i) => {
        if (v?.role === "leader" && (best === null || v.term > best.v.term)) best = { n: c.nodes[i]!, v };
      });
      if (best !== null) return (best as { n: ChaosNode }).n;
      if (this.o.clock() > deadline) return null;
      await sleep(50);
    }
  }

  private async waitServing(n: ChaosNode, timeoutMs: number): Promise<void> {
    const deadline = this.o.clock() + timeoutMs;
    while (this.o.clock() < deadline) {
      if ((await this.o.cluster.status(n, 400)) !== null) {
        // A restarted node has no cut list; give it the current one (normally empty). Namespaced links keep
        // their state across restarts.
        if (this.blocked.length > 0 && !this.o.cluster.network) await this.o.cluster.setBlocked(n, this.blocked);
        return;
      }
      if (!this.o.cluster.isRunning(n)) return;
      await sleep(50);
    }
  }

  /** Sends the current cut list to every running node, retrying the ones that did not acknowledge. */
  private async broadcastBlocked(tries: number): Promise<void> {
    const c = this.o.cluster;
    if (c.network) {
      const index = new Map(c.nodes.map((n, i) => [n.id, i]));
      const cuts = this.blocked.map(([a, b]) => [index.get(a)!, index.get(b)!] as const);
      for (let t = 0; t < tries; t++) {
        try {
          await c.network.applyCuts(cuts);
          return;
        } catch (err) {
          if (t === tries - 1) this.o.log(`warning: the links did not take the cut list: ${(err as Error).message}`);
          else await sleep(100);
        }
      }
      return;
    }
    let pending = c.nodes.filter((n) => c.isRunning(n) && !n.paused);
    for (let t = 0; t < tries && pending.length > 0; t++) {
      const answers = await Promise.all(pending.map((n) => c.setBlocked(n, this.blocked)));
      pending = pending.filter((_, i) => answers[i]!.status !== 200);
      if (pending.length > 0) await sleep(100);
    }
    if (pending.length > 0) this.o.log(`warning: ${pending.map((n) => n.id).join(",")} did not take the cut list`);
  }

  private between(lo: number, hi: number): number {
    return lo + this.o.rng() * (hi - lo);
  }

  private pick<T>(xs: readonly T[]): T {
    return xs[Math.floor(this.o.rng() * xs.length)]!;
  }

  private shuffled<T>(xs: T[]): T[] {
    return shuffle(xs, this.o.rng);
  }
}

function draw(kinds: readonly FaultKind[], rng: () => number): FaultKind {
  const total = kinds.reduce((s, k) => s + WEIGHT[k], 0);
  let x = rng() * total;
  for (const k of kinds) {
    x -= WEIGHT[k];
    if (x < 0) return k;
  }
  return kinds[kinds.length - 1]!;
}

function shuffle<T>(xs: T[], rng: () => number): T[] {
  for (let i = xs.length - 1; i > 0; i--) {
    const j = Math.floor(rng() * (i + 1));
    [xs[i], xs[j]] = [xs[j]!, xs[i]!];
  }
  return xs;
}
