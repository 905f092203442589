// Command line of `npm run bench`.

export interface BenchArgs {
  readonly clients: number[];
  /** Client counts of the real-workload rows (tasks run); empty with --no-real. */
  readonly realClients: number[];
  /** How a real-workload client learns its task completed: a long poll (default) or a read every 2 ms. */
  readonly realCompletion: "wait" | "poll";
  readonly durationS: number;
  readonly warmupS: number;
  readonly rounds: number;
  readonly writers: number;
  readonly failoverWarmupS: number;
  readonly settleS: number;
  readonly valueBytes: number;
  readonly vsEtcd: boolean;
  readonly quick: boolean;
  readonly throughput: boolean;
  readonly failover: boolean;
  readonly outDir: string | null;
}

export const USAGE = `usage: npm run bench -- [options]
  --real-clients 1,64   closed-loop client counts of the real workload (tasks run: submit, wait until completed)
  --no-real             skip the real-workload rows
  --real-completion wait|poll  a real-workload client sees its task completed by a long poll (wait=terminal,
                        default) or by reading it every 2 ms (poll: the driver before 2026-12-07)
  --clients 1,16,64     closed-loop client counts, one raw-Raft throughput row each (capacity 0: tasks stay pending)
  --duration 10         measured seconds per throughput row (after --warmup)
  --warmup 1            unmeasured seconds before each throughput window
  --rounds 10           leader kills per failover row
  --writers 8           closed-loop writers during failover (plus a probe write every 10 ms)
  --value-bytes 256     payload / value size
  --vs etcd             the same workloads against a local 3-member etcd, alternating, with ratios
  --quick               smoke run: --clients 1,4 --duration 2 --warmup 0.5 --rounds 2 (shorter settles)
  --no-throughput       skip the throughput rows
  --no-failover         skip the failover rows
  --out DIR             where the JSON and markdown go (default bench-results/)
environment: BENCH_KEEP_DATA=1 keeps the members' data dirs and logs (in $TMPDIR) after the run;
  BENCH_CPU_PROF=DIR runs the real-workload members with node --cpu-prof, profiles in DIR (<member>.cpuprofile);
  BENCH_LOG_LEVEL=info sets the members' log level (default warn)`;

function num(flag: string, v: string | undefined, min: number, max: number): number {
  const n = Number(v);
  if (v === undefined || !Number.isFinite(n) || n < min || n > max) throw new Error(`${flag} needs a number from ${min} to ${max}\n${USAGE}`);
  return n;
}

export function parseArgs(argv: readonly string[]): BenchArgs {
  const quick = argv.includes("--quick");
  let a: BenchArgs = {
    clients: quick ? [1, 4] : [1, 16, 64],
    realClients: quick ? [1, 4] : [1, 64],
    realCompletion: "wait",
    durationS: quick ? 2 : 10,
    warmupS: quick ? 0.5 : 1,
    rounds: quick ? 2 : 10,
    writers: 8,
    failoverWarmupS: quick ? 1 : 2,
    settleS: quick ? 0.5 : 2,
    valueBytes: 256,
    vsEtcd: false,
    quick,
    throughput: true,
    failover: true,
    outDir: null,
  };
  for (let i = 0; i < argv.length; i++) {
    const k = argv[i]!;
    const v = argv[i + 1];
    switch (k) {
      case "--quick":
        break;
      case "--clients": {
        const list = (v ?? "").split(",").map((x) => num("--clients", x, 1, 1024));
        if (list.length === 0) throw new Error(`--clients needs a list like 1,16,64\n${USAGE}`);
        a = { ...a, clients: list };
        i++;
        break;
      }
      case "--real-clients": {
        const list = (v ?? "").split(",").map((x) => num("--real-clients", x, 1, 1024));
        a = { ...a, realClients: list };
        i++;
        break;
      }
      case "--real-completion":
        if (v !== "wait" && v !== "poll") throw new Error(`--real-completion is wait or poll\n${USAGE}`);
        a = { ...a, realCompletion: v };
        i++;
        break;
      case "--no-real":
        a = { ...a, realClients: [] };
        break;
      case "--duration":
        a = { ...a, durationS: num(k, v, 0.5, 3600) };
        i++;
        break;
      case "--warmup":
        a = { ...a, warmupS: num(k, v, 0, 600) };
        i++;
        break;
      case "--rounds":
        a = { ...a, rounds: num(k, v, 1, 1000) };
        i++;
        break;
      case "--writers":
        a = { ...a, writers: num(k, v, 1, 256) };
        i++;
        break;
      case "--value-bytes":
        a = { ...a, valueBytes: num(k, v, 1, 65536) };
        i++;
        break;
      case "--vs":
        if (v !== "etcd") throw new Error(`--vs knows only etcd\n${USAGE}`);
        a = { ...a, vsEtcd: true };
        i++;
        break;
      case "--no-throughput":
        a = { ...a, throughput: false };
        break;
      case "--no-failover":
        a = { ...a, failover: false };
        break;
      case "--out":
        if (!v) throw new Error(`--out needs a directory\n${USAGE}`);
        a = { ...a, outDir: v };
        i++;
        break;
      case "--help":
      case "-h":
        console.log(USAGE);
        process.exit(0);
        break;
      default:
        throw new Error(`unknown argument ${k}\n${USAGE}`);
    }
  }
  return a;
}
