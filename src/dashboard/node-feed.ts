// The dashboard feed of one served node, wired to its replica handle and API (src/server.ts calls this).
import type { ReplicaHandle } from "../node/replica-handle.js";
import { DashboardFeed } from "./feed.js";
import { httpStatusProbe } from "./member-probe.js";

/** The API reads the feed repeats (they forward to the leader from a follower, as GET /v1/cluster does). */
export interface FeedApiReads {
  cluster(): Promise<unknown>;
  workers(): Promise<unknown>;
}

export function nodeDashboardFeed(node: ReplicaHandle, api: () => FeedApiReads): DashboardFeed {
  return new DashboardFeed({
    nodeId: node.id,
    status: () => node.status(),
    counts: () => node.table.counts(),
    getTask: (id) => node.table.getTask(id),
    recentTasks: (limit) => node.table.listTasks({ order: "updated", limit }).tasks,
    cluster: () => api().cluster(),
    workers: () => api().workers(),
    probe: httpStatusProbe(node.cfg.token),
  });
}

/** Every current member's url (the origins a page may come from). */
export function memberUrls(node: ReplicaHandle): string[] {
  const conf = node.raftStatus().conf;
  const urls: string[] = [];
  for (const id of [...conf.voters, ...conf.learners]) {
    const url = node.memberUrl(id);
    if (url !== undefined) urls.push(url);
  }
  return urls;
}
