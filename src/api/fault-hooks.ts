// The chaos fault layer: a token-protected HTTP hook that makes this node drop Raft messages on chosen links, so
// `raftsched chaos` can cut the network between processes without root (symmetric, asymmetric, "isolate the
// leader"). It exists only when the node is started with RAFTSCHED_ENABLE_FAULTS=1 — the chaos command sets it
// for the nodes it spawns; a production node never sets it, and then POST /v1/debug/faults answers 404 like
// any unknown route.
//
// POST /v1/debug/faults { "blocked": [["n1", "n2"], ...] } replaces the whole set of cut links: a pair [from, to]
// drops every message travelling from `from` to `to`. Every node gets the same list and applies it to its own
// traffic (outbound when it is `from`, inbound when it is `to`), so a node that missed the update (it was frozen)
// is still cut by its peers. An empty list heals every link. HTTP (clients) is never affected.
//
// POST /v1/debug/faults { "disk": { "mode": "none"|"latency"|"stall"|"eio"|"enospc", "latencyMs"? } } sets this
// node's disk fault (src/storage/disk-faults.ts; issue 14.5). Either field may come alone; a body without
// `blocked` leaves the cut links as they are.
import type { Logger } from "pino";
import type { ApiBackend } from "./router.js";
import type { LinkFilter } from "../transport/ws-transport.js";
import { RaftschedError } from "../util/errors.js";
import { checkDiskFaultSpec, type DiskFaults, type DiskFaultSpec } from "../storage/disk-faults.js";

export const FAULTS_ENV = "RAFTSCHED_ENABLE_FAULTS";

const MEMBER_ID_RE = /^[A-Za-z0-9._:-]{1,64}$/;
/** 64 members at most (the cluster file's limit): every ordered pair fits. */
const MAX_BLOCKED_PAIRS = 64 * 63;

export interface FaultState {
  /** Absent: the cut links stay as they are. */
  readonly blocked?: ReadonlyArray<readonly [string, string]>;
  readonly disk?: DiskFaultSpec;
}

/** True only when the environment explicitly enables the fault hooks ("1" or "true"). */
export function faultsEnabled(env: NodeJS.ProcessEnv = process.env): boolean {
  const v = env[FAULTS_ENV];
  return v === "1" || v === "true";
}

/** Parses and checks a fault request body; throws BAD_FIELD / BAD_REQUEST with the contract's 400. */
export function parseFaultRequest(body: unknown): FaultState {
  if (typeof body !== "object" || body === null || Array.isArray(body)) {
    throw new RaftschedError("BAD_REQUEST", "the body must be a JSON object { blocked?: [[from, to], ...], disk?: { mode } }");
  }
  const o = body as Record<string, unknown>;
  for (const k of Object.keys(o)) if (k !== "blocked" && k !== "disk") throw new RaftschedError("BAD_FIELD", `${k}: unknown field (allowed: blocked, disk)`);
  if (o.blocked === undefined && o.disk === undefined) throw new RaftschedError("BAD_FIELD", "blocked or disk: one of them is required");
  const disk = o.disk === undefined ? undefined : checkDiskFaultSpec(o.disk);
  if (o.blocked === undefined) return { disk: disk! };
  const list = o.blocked;
  if (!Array.isArray(list)) throw new RaftschedError("BAD_FIELD", "blocked: must be an array of [from, to] pairs");
  if (list.length > MAX_BLOCKED_PAIRS) throw new RaftschedError("BAD_FIELD", `blocked: at most ${MAX_BLOCKED_PAIRS} pairs`);
  const blocked: Array<readonly [string, string]> = [];
  for (const [i, pair] of list.entries()) {
    if (!Array.isArray(pair) || pair.length !== 2 || !pair.every((x) => typeof x === "string" && MEMBER_ID_RE.test(x))) {
      throw new RaftschedError("BAD_FIELD", `blocked[${i}]: must be [from, to], two member ids`);
    }
    blocked.push([pair[0] as string, pair[1] as string]);
  }
  return disk === undefined ? { blocked } : { blocked, disk };
}

/**
 * Gives `api` a debugFaults method that sets the transport's link filter (through `setLinkFilter`). Call only when faultsEnabled():
 * without this call the router has no such route.
 */
export function installFaultHooks(api: ApiBackend, setLinkFilter: (filter: LinkFilter | null) => void, logger: Logger, disk?: DiskFaults): void {
  logger.warn(`${FAULTS_ENV} is set: the chaos fault endpoint POST /v1/debug/faults is enabled (never in production)`);
  api.debugFaults = async (body: unknown): Promise<FaultState> => {
    const state = parseFaultRequest(body);
    if (state.disk !== undefined) {
      if (!disk) throw new RaftschedError("BAD_FIELD", "disk: this node has no disk fault layer");
      disk.set(state.disk);
      logger.warn({ disk: state.disk }, state.disk.mode === "none" ? "fault hook: disk healed" : "fault hook: disk fault set");
    }
    if (state.blocked === undefined) return state;
    if (state.blocked.length === 0) {
      setLinkFilter(null);
    } else {
      const cut = new Set(state.blocked.map(([from, to]) => `${from}\u0000${to}`));
      // The filter returns false to drop.
      setLinkFilter((from, to) => !cut.has(`${from}\u0000${to}`));
    }
    logger.info({ blocked: state.blocked }, state.blocked.length === 0 ? "fault hook: every link healed" : "fault hook: links cut");
    return state;
  };
}
