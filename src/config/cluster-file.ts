// The cluster file: one JSON document describes a whole cluster (README, "The cluster file"). Every field is checked;
// an unknown field is an error, not ignored, so a typo never silently falls back to a default.
import { readFileSync } from "node:fs";
import path from "node:path";
import { isStrategy, STRATEGIES, type Strategy } from "../scheduler/strategies.js";
import { RaftschedError } from "../util/errors.js";
import { useClusterTls } from "../tls/cluster-fetch.js";
import { checkUrlScheme, parseSecurityFields, type TlsFiles } from "./security-fields.js";

export type { TlsFiles } from "./security-fields.js";
import type { RetentionPolicy } from "../scheduler/task-retention.js";
import { parseRetention } from "./retention-config.js";
import { canonicalTags, tagListProblem } from "../scheduler/task-fields.js";

/** The placement strategy a cluster file names; the list lives with the strategies themselves. */
export type StrategyName = Strategy;

export interface NodeSpec {
  readonly id: string;
  /** Where the node listens: http(s)://host:port (https exactly when the file has `tls`). One port serves HTTP, /raft and the dashboard. */
  readonly url: string;
  readonly role: "voter" | "learner";
  /** How many tasks this node runs at once. */
  readonly capacity: number;
  /** False: a member that takes part in Raft but never runs tasks. */
  readonly worker: boolean;
  /** The member's worker tags (a task's `requires` must all be among them); [] when none. */
  readonly tags: readonly string[];
  readonly host: string;
  readonly port: number;
}

export interface ClusterFile {
  readonly cluster: string;
  readonly token: string;
  readonly electionTimeoutMs: readonly [number, number];
  readonly heartbeatMs: number;
  readonly workerTimeoutMs: number;
  readonly strategy: StrategyName;
  /** Logical clock granularity of the Raft core. */
  readonly tickMs: number;
  /** Snapshot the task table every this many applied entries, so a restart replays a bounded log. */
  readonly snapshotEveryEntries: number;
  /** A module whose default export is `async (task) => result`, resolved against the cluster file's folder. */
  readonly handler: string | null;
  /** Deletion of old terminal tasks by the leader (retention-config.ts; defaults in task-retention.ts). */
  readonly retention: RetentionPolicy;
  readonly nodes: readonly NodeSpec[];
  /** Certificate files (src/config/security-fields.ts); null: plain http. */
  readonly tls: TlsFiles | null;
  /** A token that opens GETs only; null: none. */
  readonly readToken: string | null;
  /** GETs (but /healthz) need a token too. */
  readonly authReads: boolean;
  /** Absolute path of the file this was read from ("" when built in memory). */
  readonly path: string;
}

export const CLUSTER_DEFAULTS = {
  electionTimeoutMs: [150, 300] as const,
  heartbeatMs: 50,
  workerTimeoutMs: 1000,
  strategy: "least-loaded" as StrategyName,
  tickMs: 10,
  snapshotEveryEntries: 10_000,
  capacity: 4,
};

const TOP_FIELDS = new Set([
  "cluster",
  "token",
  "electionTimeoutMs",
  "heartbeatMs",
  "workerTimeoutMs",
  "strategy",
  "tickMs",
  "snapshotEveryEntries",
  "handler",
  "retention",
  "nodes",
  "tls",
  "readToken",
  "authReads",
]);
const NODE_FIELDS = new Set(["id", "url", "role", "capacity", "worker", "tags"]);
const ID_PATTERN = /^[A-Za-z0-9._:-]{1,64}$/;
const MAX_NODES = 64;

function bad(where: string, message: string): RaftschedError {
  return new RaftschedError("BAD_CONFIG", `${where}: ${message}`);
}

function isPlainObject(v: unknown): v is Record<string, unknown> {
  return typeof v === "object" && v !== null && !Array.isArray(v);
}

function intField(obj: Record<string, unknown>, key: string, where: string, def: number, min: number, max: number): number {
  const v = obj[key];
  if (v === undefined) return def;
  if (typeof v !== "number" || !Number.isInteger(v) || v < min || v > max) {
    throw bad(where, `"${key}" must be an integer from ${min} to ${max}, got ${JSON.stringify(v)}`);
  }
  return v;
}

/** Parses and validates a cluster file's text. `where` names the file in error messages. */
export function parseClusterFile(text: string, where: string, filePath = ""): ClusterFile {
  let raw: unknown;
  try {
    raw = JSON.parse(text);
  } catch (err) {
    throw bad(where, `invalid JSON (${(err as Error).message})`);
  }
  if (!isPlainObject(raw)) throw bad(where, "the top level must be a JSON object");
  for (const k of Object.keys(raw)) {
    if (!TOP_FIELDS.has(k)) throw bad(where, `unknown field "${k}"`);
  }

  const cluster = raw.cluster ?? "raftsched";
  if (typeof cluster !== "string" || !ID_PATTERN.test(cluster)) throw bad(where, `"cluster" must be a name of [A-Za-z0-9._:-], 1–64 chars`);

  const token = process.env.RAFTSCHED_TOKEN || raw.token;
  if (typeof token !== "string" || token.length < 8 || token.length > 256) {
    throw bad(where, `"token" (or RAFTSCHED_TOKEN) must be a string of 8–256 characters`);
  }

  const { electionTimeoutMs, tickMs, heartbeatMs, workerTimeoutMs, snapshotEveryEntries } = parseTimings(raw, where);

  const strategy = raw.strategy ?? CLUSTER_DEFAULTS.strategy;
  if (!isStrategy(strategy)) {
    throw bad(where, `"strategy" must be one of ${STRATEGIES.join(", ")}, got ${JSON.stringify(strategy)}`);
  }

  const handler = raw.handler ?? null;
  if (handler !== null && (typeof handler !== "string" || handler.length === 0)) throw bad(where, `"handler" must be a module path`);

  const security = parseSecurityFields(raw, where, filePath ? path.dirname(filePath) : "", token);

  const nodes = parseNodes(raw.nodes, where, security.tls !== null);

  return {
    cluster,
    token,
    electionTimeoutMs,
    heartbeatMs,
    workerTimeoutMs,
    strategy: strategy as StrategyName,
    tickMs,
    snapshotEveryEntries,
    handler: handler as string | null, retention: parseRetention(raw.retention, where),
    nodes,
    ...security,
    path: filePath,
  };
}

/** The clock settings, each checked against the others (a heartbeat below the election timeout, a tick within it). */
function parseTimings(raw: Record<string, unknown>, where: string) {
  let electionTimeoutMs: [number, number] = [...CLUSTER_DEFAULTS.electionTimeoutMs];
  if (raw.electionTimeoutMs !== undefined) {
    const e = raw.electionTimeoutMs;
    if (!Array.isArray(e) || e.length !== 2 || !e.every((x) => typeof x === "number" && Number.isInteger(x) && x >= 10 && x <= 60_000)) {
      throw bad(where, `"electionTimeoutMs" must be [min, max] integers from 10 to 60000`);
    }
    if (e[0] >= e[1]) throw bad(where, `"electionTimeoutMs" min must be below max`);
    electionTimeoutMs = [e[0], e[1]];
  }
  const tickMs = intField(raw, "tickMs", where, CLUSTER_DEFAULTS.tickMs, 1, 1000);
  const heartbeatMs = intField(raw, "heartbeatMs", where, CLUSTER_DEFAULTS.heartbeatMs, 1, 30_000);
  if (heartbeatMs >= electionTimeoutMs[0]) throw bad(where, `"heartbeatMs" (${heartbeatMs}) must be below the minimum election timeout (${electionTimeoutMs[0]})`);
  if (tickMs > heartbeatMs) throw bad(where, `"tickMs" (${tickMs}) must not exceed "heartbeatMs" (${heartbeatMs})`);
  const workerTimeoutMs = intField(raw, "workerTimeoutMs", where, CLUSTER_DEFAULTS.workerTimeoutMs, 50, 3_600_000);
  const snapshotEveryEntries = intField(raw, "snapshotEveryEntries", where, CLUSTER_DEFAULTS.snapshotEveryEntries, 100, 100_000_000);
  return { electionTimeoutMs, tickMs, heartbeatMs, workerTimeoutMs, snapshotEveryEntries };
}

/** The `nodes` array: ids and host:ports unique, at least one voter. */
function parseNodes(rawNodes: unknown, where: string, tls: boolean): NodeSpec[] {
  if (!Array.isArray(rawNodes) || rawNodes.length === 0) throw bad(where, `"nodes" must be a non-empty array`);
  if (rawNodes.length > MAX_NODES) throw bad(where, `"nodes" has ${rawNodes.length} entries; at most ${MAX_NODES}`);
  const nodes: NodeSpec[] = [];
  const ids = new Set<string>();
  const addrs = new Map<string, string>();
  rawNodes.forEach((n: unknown, i: number) => {
    const at = `${where}: nodes[${i}]`;
    if (!isPlainObject(n)) throw new RaftschedError("BAD_CONFIG", `${at} must be an object`);
    for (const k of Object.keys(n)) if (!NODE_FIELDS.has(k)) throw new RaftschedError("BAD_CONFIG", `${at}: unknown field "${k}"`);
    const id = n.id;
    if (typeof id !== "string" || !ID_PATTERN.test(id)) throw new RaftschedError("BAD_CONFIG", `${at}: "id" must be 1–64 chars of [A-Za-z0-9._:-]`);
    if (ids.has(id)) throw new RaftschedError("BAD_CONFIG", `${where}: duplicate node id "${id}"`);
    ids.add(id);
    const u = parseNodeUrl(n.url, at, tls);
    const hostPort = `${u.hostname}:${u.port}`;
    const other = addrs.get(hostPort);
    if (other) throw new RaftschedError("BAD_CONFIG", `${where}: nodes "${other}" and "${id}" both use ${hostPort} (duplicate port)`);
    addrs.set(hostPort, id);
    const role = n.role ?? "voter";
    if (role !== "voter" && role !== "learner") throw new RaftschedError("BAD_CONFIG", `${at}: "role" must be "voter" or "learner"`);
    const capacity = intField(n, "capacity", at, CLUSTER_DEFAULTS.capacity, 0, 100_000);
    const worker = n.worker ?? true;
    if (typeof worker !== "boolean") throw new RaftschedError("BAD_CONFIG", `${at}: "worker" must be true or false`);
    nodes.push({ id, url: `${u.protocol}//${hostPort}`, role, capacity, worker, tags: nodeTags(n.tags, at), host: u.hostname.replace(/^\[|\]$/g, ""), port: Number(u.port) });
  });
  if (!nodes.some((n) => n.role === "voter")) throw bad(where, "at least one node must be a voter");
  return nodes;
}

/** A node's url: http(s)://host:port, its scheme the file's (https exactly when it has `tls`). */
function parseNodeUrl(raw: unknown, at: string, hasTls: boolean): URL {
  if (typeof raw !== "string") throw new RaftschedError("BAD_CONFIG", `${at}: "url" must be a string like http://127.0.0.1:7001`);
  let u: URL;
  try {
    u = new URL(raw);
  } catch {
    throw new RaftschedError("BAD_CONFIG", `${at}: "url" ${JSON.stringify(raw)} is not a URL`);
  }
  if ((u.protocol === "http:" || u.protocol === "https:") && u.port) checkUrlScheme(u.protocol, hasTls, at, raw);
  if ((u.protocol !== "http:" && u.protocol !== "https:") || !u.port || (u.pathname !== "/" && u.pathname !== "") || u.search || u.username) {
    throw new RaftschedError("BAD_CONFIG", `${at}: "url" must be http(s)://host:port with an explicit port and no path, got ${JSON.stringify(raw)}`);
  }
  return u;
}

/** A node's "tags" (default none), sorted; refused as the task's `requires` would be. */
function nodeTags(raw: unknown, at: string): readonly string[] {
  const problem = raw === undefined ? null : tagListProblem(raw);
  if (problem !== null) throw new RaftschedError("BAD_CONFIG", `${at}: "tags" ${problem}`);
  return canonicalTags((raw ?? []) as string[]);
}

export function loadClusterFile(file: string): ClusterFile {
  let text: string;
  try {
    text = readFileSync(file, "utf8");
  } catch (err) {
    throw new RaftschedError("BAD_CONFIG", `${file}: cannot read (${(err as NodeJS.ErrnoException).code ?? (err as Error).message})`);
  }
  const cfg = parseClusterFile(text, file, path.resolve(file));
  // A process that reads a cluster file talks to that cluster: its https clients trust the cluster's CA.
  useClusterTls(cfg.tls);
  return cfg;
}

export function findNode(cfg: ClusterFile, id: string): NodeSpec {
  const n = cfg.nodes.find((x) => x.id === id);
  if (!n) {
    throw new RaftschedError("BAD_CONFIG", `unknown --id "${id}": ${cfg.path || "the cluster file"} lists ${cfg.nodes.map((x) => x.id).join(", ")}`);
  }
  return n;
}

/** Election timeout and heartbeat in core ticks. */
export function ticksOf(cfg: ClusterFile): { electionTicksMin: number; electionTicksMax: number; heartbeatTicks: number } {
  const electionTicksMin = Math.max(2, Math.round(cfg.electionTimeoutMs[0] / cfg.tickMs));
  const electionTicksMax = Math.max(electionTicksMin + 1, Math.round(cfg.electionTimeoutMs[1] / cfg.tickMs));
  const heartbeatTicks = Math.max(1, Math.min(electionTicksMin - 1, Math.round(cfg.heartbeatMs / cfg.tickMs)));
  return { electionTicksMin, electionTicksMax, heartbeatTicks };
}
