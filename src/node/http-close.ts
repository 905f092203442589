// A graceful close for the node's HTTP server. `server.close()` + `closeAllConnections()` destroyed every socket at
// once: a response being computed or written (a removed leader answering the DELETE that removed it, a submit
// answered 503 SHUTTING_DOWN) reached its client as ECONNRESET, and so did a request sent on a keep-alive connection
// at that moment. Here the server stops accepting, idle keep-alive connections are ended, a request in flight
// finishes and its connection is then ended (`Connection: close`), and only after a bounded grace period is
// anything still open destroyed, so a client stuck on a slow response cannot hold a shutdown forever.
import type { Server, ServerResponse } from "node:http";
import type { Socket } from "node:net";

/** How long in-flight responses may take to finish once a close has begun. */
export const HTTP_CLOSE_GRACE_MS = 5_000;

export interface HttpCloser {
  /** Stops accepting, lets in-flight responses finish (at most graceMs), then destroys what is left. */
  close(graceMs?: number): Promise<{ forcedSockets: number }>;
}

/** Tracks the server's connections from now on; call before the server accepts any. */
export function trackHttpConnections(server: Server): HttpCloser {
  const responses = new Map<Socket, Set<ServerResponse>>();
  let closing = false;

  server.on("connection", (socket: Socket) => {
    responses.set(socket, new Set());
    socket.once("close", () => responses.delete(socket));
  });
  // Prepended: the request handler may answer synchronously, and the header must be set before it does.
  server.prependListener("request", (req, res: ServerResponse) => {
    const socket = req.socket;
    const open = responses.get(socket) ?? new Set<ServerResponse>();
    responses.set(socket, open);
    open.add(res);
    if (closing) res.setHeader("connection", "close");
    res.once("close", () => {
      open.delete(res);
      // A response whose head went out before the close began said keep-alive: end its connection here.
      if (closing && open.size === 0) socket.end();
    });
  });

  return {
    async close(graceMs = HTTP_CLOSE_GRACE_MS) {
      closing = true;
      const closed = new Promise<void>((resolve) => server.close(() => resolve()));
      for (const [socket, open] of responses) {
        if (open.size === 0) socket.end();
        for (const res of open) if (!res.headersSent) res.setHeader("connection", "close");
      }
      let timer: NodeJS.Timeout | undefined;
      const graceOver = new Promise<"grace over">((resolve) => {
        timer = setTimeout(() => resolve("grace over"), graceMs);
      });
      const outcome = await Promise.race([closed.then(() => "closed" as const), graceOver]);
      clearTimeout(timer);
      if (outcome === "closed") return { forcedSockets: 0 };
      const forcedSockets = responses.size;
      for (const socket of responses.keys()) socket.destroy();
      await closed;
      return { forcedSockets };
    },
  };
}
