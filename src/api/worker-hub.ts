// External workers' connections (README, "External workers"): a WebSocket at /v1/worker on the node's port, JSON
// text frames (worker-protocol.ts). Only the leader serves workers: a follower answers `notLeader` with the
// leader's url and closes, and the worker connects there (a new leader is found the same way). Following rather
// than relaying keeps one hop between a worker and the decisions about it, and a follower holds no worker state
// that could go stale.
//
// The leader keeps, per connected worker, what it registered and when it was last heard (any frame is a
// heartbeat) in the duties' presence registry: the liveness rule turns that into workerUp/workerDead/workerRemoved
// entries, never one per heartbeat. Assignments are pushed as their entry applies (worker-assignments.ts);
// reports are fenced by worker and attempt (external-report-rule.ts) and then proposed as any client's report.
import { OncePerKey } from "../util/once-per-key.js";
import type { IncomingMessage, Server } from "node:http";
import type { Duplex } from "node:stream";
import type { Logger } from "pino";
import WebSocket, { WebSocketServer } from "ws";
import type { ApplyResult, JsonValue, Task } from "../scheduler/types.js";
import type { ReplicaHandle } from "../node/replica-handle.js";
import { externalReportVerdict } from "../node/external-report-rule.js";
import { MAX_EXTERNAL_WORKERS } from "../node/external-presence.js";
import { bearerTokenMatches } from "../util/bearer.js";
import { errorCode, errorMessage } from "../util/errors.js";
import { RAFT_PATH, refuseUpgrade, requestPath } from "../transport/auth.js";
import { WorkerAssignments } from "./worker-assignments.js";
import { takeWorkerProgress } from "./worker-progress.js";
import {
  MAX_WORKER_FRAME_BYTES,
  WORKER_PATH,
  WORKER_PROTOCOL_VERSION,
  parseWorkerFrame,
  type NodeFrame,
  type WorkerErrorCode,
  type WorkerFrame,
} from "./worker-protocol.js";

/** Connections at once, registered or not (each costs a socket and a little memory). */
export const MAX_WORKER_CONNECTIONS = MAX_EXTERNAL_WORKERS;
/** A connection must register within this. */
export const REGISTER_TIMEOUT_MS = 5000;
/** Frames queued to a worker that reads nothing: over this the connection is closed (SLOW_CONSUMER). */
export const MAX_WORKER_SEND_BUFFER_BYTES = 16 * 1024 * 1024;
const SWEEP_EVERY_MS = 1000;
/** How long a push waits for the leader's ReadIndex confirmation before giving up (the next sweep retries). */
const CONFIRM_TIMEOUT_MS = 5000;

export interface WorkerReports {
  complete(id: string, attempt: number, result: JsonValue | undefined): Promise<Task>;
  fail(id: string, attempt: number, error: JsonValue | undefined): Promise<Task>;
}

interface Connection {
  readonly ws: WebSocket;
  readonly openedAtMs: number;
  id: string | null;
  /** Asked to drain; answered `draining` once capacity 0 is applied (after that nothing new is pushed). */
  drainPending: boolean;
}

export class WorkerHub {
  /** Addresses already logged for a refused token (bounded: the oldest are forgotten first). */
  private readonly refusedAddresses = new OncePerKey(1024);
  private readonly wss = new WebSocketServer({ noServer: true, maxPayload: MAX_WORKER_FRAME_BYTES, perMessageDeflate: false, clientTracking: false });
  private readonly all = new Set<Connection>();
  /** Registered connections by worker id (leader only). */
  private readonly byId = new Map<string, Connection>();
  private readonly assignments: WorkerAssignments;
  private server: Server | null = null;
  private timer: NodeJS.Timeout | null = null;
  private closed = false;

  constructor(
    private readonly n: ReplicaHandle,
    private readonly reports: WorkerReports,
    private readonly logger: Logger,
  ) {
    this.assignments = new WorkerAssignments(
      () => n.table,
      (worker, frame) => this.sendTo(worker, frame),
      () => n.runner.readIndex(CONFIRM_TIMEOUT_MS),
    );
  }

  attach(server: Server): void {
    this.server = server;
    server.on("upgrade", this.onUpgrade);
    this.timer = setInterval(() => this.sweep(), SWEEP_EVERY_MS);
    this.timer.unref();
  }

  /** Registered external workers connected here now. */
  get connected(): number {
    return this.byId.size;
  }

  /** After every entry applied on this node. */
  onApplied(result: ApplyResult): void {
    if (this.byId.size === 0) return;
    this.assignments.onApplied(result);
    this.answerDrains();
  }

  /** `draining` goes out once the worker's capacity 0 is applied: every assignment applied before it was pushed
   *  before this frame, and none comes after, so the worker knows what it must finish. */
  private answerDrains(): void {
    for (const conn of this.byId.values()) {
      if (!conn.drainPending || conn.id === null) continue;
      if (this.n.table.workers().find((w) => w.id === conn.id)?.capacity !== 0) continue;
      conn.drainPending = false;
      this.send(conn, { type: "draining", capacity: 0 });
    }
  }

  /** A node that stops leading hands its workers to the new leader: they reconnect there. */
  onRoleChange(role: string): void {
    if (role === "leader") return;
    for (const conn of [...this.all]) if (conn.id !== null) this.sendNotLeader(conn);
    this.assignments.clear();
  }

  async close(): Promise<void> {
    this.closed = true;
    this.server?.off("upgrade", this.onUpgrade);
    if (this.timer) clearInterval(this.timer);
    for (const conn of [...this.all]) this.fail(conn, "SHUTTING_DOWN", "this node is shutting down; connect to another", 1001);
    this.wss.close();
  }

  private readonly onUpgrade = (req: IncomingMessage, socket: Duplex, head: Buffer): void => {
    const path = requestPath(req);
    if (path !== WORKER_PATH) {
      // The peer transport owns /raft; answer other paths only when no one else (besides it) listens.
      if (path !== RAFT_PATH && this.server !== null && this.server.listenerCount("upgrade") === 2) refuseUpgrade(socket, 404, "not found");
      return;
    }
    socket.on("error", () => {});
    if (this.closed) return refuseUpgrade(socket, 503, "node shutting down", { code: "SHUTTING_DOWN" });
    if (this.all.size >= MAX_WORKER_CONNECTIONS) return refuseUpgrade(socket, 503, "too many worker connections", { code: "TOO_MANY_WORKERS" });
    const authorized = bearerTokenMatches(req.headers.authorization, this.n.cfg.token);
    // As for peers (inbound-peers.ts): a misconfigured worker retrying in a loop is logged once per address.
    const address = req.socket.remoteAddress ?? "unknown";
    if (!authorized && this.refusedAddresses.first(address)) {
      this.logger.warn({ remote: address, code: "UNAUTHORIZED" }, "refused worker connection: missing or wrong cluster token (logged once per address)");
    }
    this.wss.handleUpgrade(req, socket, head, (ws) => this.accept(ws, authorized));
  };

  private accept(ws: WebSocket, authorized: boolean): void {
    const conn: Connection = { ws, openedAtMs: Date.now(), id: null, drainPending: false };
    this.all.add(conn);
    ws.on("error", () => {});
    ws.on("close", () => this.onClose(conn));
    // Refused with a frame, not at the upgrade, so that every client library sees the code.
    if (!authorized) return this.fail(conn, "UNAUTHORIZED", "missing or wrong cluster token (Authorization: Bearer <token>)");
    ws.on("message", (data, isBinary) => {
      if (isBinary) return this.fail(conn, "BAD_FRAME", "frames are JSON text, not binary");
      this.onFrame(conn, data.toString());
    });
  }

  private onFrame(conn: Connection, text: string): void {
    if (conn.id !== null) this.n.duties.externals.heard(conn.id, Date.now());
    const parsed = parseWorkerFrame(text);
    if (!parsed.ok) {
      if (parsed.close) return this.fail(conn, parsed.code, parsed.message);
      return this.error(conn, parsed.code, parsed.message, parsed.taskId);
    }
    const frame = parsed.frame;
    if (frame.type === "register") return this.register(conn, frame);
    if (conn.id === null) return this.fail(conn, "NOT_REGISTERED", "the first frame must be a register frame");
    switch (frame.type) {
      case "heartbeat":
        return;
      case "complete":
      case "fail":
        return void this.report(conn, conn.id, frame);
      case "progress":
        for (const answer of takeWorkerProgress(this.n.table.getTask(frame.taskId), conn.id, frame, this.n.duties.progress)) this.send(conn, answer);
        return;
      case "drain":
        this.n.duties.externals.setCapacity(conn.id, 0);
        conn.drainPending = true;
        return this.answerDrains();
      case "bye":
        this.n.duties.externals.leaving(conn.id);
        return;
    }
  }

  private register(conn: Connection, frame: Extract<WorkerFrame, { type: "register" }>): void {
    if (conn.id !== null) return this.fail(conn, "ALREADY_REGISTERED", "this connection is already registered");
    if (!this.n.runner.isLeader) return this.sendNotLeader(conn);
    const problem = this.idProblem(frame.id);
    if (problem !== null) return this.fail(conn, problem.code, problem.message);
    const presence = this.n.duties.externals;
    if (presence.get(frame.id) === undefined && presence.size >= MAX_EXTERNAL_WORKERS) {
      return this.fail(conn, "TOO_MANY_WORKERS", `at most ${MAX_EXTERNAL_WORKERS} external workers`);
    }
    conn.id = frame.id;
    this.byId.set(frame.id, conn);
    presence.registered(frame.id, frame.capacity, frame.tags, Date.now());
    const workerTimeoutMs = this.n.cfg.workerTimeoutMs;
    this.send(conn, { type: "registered", v: WORKER_PROTOCOL_VERSION, id: frame.id, leaderId: this.n.id, heartbeatMs: heartbeatMsFor(workerTimeoutMs), workerTimeoutMs });
    this.logger.info({ worker: frame.id, capacity: frame.capacity, tags: frame.tags }, "external worker registered");
    // Attempts it still runs that are no longer its own: abort them; then everything it holds, again.
    const table = this.n.table;
    for (const r of frame.running) {
      const verdict = externalReportVerdict(table.getTask(r.taskId), frame.id, r.attempt);
      if (verdict !== "propose") this.send(conn, { type: "abort", taskId: r.taskId, attempt: r.attempt, reason: "superseded" });
    }
    this.assignments.resync(frame.id);
  }

  /** Null when `id` may register here now; otherwise the refusal. */
  private idProblem(id: string): { code: WorkerErrorCode; message: string } | null {
    const conf = this.n.raftStatus().conf;
    const record = this.n.table.workers().find((w) => w.id === id);
    const isMember = conf.voters.includes(id) || conf.learners.includes(id) || this.n.workerMembers().has(id) || this.n.memberUrl(id) !== undefined;
    if (isMember || (record !== undefined && record.extras?.kind !== "external")) {
      return { code: "ID_IS_MEMBER", message: `${JSON.stringify(id)} is a member's id; an external worker needs another` };
    }
    const other = this.byId.get(id);
    if (other === undefined) return null;
    const lastHeardMs = this.n.duties.externals.get(id)?.lastHeardMs ?? 0;
    if (Date.now() - lastHeardMs < this.n.cfg.workerTimeoutMs) {
      return { code: "ID_IN_USE", message: `worker ${JSON.stringify(id)} is already connected; a second live connection with the same id is refused` };
    }
    // The old connection went silent (a dead peer whose socket the kernel keeps): the new one replaces it.
    this.fail(other, "REPLACED", "a new connection registered with this worker id");
    return null;
  }

  private async report(conn: Connection, worker: string, frame: Extract<WorkerFrame, { type: "complete" | "fail" }>): Promise<void> {
    const { taskId, attempt } = frame;
    const verdict = externalReportVerdict(this.n.table.getTask(taskId), worker, attempt);
    if (verdict === "notHeld") return this.error(conn, "NOT_HELD", `worker ${worker} does not hold attempt ${attempt} of task ${taskId}`, taskId);
    if (verdict === "stale") return this.refuseStale(conn, taskId, attempt);
    this.assignments.markReported(taskId, worker, attempt, true);
    try {
      const task =
        frame.type === "complete" ? await this.reports.complete(taskId, attempt, frame.result) : await this.reports.fail(taskId, attempt, frame.error);
      this.send(conn, { type: "accepted", taskId, attempt, state: task.state });
    } catch (err) {
      this.assignments.markReported(taskId, worker, attempt, false);
      if (errorCode(err) === "STALE_ATTEMPT") return this.refuseStale(conn, taskId, attempt);
      // Not known to be committed: the worker keeps the report and sends it again (to this or the next leader).
      this.error(conn, "REPORT_FAILED", `${errorCode(err) ?? "ERROR"}: ${errorMessage(err)}`, taskId);
    }
  }

  private refuseStale(conn: Connection, taskId: string, attempt: number): void {
    this.send(conn, { type: "refused", taskId, attempt, code: "STALE_ATTEMPT", message: `attempt ${attempt} of task ${taskId} is no longer current` });
    this.send(conn, { type: "abort", taskId, attempt, reason: "superseded" });
  }

  private sendNotLeader(conn: Connection): void {
    const leaderId = this.n.runner.knownLeader;
    const leaderUrl = leaderId === null || leaderId === this.n.id ? null : (this.n.memberUrl(leaderId) ?? null);
    this.send(conn, { type: "notLeader", leaderId: leaderId === this.n.id ? null : leaderId, leaderUrl });
    conn.ws.close(1000, "not the leader");
    this.forget(conn);
  }

  private sendTo(worker: string, frame: NodeFrame): boolean {
    const conn = this.byId.get(worker);
    return conn !== undefined && this.send(conn, frame);
  }

  private send(conn: Connection, frame: NodeFrame): boolean {
    if (conn.ws.readyState !== WebSocket.OPEN) return false;
    if (conn.ws.bufferedAmount > MAX_WORKER_SEND_BUFFER_BYTES) {
      this.fail(conn, "SLOW_CONSUMER", "the worker reads too slowly");
      return false;
    }
    conn.ws.send(JSON.stringify(frame));
    return true;
  }

  private error(conn: Connection, code: WorkerErrorCode, message: string, taskId?: string): void {
    this.send(conn, { type: "error", code, message, ...(taskId !== undefined ? { taskId } : {}) });
  }

  /** An error frame, then the connection closed (1008 policy violation unless told otherwise). */
  private fail(conn: Connection, code: WorkerErrorCode, message: string, closeCode = 1008): void {
    if (conn.ws.readyState === WebSocket.OPEN) {
      conn.ws.send(JSON.stringify({ type: "error", code, message }));
      conn.ws.close(closeCode, code);
      setTimeout(() => conn.ws.terminate(), 1000).unref();
    }
    this.forget(conn);
  }

  private onClose(conn: Connection): void {
    this.forget(conn);
  }

  /** Drops the connection from the maps; its worker stays "last heard at T" for the liveness rule. */
  private forget(conn: Connection): void {
    this.all.delete(conn);
    if (conn.id !== null && this.byId.get(conn.id) === conn) {
      this.byId.delete(conn.id);
      this.n.duties.externals.disconnected(conn.id);
    }
  }

  private sweep(): void {
    const now = Date.now();
    for (const conn of [...this.all]) {
      if (conn.id === null && now - conn.openedAtMs > REGISTER_TIMEOUT_MS) this.fail(conn, "REGISTER_TIMEOUT", `no register frame within ${REGISTER_TIMEOUT_MS} ms`);
    }
    if (this.byId.size > 0) this.assignments.sweep();
  }
}

/** How often a worker should send a frame: four per timeout, so one or two lost to a busy loop do not kill it. */
export function heartbeatMsFor(workerTimeoutMs: number): number {
  return Math.max(10, Math.floor(workerTimeoutMs / 4));
}
