// Free loopback ports for the processes this project starts on this machine (chaos runs, the integration and
// fuzz tests, the bench). One helper for all of them, so a fix to port picking lands everywhere.
//
// A port is picked by binding port 0 on `host` (127.0.0.1 unless told), reading the port the OS chose and closing
// the listener again, so the number can be handed to a child process that listens on it later. Nothing holds the
// port in between: another process may take it first (callers that mind retry on EADDRINUSE). Within this process,
// though, no port is handed out twice: the OS may give two probes in a row the same port, and two nodes of one
// cluster told the same port fail in a way that looks like something else.
import { createServer } from "node:net";
import { RaftschedError } from "./errors.js";

const LOOPBACK_HOST = "127.0.0.1";

/** Probes per wanted port before giving up. */
const TRIES_PER_PORT = 20;
/** How many handed-out ports this process remembers, oldest forgotten first: far fewer than the ephemeral range,
 *  so a long-lived process (a test worker, the bench) never runs out. */
const REMEMBERED = 4096;
const handedOut = new Set<number>();

/** The port the OS gives a listener on `host` port 0, after closing that listener (0 if it reported none). */
async function probe(host: string): Promise<number> {
  return await new Promise<number>((resolve, reject) => {
    const srv = createServer();
    srv.once("error", reject);
    srv.listen(0, host, () => {
      const addr = srv.address();
      const port = typeof addr === "object" && addr !== null ? addr.port : 0;
      srv.close(() => resolve(port));
    });
  });
}

/** `count` distinct ports, each free on `host` a moment ago and none handed out before by this process. */
export async function freePorts(count: number, host: string = LOOPBACK_HOST): Promise<number[]> {
  if (!Number.isSafeInteger(count) || count < 0) {
    throw new RaftschedError("BAD_ARGS", `freePorts: count must be a whole number >= 0, got ${String(count)}`);
  }
  const ports: number[] = [];
  for (let tries = 0; ports.length < count; tries++) {
    if (tries >= count * TRIES_PER_PORT) {
      throw new RaftschedError("NO_FREE_PORTS", `could not find ${count} distinct free ports on ${host} (${ports.length} after ${tries} tries)`);
    }
    const port = await probe(host);
    if (port <= 0 || handedOut.has(port)) continue;
    handedOut.add(port);
    if (handedOut.size > REMEMBERED) handedOut.delete(handedOut.values().next().value!);
    ports.push(port);
  }
  return ports;
}

/** One port free on `host` a moment ago, not handed out before by this process. */
export async function freePort(host: string = LOOPBACK_HOST): Promise<number> {
  const [port] = await freePorts(1, host);
  return port!;
}
