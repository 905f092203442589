// Closing a WebSocket politely but within a bound: a close frame, and a terminate if the close handshake has not
// finished within a second (a peer that stopped reading must not hold a shutdown). A socket still connecting is
// terminated at once: it has no close handshake to offer.
import WebSocket from "ws";

const CLOSE_WAIT_MS = 1_000;

export function closeSocket(ws: WebSocket, code: number, reason: string): Promise<void> {
  if (ws.readyState === WebSocket.CLOSED) return Promise.resolve();
  return new Promise((resolve) => {
    const done = setTimeout(() => {
      ws.terminate();
      resolve();
    }, CLOSE_WAIT_MS);
    ws.once("close", () => {
      clearTimeout(done);
      resolve();
    });
    if (ws.readyState === WebSocket.CONNECTING) ws.terminate();
    else ws.close(code, reason);
  });
}
