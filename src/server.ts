// The composition root: one raftsched node, wired. The replica (src/node) behind its narrow handle, the HTTP API
// over that handle (src/api) on the same port as the peer transport, the dashboard, the metrics, and the embedding
// API. `startNode` is both what `raftsched start` runs and what an embedding service imports.
import http from "node:http";
import https from "node:https";
import type { TaskFieldsInput } from "./api/task-fields-input.js";
import { mkdirSync } from "node:fs";
import path from "node:path";
import pino, { type Logger } from "pino";
import { findNode, loadClusterFile, type ClusterFile } from "./config/cluster-file.js";
import type { JsonValue, Task } from "./scheduler/types.js";
import { Replica, type ReplicaWiring } from "./node/node.js";
import type { NodeStatus } from "./node/replica-handle.js";
import { NodeMetrics } from "./node/metrics.js";
import { prettyStream } from "./node/pretty-log.js";
import type { Outcome, TaskHandler } from "./node/task-executor.js";
import { trackHttpConnections } from "./node/http-close.js";
import { NodeApi } from "./api/node-api.js";
import { handleRequest } from "./api/router.js";
import { clientErrorAnswer, httpServerOptions } from "./api/body-budget.js";
import { faultsEnabled, installFaultHooks } from "./api/fault-hooks.js";
import { WorkerHub } from "./api/worker-hub.js";
import { RaftschedError, errorMessage } from "./util/errors.js";
import { WatchHistory } from "./node/watch-history.js";
import type { DashboardFeed } from "./dashboard/feed.js";
import { memberUrls, nodeDashboardFeed } from "./dashboard/node-feed.js";
import { answerMemberCors } from "./api/member-origin-cors.js";
import { NodeTls } from "./tls/node-tls.js";
import { useClusterTls } from "./tls/cluster-fetch.js";

export type { NodeStatus } from "./node/replica-handle.js";

export interface StartNodeOptions {
  /** A parsed cluster file, or the path of one. */
  readonly config: ClusterFile | string;
  readonly id: string;
  /** Default: data/<id>. */
  readonly dataDir?: string;
  /** Never bootstrap: wait to be added by a member (POST /v1/cluster/members). */
  readonly join?: boolean;
  readonly logger?: Logger;
  readonly pretty?: boolean;
  /** The task handler; default: the cluster file's handler module, else the built-in sleep/fail handler. */
  readonly handler?: TaskHandler;
  /** Log level (default "info", or RAFTSCHED_LOG_LEVEL). */
  readonly logLevel?: string;
}

export interface RaftschedNode {
  readonly id: string;
  readonly url: string;
  readonly logger: Logger;
  submit(input: { id?: string; payload: unknown; maxAttempts?: number; priority?: number; onIdReuse?: "return" | "reject" }): Promise<Task>;
  getTask(id: string, opts?: { stale?: boolean }): Promise<Task | undefined>;
  /** `order: "updated"`: the most recently updated tasks, newest first (one page). */
  listTasks(q?: { state?: Task["state"]; worker?: string; limit?: number; after?: string; order?: "id" | "updated"; stale?: boolean }): Promise<{ tasks: Task[]; next: string | null }>;
  onTask(handler: TaskHandler): void;
  /** Resolves once a leader is known and this node has applied everything committed; rejects with code
   *  NOT_READY after `timeoutMs` (default 30 s) or when the node is closed. */
  ready(opts?: { timeoutMs?: number }): Promise<void>;
  status(): NodeStatus;
  close(opts?: { handOver?: boolean }): Promise<void>;
  onFatal(cb: (err: Error) => void): void;
  /** Called once this node's removal from the cluster is applied here. */
  onRemoved(cb: () => void): void;
  /** Re-reads the TLS certificate files (SIGHUP under `raftsched start`): new connections use them. False when
   *  the node has no TLS or the new files are not usable (the old ones stay in use). */
  reloadTls(): boolean;
}

export async function startNode(opts: StartNodeOptions): Promise<RaftschedNode> {
  const cfg = typeof opts.config === "string" ? loadClusterFile(opts.config) : opts.config;
  const spec = findNode(cfg, opts.id);
  const logOptions = { base: { node: opts.id }, level: opts.logLevel ?? process.env.RAFTSCHED_LOG_LEVEL ?? "info" };
  const logger = opts.logger ?? (opts.pretty ? pino(logOptions, prettyStream()) : pino(logOptions));
  const dataDir = path.resolve(opts.dataDir ?? path.join("data", opts.id));
  mkdirSync(dataDir, { recursive: true });
  useClusterTls(cfg.tls);
  const node = new ServedNode(cfg, opts, logger, dataDir);
  await node.replica.start();
  logger.info({ url: spec.url, dataDir, role: node.status().role }, "node started");
  return node;
}

/** A replica with the HTTP API, the dashboard and the metrics in front of it. */
class ServedNode implements RaftschedNode {
  readonly replica: Replica;
  private readonly api: NodeApi;
  /** External workers' connections (/v1/worker). */
  private readonly workerHub: WorkerHub;
  private readonly metrics: NodeMetrics;
  private readonly dashboardFeed: DashboardFeed;
  private readonly cfg: ClusterFile;
  /** Task events of what the replica applied: GET /v1/watch and ?wait=terminal (src/node/watch-history.ts). */
  private readonly watchHistory = new WatchHistory();
  private readonly tls: NodeTls | null;

  constructor(cfg: ClusterFile, opts: StartNodeOptions, logger: Logger, dataDir: string) {
    this.cfg = cfg;
    const metrics = () => this.metrics; // read once the replica starts, after the constructor made it
    this.tls = cfg.tls ? new NodeTls(cfg.tls, logger) : null;
    const tls = this.tls;
    this.replica = new Replica({
      cfg,
      id: opts.id,
      dataDir,
      ...(opts.join !== undefined ? { join: opts.join } : {}),
      logger,
      ...(opts.handler ? { handler: opts.handler } : {}),
      ...(tls ? { peerTls: { dialOptions: () => tls.dialOptions(), peerCertificateProblem: (req) => tls.peerCertificateProblem(req) } } : {}),
      hooks: {
        serve: (wiring) => this.serve(wiring),
        reportOutcome: (id, attempt, outcome) => this.reportOutcome(id, attempt, outcome),
        reportLingering: async (count) => void (await this.api.reportLingering(this.id, { count })),
        reportProgress: async (id, attempt, progress) => void (await this.api.reportProgress(id, { attempt, progress })),
        onApplied: (result, index) => {
          this.metrics.onApplied(result);
          this.watchHistory.recordApplied(index, result, (id) => this.replica.handle.table.getTask(id));
          this.dashboardFeed.onApplied(result);
          this.workerHub.onApplied(result);
        },
        onRestored: (index) => this.watchHistory.reset(index),
        onRoleChange: (role, term) => {
          this.metrics.onRoleChange(role, term);
          this.dashboardFeed.noteLeader(); // also on a leader change seen by a follower: the timeline needs no page open
          this.workerHub.onRoleChange(role);
        },
        get observer() {
          return metrics().observer;
        },
      },
    });
    this.metrics = new NodeMetrics(this.replica.handle);
    this.dashboardFeed = nodeDashboardFeed(this.replica.handle, () => this.api);
    this.api = new NodeApi(this.replica.handle, {
      metrics: () => this.metrics.render(),
      watch: this.watchHistory,
      dashboardEvents: (res) => this.dashboardFeed.subscribe(res),
    });
    this.workerHub = new WorkerHub(this.replica.handle, this.api, logger);
  }

  get id(): string {
    return this.replica.id;
  }

  get url(): string {
    return this.replica.url;
  }

  get logger(): Logger {
    return this.replica.logger;
  }

  /** The HTTP server on the node's port: the API, and the transport's WebSocket upgrades. */
  private async serve(wiring: ReplicaWiring): Promise<{ close(): Promise<void> }> {
    if (faultsEnabled()) installFaultHooks(this.api, wiring.setLinkFilter, this.logger, wiring.diskFaults);
    this.metrics.useTransportStats(wiring.transportStats);
    const onRequest = (req: http.IncomingMessage, res: http.ServerResponse): void => {
      this.metrics.timeRequest(req, res);
      // A dashboard page from another member may call here (its node died): CORS for member origins only.
      if (!answerMemberCors(req, res, () => memberUrls(this.replica.handle))) void handleRequest(this.api, req, res);
    };
    const server = this.tls ? https.createServer({ ...httpServerOptions(), ...this.tls.serverOptions() }, onRequest) : http.createServer(httpServerOptions(), onRequest);
    if (this.tls && server instanceof https.Server) this.tls.attach(server);
    const httpCloser = trackHttpConnections(server);
    // Requests Node's HTTP parser refuses before our router sees them (bad bytes in the path, oversized heads,
    // unknown methods) still get the contract's JSON error shape.
    server.on("clientError", (err: NodeJS.ErrnoException, socket) => {
      // As Node's default: answer only if nothing was written on this connection yet, then close it.
      if (!socket.writable || (socket as { bytesWritten?: number }).bytesWritten !== 0) {
        socket.destroy();
        return;
      }
      socket.end(clientErrorAnswer(err.code, err.code ?? err.message));
    });
    wiring.attach(server);
    this.workerHub.attach(server);
    const spec = findNode(this.cfg, this.id);
    await new Promise<void>((resolve, reject) => {
      server.once("error", reject);
      server.listen(spec.port, spec.host, () => {
        server.off("error", reject);
        resolve();
      });
    }).catch((err) => {
      throw new RaftschedError("LISTEN_FAILED", `cannot listen on ${spec.host}:${spec.port}: ${errorMessage(err)}`);
    });
    return {
      close: async () => {
        this.dashboardFeed.close(); // open streams would otherwise hold the close for its whole grace period
        await this.workerHub.close();
        // In-flight answers finish (bounded) instead of reaching their clients as ECONNRESET.
        const { forcedSockets } = await httpCloser.close();
        if (forcedSockets > 0) this.logger.warn({ forcedSockets }, "HTTP connections still busy after the close grace period were cut");
      },
    };
  }

  private async reportOutcome(id: string, attempt: number, outcome: Outcome): Promise<void> {
    if (outcome.kind === "complete") await this.api.complete(id, attempt, outcome.result);
    else await this.api.fail(id, attempt, outcome.error);
  }

  async submit(input: { id?: string; payload: unknown; maxAttempts?: number; priority?: number; onIdReuse?: "return" | "reject" } & TaskFieldsInput): Promise<Task> {
    const { id, payload, maxAttempts, priority, onIdReuse, ...taskFields } = input;
    const r = await this.api.submit({
      ...(id !== undefined ? { id } : {}),
      payload: (payload ?? null) as JsonValue,
      maxAttempts: maxAttempts ?? 3,
      priority: priority ?? 0,
      ...(onIdReuse ? { onIdReuse } : {}),
      ...taskFields,
    });
    return r.task;
  }

  getTask(id: string, opts: { stale?: boolean } = {}): Promise<Task | undefined> {
    return this.api.getTask(id, opts.stale === true);
  }

  listTasks(q: { state?: Task["state"]; worker?: string; limit?: number; after?: string; order?: "id" | "updated"; stale?: boolean } = {}) {
    return this.api.listTasks(
      {
        ...(q.state ? { state: q.state } : {}),
        ...(q.worker ? { worker: q.worker } : {}),
        limit: Math.max(1, Math.min(1000, q.limit ?? 100)),
        ...(q.after ? { after: q.after } : {}),
        ...(q.order ? { order: q.order } : {}),
      },
      q.stale === true,
    );
  }

  onTask(handler: TaskHandler): void {
    this.replica.onTask(handler);
  }

  ready(opts: { timeoutMs?: number } = {}): Promise<void> {
    return this.replica.ready(opts);
  }

  status(): NodeStatus {
    return this.replica.status();
  }

  onFatal(cb: (err: Error) => void): void {
    this.replica.onFatal(cb);
  }

  onRemoved(cb: () => void): void {
    this.replica.onRemoved(cb);
  }

  reloadTls(): boolean {
    return this.tls?.reload() ?? false;
  }

  close(opts: { handOver?: boolean } = {}): Promise<void> {
    this.metrics.stop();
    return this.replica.close(async () => {
      this.watchHistory.close(); // watch streams and waiters end now, not at the HTTP close's grace period
      const runner = this.replica.handle.runner;
      if (!opts.handOver || !runner.isLeader) return;
      await this.api.handOver().catch(() => undefined);
      await this.api.transferHold.drained(this.cfg.electionTimeoutMs[1] * 2, () => runner.pendingProposals);
    });
  }
}
