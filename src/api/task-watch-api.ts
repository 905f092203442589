// GET /v1/watch and GET /v1/tasks/:id?wait=terminal on one node, over the replica's watch history
// (src/node/watch-history.ts, fed by the composition root from what the replica applies).
import type { IncomingMessage, ServerResponse } from "node:http";
import type { WatchHistory } from "../node/watch-history.js";
import { TERMINAL_STATES } from "../scheduler/task-events.js";
import type { Task } from "../scheduler/types.js";
import { TerminalWaiters } from "./task-wait.js";
import { WatchServer } from "./watch-stream.js";

export class TaskWatchApi {
  readonly server: WatchServer;
  private readonly waiters: TerminalWaiters;

  constructor(
    history: WatchHistory,
    /** The newest index this node knows committed (a watch `since` may point a little past it). */
    newestKnown: () => number,
    /** GET's read (linearizable unless stale), and the local replica's table. */
    private readonly read: (id: string, stale: boolean) => Promise<Task | undefined>,
    private readonly local: (id: string) => Task | undefined,
  ) {
    this.server = new WatchServer(() => history, newestKnown);
    this.waiters = new TerminalWaiters(() => history);
  }

  readonly watch = (req: IncomingMessage, res: ServerResponse, url: URL): void => {
    this.server.serve(req, res, url);
  };

  /** Reads as GET does (so a follower has applied the task), then waits on this replica's own events. */
  readonly waitTask = async (id: string, wait: { timeoutMs: number }, stale: boolean): Promise<Task | undefined> => {
    const read = await this.read(id, stale);
    // Read again with no await before the wait registers, so a terminal state applied meanwhile is not missed.
    const t = read && (this.local(id) ?? read);
    if (!t || TERMINAL_STATES.has(t.state)) return t;
    await this.waiters.wait(id, wait.timeoutMs);
    return this.local(id);
  };
}
