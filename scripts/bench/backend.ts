// What a workload needs from a system under test. The workloads (throughput.ts, failover.ts) are written only
// against this interface, so raftsched and etcd run exactly the same code paths and statistics.

/** One logical client with its own connection to one endpoint; one write in flight at a time. */
export interface WriteClient {
  /** True when the client may carry many writes at once (gRPC); false for one request at a time (HTTP/1.1). */
  readonly multiplexed: boolean;
  /** Resolves once the write is durable on a majority and applied; rejects on any error or timeout. */
  put(key: string, value: string): Promise<void>;
  close(): void | Promise<void>;
}

export interface LeaderInfo {
  readonly name: string;
  readonly endpointIndex: number;
  readonly pid: number;
}

/** What one live member says about who leads. */
export interface LeaderView {
  readonly endpointIndex: number;
  readonly self: string;
  /** null when the member knows no leader. */
  readonly leader: string | null;
}

export interface KilledLeader extends LeaderInfo {
  /** performance.now() at the moment SIGKILL was sent. */
  readonly tKill: number;
}

export interface Backend {
  /** "raftsched" or "etcd". */
  readonly system: string;
  /** Human label of the configuration, e.g. "raftsched ET 150–300". */
  readonly label: string;
  /** Election settings and versions, for the JSON. */
  readonly settings: Readonly<Record<string, unknown>>;
  readonly endpointCount: number;
  start(): Promise<void>;
  createClient(endpointIndex: number, reqTimeoutMs: number): WriteClient;
  leaderViews(): Promise<LeaderView[]>;
  leader(): Promise<LeaderInfo | null>;
  killLeader(): Promise<KilledLeader>;
  restartMember(name: string): Promise<void>;
  /** Every member up, all agree on one leader, and a write through every endpoint succeeds. */
  waitHealthy(timeoutMs: number): Promise<void>;
  /** PIDs of the members in member order (n1, n2, n3); null for a member that is down. */
  pids(): Array<number | null>;
  /** Kills every member by PID and removes the data directories. */
  stop(): Promise<void>;
}

export class BenchError extends Error {
  constructor(
    readonly code: string,
    message: string,
  ) {
    super(message);
  }
}
