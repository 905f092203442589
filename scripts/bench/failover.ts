// Leader failover under write load, the etcd anchor's method:
//  - load: W closed-loop writers; writer i starts on endpoint i mod 3 and moves to the next endpoint after an
//    error (after a 5 ms pause); each write has a reqTimeoutMs deadline;
//  - probe: an open-loop write every probeIntervalMs, rotating over the endpoints, so that "first success of a
//    write issued after the kill" has probe-interval resolution even while the writers sit in timed-out requests;
//  - per round: wait healthy + settle, warm up, SIGKILL the leader's PID, then measure
//      unavailMs    = completion of the first successful write ISSUED after the kill − kill time
//      newLeaderMs  = first time a survivor reports a leader other than the killed one − kill time (polled)
//    then restart the killed member with its data before the next round.
import type { Backend, WriteClient } from "./backend.js";
import { progress, progressDone } from "./progress.js";
import { now, round, sleep, summarize, type Summary } from "./stats.js";
import { valueOfBytes } from "./throughput.js";

const MAX_PROBE_POOL = 256;

export interface FailoverOptions {
  readonly rounds: number;
  readonly writers: number;
  readonly warmupS: number;
  readonly settleS: number;
  readonly probeIntervalMs: number;
  readonly pollMs: number;
  readonly reqTimeoutMs: number;
  readonly maxWaitMs: number;
  readonly valueBytes: number;
}

export interface FailoverRound {
  readonly round: number;
  readonly killed: string;
  readonly unavailMs: number | null;
  readonly newLeaderMs: number | null;
  readonly newLeader: string | null;
  readonly okBefore: number;
  readonly okAfter: number;
  readonly errAfter: number;
}

export interface FailoverRow {
  readonly workload: "failover";
  readonly system: string;
  readonly label: string;
  readonly settings: Readonly<Record<string, unknown>>;
  readonly rounds: number;
  readonly writers: number;
  readonly probeIntervalMs: number;
  readonly reqTimeoutMs: number;
  readonly unavailMs: Summary;
  readonly newLeaderMs: Summary;
  readonly failedRounds: number;
  readonly perRound: FailoverRound[];
}

export async function runFailover(backend: Backend, o: FailoverOptions, runTag: string): Promise<FailoverRow> {
  const n = backend.endpointCount;
  const value = valueOfBytes(o.valueBytes);
  const perRound: FailoverRound[] = [];

  for (let r = 0; r < o.rounds; r++) {
    progress(`  ${backend.label} failover round ${r + 1}/${o.rounds}: waiting for a healthy cluster`);
    await backend.waitHealthy(30_000);
    await sleep(o.settleS * 1000);
    const tag = `fo.${runTag}.${r}`;
    const writerClients: WriteClient[][] = Array.from({ length: o.writers }, () => Array.from({ length: n }, (_, e) => backend.createClient(e, o.reqTimeoutMs)));
    const probeClients: WriteClient[] = Array.from({ length: n }, (_, e) => backend.createClient(e, o.reqTimeoutMs));

    let tKill = Infinity;
    let firstOkT1: number | null = null;
    let okBefore = 0;
    let okAfter = 0;
    let errAfter = 0;
    let stop = false;
    const inflight = new Set<Promise<void>>();
    const record = (t0: number, t1: number, ok: boolean): void => {
      if (!ok) {
        if (t0 >= tKill) errAfter++;
        return;
      }
      if (t0 >= tKill) {
        okAfter++;
        if (firstOkT1 === null || t1 < firstOkT1) firstOkT1 = t1;
      } else okBefore++;
    };

    const writer = async (i: number): Promise<void> => {
      let e = i % n;
      let seq = 0;
      while (!stop) {
        const t0 = now();
        try {
          await writerClients[i]![e]!.put(`${tag}.w${i}.${seq++}`, value);
          record(t0, now(), true);
        } catch {
          record(t0, now(), false);
          e = (e + 1) % n;
          await sleep(5);
        }
      }
    };
    // The probe is open loop: a new write every tick even while earlier ones hang. A multiplexed client (gRPC)
    // takes them all on one connection; a one-request-at-a-time client (HTTP/1.1) gets a pool per endpoint that
    // grows on demand, so no tick is ever skipped for want of a free connection.
    const probePool: WriteClient[][] = probeClients.map((c) => [c]);
    const busy = new Set<WriteClient>();
    const probeClient = (e: number): WriteClient | null => {
      const pool = probePool[e]!;
      if (pool[0]!.multiplexed) return pool[0]!;
      let c = pool.find((x) => !busy.has(x));
      if (!c) {
        // Each probe ends within reqTimeoutMs, so the pool stays near reqTimeoutMs / (n × interval); the cap is a
        // backstop against a client that never answers.
        if (pool.length >= MAX_PROBE_POOL) return null;
        c = backend.createClient(e, o.reqTimeoutMs);
        pool.push(c);
      }
      return c;
    };
    const prober = async (): Promise<void> => {
      let p = 0;
      while (!stop) {
        const e = p % n;
        const c = probeClient(e);
        p++;
        if (!c) {
          await sleep(o.probeIntervalMs);
          continue;
        }
        busy.add(c);
        const t0 = now();
        const tracked: Promise<void> = c
          .put(`${tag}.p.${p - 1}`, value)
          .then(
            () => record(t0, now(), true),
            () => record(t0, now(), false),
          )
          .finally(() => {
            busy.delete(c);
            inflight.delete(tracked);
          });
        inflight.add(tracked);
        await sleep(o.probeIntervalMs);
      }
    };

    const writers = Array.from({ length: o.writers }, (_, i) => writer(i));
    const probe = prober();
    progress(`  ${backend.label} failover round ${r + 1}/${o.rounds}: warming up under load`);
    await sleep(o.warmupS * 1000);

    const killed = await backend.killLeader();
    tKill = killed.tKill;
    progress(`  ${backend.label} failover round ${r + 1}/${o.rounds}: killed leader ${killed.name} (pid ${killed.pid})`);

    let newLeaderMs: number | null = null;
    let newLeader: string | null = null;
    while (now() - tKill < o.maxWaitMs) {
      const views = await backend.leaderViews();
      const v = views.find((x) => x.leader !== null && x.leader !== killed.name && x.self !== killed.name);
      if (v) {
        newLeaderMs = round(now() - tKill, 1);
        newLeader = v.leader;
        break;
      }
      await sleep(o.pollMs);
    }
    while (firstOkT1 === null && now() - tKill < o.maxWaitMs) await sleep(5);
    await sleep(500);
    stop = true;
    await Promise.all([...writers, probe]);
    await Promise.allSettled([...inflight]);
    for (const set of writerClients) await Promise.all(set.map((c) => c.close()));
    for (const pool of probePool) await Promise.all(pool.map((c) => c.close()));

    const unavailMs = firstOkT1 === null ? null : round((firstOkT1 as number) - tKill, 1);
    const row: FailoverRound = { round: r + 1, killed: killed.name, unavailMs, newLeaderMs, newLeader, okBefore, okAfter, errAfter };
    perRound.push(row);
    progressDone(
      `  ${backend.label} failover round ${r + 1}/${o.rounds}: killed ${killed.name}, writes unavailable ${unavailMs ?? "∞"} ms, new leader ${newLeader ?? "none"} reported after ${newLeaderMs ?? "∞"} ms`,
    );
    await backend.restartMember(killed.name);
  }
  await backend.waitHealthy(30_000);

  const stat = (k: "unavailMs" | "newLeaderMs"): Summary =>
    summarize(
      perRound.map((x) => x[k]).filter((v): v is number => v !== null),
      1,
    );
  return {
    workload: "failover",
    system: backend.system,
    label: backend.label,
    settings: backend.settings,
    rounds: o.rounds,
    writers: o.writers,
    probeIntervalMs: o.probeIntervalMs,
    reqTimeoutMs: o.reqTimeoutMs,
    unavailMs: stat("unavailMs"),
    newLeaderMs: stat("newLeaderMs"),
    failedRounds: perRound.filter((x) => x.unavailMs === null || x.newLeaderMs === null).length,
    perRound,
  };
}
