// What a replica hands the composition root's serve hook (node.ts ReplicaHooks.serve): the peer transport's
// WebSocket upgrades to take on the HTTP server, its chaos link filter, and its counters for the metrics.
import type http from "node:http";
import type { LinkFilter, TransportStats, WsTransport } from "../transport/ws-transport.js";
import type { DiskFaults } from "../storage/disk-faults.js";

/** Given to ReplicaHooks.serve only. */
export interface ReplicaWiring {
  /** Lets the peer transport take its WebSocket upgrades on `server`. */
  attach(server: http.Server): void;
  /** The transport's link filter (the chaos fault hooks). */
  setLinkFilter(filter: LinkFilter | null): void;
  /** The peer transport's counters (bytes, snapshots, refused connections), read at each scrape. */
  transportStats(): TransportStats;
  /** The store's disk fault layer (the chaos fault hooks, issue 14.5). */
  readonly diskFaults: DiskFaults;
}

export function wiringOf(transport: WsTransport, diskFaults: DiskFaults): ReplicaWiring {
  return {
    attach: (server) => transport.attach(server),
    setLinkFilter: (filter) => transport.setLinkFilter(filter),
    transportStats: () => transport.stats(),
    diskFaults,
  };
}
