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
// The kinds, targets and durations come from the seed; when each fault lands depends on the machine.
// Cuts go through the nodes' fault hook, or with --netns through real links (veth down, blackhole routes).
import type { ChaosCluster, ChaosNode, NodeStatusView } from "./cluster.js";
import { requestJson, sleep } from "./http.js";
import { makePrng } from "../raft/prng.js";

export const FAULT_KINDS = ["kill-leader", "kill-random", "pause", "partition", "isolate-leader", "restart"] as const;
/** Kinds only run when named in --faults: the default set (and so every seed's schedule) stays as it was. */
export const OPT_IN_FAULT_KINDS = ["disk-stall"] as const;
export type FaultKind = (typeof FAULT_KINDS)[number] | (typeof OPT_IN_FAULT_KINDS)[number];

/** Leader kills are what users distrust most: they get three times the weight of the other kinds. */
const WEIGHT: Record<FaultKind, number> = {
  "kill-leader": 3,
  "kill-random": 1,
  pause: 1,
  partition: 1,
  "isolate-leader": 1,
  restart: 1,
  "disk-stall": 1,
};

export interface FaultRecord {
  readonly kind: FaultKind;
  readonly targets: readonly string[];
  readonly detail: string;
  readonly startMs: number;
  endMs: number;
  /** The leader when the fault began (null: none known). */
  readonly leaderAtStart: string | null;
  /** The fault took the leader away (killed, frozen, isolated): a failover the clients must ride out. */
  readonly leaderLost: boolean;
}

export interface ReassignmentSample {
  readonly faultIndex: number;
  readonly worker: string;
  readonly tasks: number;
  /** Per task: ms from the fault to the task leaving the lost worker (reassigned or finished); missing ones
   *  had not moved when the watch ended. */
  readonly movedMs: number[];
}

export interface NemesisOptions {
  readonly cluster: ChaosCluster;
  readonly kinds: readonly FaultKind[];
  readonly rng: () => number;
  readonly clock: () => number;
  readonly log: (line: string) => void;
}

export class Nemesis {
  readonly faults: FaultRecord[] = [];
  /** The kinds come from their own stream, so the sequence of kinds depends on the seed alone (not on which
   *  branches the targets and durations took). */
  private readonly kindRng: () => number;
  readonly reassignments: ReassignmentSample[] = [];
  private readonly watches: Promise<void>[] = [];
  private blocked: Array<readonly [string, string]> = [];
  private readonly e: number;
  private readonly w: number;

  constructor(private readonly o: NemesisOptions) {
    this.e = o.cluster.electionTimeoutMs[1];
    this.w = o.cluster.workerTimeoutMs;
    this.kindRng = makePrng(Math.floor(o.rng() * 2 ** 32));
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
  }

  /** Waits for the background reassignment watches. */
  async settle(): Promise<void> {
    await Promise.all(this.watches);
  }

  private async inject(kind: FaultKind): Promise<void> {
    const c = this.o.cluster;
    const leader = await this.findLeader(3000);
    const voters = c.nodes.filter((n) => n.role === "voter");
    const anyNode = (): ChaosNode => this.pick(c.nodes.filter((n) => c.isRunning(n)).length > 0 ? c.nodes.filter((n) => c.isRunning(n)) : c.nodes);
    const startRecord = (targets: ChaosNode[], detail: string, leaderLost: boolean): FaultRecord => {
      const rec: FaultRecord = { kind, targets: targets.map((t) => t.id), detail, startMs: this.o.clock(), endMs: NaN, leaderAtStart: leader?.id ?? null, leaderLost };
      this.faults.push(rec);
      this.o.log(`fault ${this.faults.length}: ${kind} ${detail}`);
      return rec;
    };

    if (kind === "disk-stall") return await this.diskStall(leader, anyNode, startRecord);
    switch (kind) {
      case "kill-leader":
      case "kill-random": {
        const target = kind === "kill-leader" ? (leader ?? this.pick(voters)) : anyNode();
        const downMs = this.between(Math.max(1.5 * this.w, 4 * this.e), Math.max(1.5 * this.w, 4 * this.e) + this.w);
        const assigned = await this.assignedTo(target);
        const rec = startRecord([target], `${target.id}${target === leader ? " (leader)" : ""}, down ${Math.round(downMs)} ms`, target === leader);
        await c.kill(target);
        this.watch(rec, target, assigned);
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
        const assigned = await this.assignedTo(target);
        const rec = startRecord([target], `${target.id}${target === leader ? " (leader)" : ""} frozen ${Math.round(holdMs)} ms`, target === leader);
        c.pause(target);
        this.watch(rec, target, assigned);
        await sleep(holdMs);
        c.resume(target);
        rec.endMs = this.o.clock();
        return;
      }
      case "partition": {
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
      case "isolate-leader": {
        const target = leader ?? this.pick(voters);
        const cut: Array<readonly [string, string]> = [];
        for (const n of c.nodes) if (n !== target) cut.push([target.id, n.id], [n.id, target.id]);
        const holdMs = this.between(1500, 3500);
        const assigned = await this.assignedTo(target);
        const rec = startRecord([target], `${target.id}${target === leader ? " (leader)" : ""} cut from every peer, ${Math.round(holdMs)} ms`, target === leader);
        this.blocked = cut;
        await this.broadcastBlocked(3);
        this.watch(rec, target, assigned);
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

  /** Tasks assigned to `worker` (attempt by id), read from another node's local table. */
  private async assignedTo(worker: ChaosNode): Promise<Map<string, number> | null> {
    const c = this.o.cluster;
    const others = c.nodes.filter((n) => n !== worker && c.isRunning(n) && !n.paused);
    for (const n of others) {
      const r = await requestJson(`${n.url}/v1/tasks?worker=${encodeURIComponent(worker.id)}&state=assigned&stale=true&limit=1000`, { timeoutMs: 500 });
      const tasks = (r.body as { tasks?: Array<{ id: string; attempt: number }> } | null)?.tasks;
      if (r.status === 200 && Array.isArray(tasks)) return new Map(tasks.map((t) => [t.id, t.attempt]));
    }
    return null;
  }

  /** In the background: when does each task of the lost worker move on? */
  private watch(rec: FaultRecord, worker: ChaosNode, assigned: Map<string, number> | null): void {
    if (assigned === null || assigned.size === 0) return;
    const sample: ReassignmentSample = { faultIndex: this.faults.indexOf(rec), worker: worker.id, tasks: assigned.size, movedMs: [] };
    this.reassignments.push(sample);
    const c = this.o.cluster;
    const limitMs = 3 * this.w + 10_000;
    this.watches.push(
      (async () => {
        const remaining = new Map(assigned);
        while (remaining.size > 0 && this.o.clock() - rec.startMs < limitMs) {
          await sleep(50);
          const leader = await this.findLeader(0);
          const from = leader && leader !== worker ? leader : c.nodes.find((n) => n !== worker && c.isRunning(n) && !n.paused);
          if (!from) continue;
          const r = await requestJson(`${from.url}/v1/tasks?worker=${encodeURIComponent(worker.id)}&state=assigned&stale=true&limit=1000`, { timeoutMs: 500 });
          const tasks = (r.body as { tasks?: Array<{ id: string; attempt: number }> } | null)?.tasks;
          if (r.status !== 200 || !Array.isArray(tasks)) continue;
          const still = new Map(tasks.map((t) => [t.id, t.attempt]));
          const now = this.o.clock();
          for (const [id, attempt] of remaining) {
            if (still.get(id) !== attempt) {
              remaining.delete(id);
              sample.movedMs.push(now - rec.startMs);
            }
          }
        }
      })(),
    );
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
