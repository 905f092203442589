// Command line of `npm run bench:workers` (workers.ts).

export interface WorkersArgs {
  readonly workers: number;
  readonly procs: number;
  readonly workerCapacity: number;
  readonly clients: number[];
  readonly durationS: number;
  readonly warmupS: number;
  readonly idleS: number;
  readonly drainS: number;
  readonly valueBytes: number;
  readonly vsBullmq: boolean;
  readonly quick: boolean;
  readonly outDir: string | null;
}

export const WORKERS_USAGE = `usage: npm run bench:workers -- [options]
  --workers 200         external workers (SDK), spread over --procs child processes
  --procs 4             worker host processes
  --worker-capacity 1   tasks each worker runs at once
  --clients 8,64        closed-loop producers per row (submit as fast as acknowledged, as BullMQ's anchor e2e)
  --duration 8          measured seconds per row (after --warmup; the anchor's default)
  --warmup 1
  --idle 5              seconds of the leader's CPU/RSS with the workers connected and no tasks
  --drain 30            at most this many seconds for the workers to finish the backlog after a row
  --value-bytes 256     payload size ({ v: "<value>" }, as the anchor's job data)
  --vs bullmq           also the BullMQ anchor's e2e (DURABLE=always) in the same run, and the ratio
  --quick               smoke run: 10 workers in 2 processes, clients 4, 2 s rows, 1 s idle, 10 s drain
  --out DIR             where the JSON and markdown go (default bench-results/)
environment: BENCH_CPU_PROF=DIR runs the members with node --cpu-prof, profiles in DIR (<member>.cpuprofile)`;

function num(flag: string, v: string | undefined, min: number, max: number): number {
  const n = Number(v);
  if (v === undefined || !Number.isFinite(n) || n < min || n > max) throw new Error(`${flag} needs a number from ${min} to ${max}\n${WORKERS_USAGE}`);
  return n;
}

export function parseWorkersArgs(argv: readonly string[]): WorkersArgs {
  const quick = argv.includes("--quick");
  let a: WorkersArgs = {
    workers: quick ? 10 : 200,
    procs: quick ? 2 : 4,
    workerCapacity: 1,
    clients: quick ? [4] : [8, 64],
    durationS: quick ? 2 : 8,
    warmupS: quick ? 0.5 : 1,
    idleS: quick ? 1 : 5,
    drainS: quick ? 10 : 30,
    valueBytes: 256,
    vsBullmq: false,
    quick,
    outDir: null,
  };
  for (let i = 0; i < argv.length; i++) {
    const k = argv[i]!;
    const v = argv[i + 1];
    const take = (f: (x: string | undefined) => Partial<WorkersArgs>): void => {
      a = { ...a, ...f(v) };
      i++;
    };
    switch (k) {
      case "--quick":
        break;
      case "--workers":
        take((x) => ({ workers: num(k, x, 1, 5000) }));
        break;
      case "--procs":
        take((x) => ({ procs: num(k, x, 1, 64) }));
        break;
      case "--worker-capacity":
        take((x) => ({ workerCapacity: num(k, x, 1, 1000) }));
        break;
      case "--clients":
        take((x) => ({ clients: (x ?? "").split(",").map((c) => num(k, c, 1, 1024)) }));
        break;
      case "--duration":
        take((x) => ({ durationS: num(k, x, 0.5, 3600) }));
        break;
      case "--warmup":
        take((x) => ({ warmupS: num(k, x, 0, 600) }));
        break;
      case "--idle":
        take((x) => ({ idleS: num(k, x, 0.5, 600) }));
        break;
      case "--drain":
        take((x) => ({ drainS: num(k, x, 0, 600) }));
        break;
      case "--value-bytes":
        take((x) => ({ valueBytes: num(k, x, 1, 65536) }));
        break;
      case "--vs":
        if (v !== "bullmq") throw new Error(`--vs knows only bullmq\n${WORKERS_USAGE}`);
        take(() => ({ vsBullmq: true }));
        break;
      case "--out":
        if (!v) throw new Error(`--out needs a directory\n${WORKERS_USAGE}`);
        take((x) => ({ outDir: x! }));
        break;
      case "--help":
      case "-h":
        console.log(WORKERS_USAGE);
        process.exit(0);
        break;
      default:
        throw new Error(`unknown argument ${k}\n${WORKERS_USAGE}`);
    }
  }
  if (a.procs > a.workers) a = { ...a, procs: a.workers };
  return a;
}
