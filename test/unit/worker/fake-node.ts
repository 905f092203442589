// A fake cluster node for the worker SDK's unit tests: a real WebSocket server (ws) at /v1/worker on a free
// loopback port, fake only in what it answers. By default it answers `register` with `registered`; a test can
// take over any answer (`answerRegister`) and push frames to the worker (`send`).
import type { AddressInfo } from "node:net";
import WebSocket, { WebSocketServer } from "ws";

export type Frame = Record<string, unknown> & { type: string };

export class FakeNode {
  /** Frames received from the worker, over every connection, in order. */
  readonly frames: Frame[] = [];
  readonly connections: WebSocket[] = [];
  readonly authorizations: Array<string | undefined> = [];
  /** What to answer a register frame with (null: nothing). */
  answerRegister: (frame: Frame) => Frame | null = (f) => ({ type: "registered", v: 1, id: f.id, leaderId: this.id, heartbeatMs: 60_000, workerTimeoutMs: 240_000 });

  private constructor(
    readonly id: string,
    private readonly wss: WebSocketServer,
    readonly url: string,
  ) {
    wss.on("connection", (ws, req) => {
      this.connections.push(ws);
      this.authorizations.push(req.headers.authorization);
      ws.on("error", () => {});
      ws.on("message", (data) => {
        const frame = JSON.parse(data.toString()) as Frame;
        this.frames.push(frame);
        if (frame.type !== "register") return;
        const answer = this.answerRegister(frame);
        if (answer !== null) ws.send(JSON.stringify(answer));
        if (answer?.type === "notLeader") ws.close(1000, "not the leader"); // as a real follower does
      });
    });
  }

  static async start(id = "n1"): Promise<FakeNode> {
    const wss = new WebSocketServer({ host: "127.0.0.1", port: 0, path: "/v1/worker" });
    await new Promise<void>((resolve) => wss.once("listening", () => resolve()));
    const { port } = wss.address() as AddressInfo;
    return new FakeNode(id, wss, `http://127.0.0.1:${port}`);
  }

  /** The latest connection (open or not). */
  get last(): WebSocket | undefined {
    return this.connections.at(-1);
  }

  /** Sends a frame (an object, or raw text as given) on the latest connection. */
  send(frame: Frame | string): void {
    this.last?.send(typeof frame === "string" ? frame : JSON.stringify(frame));
  }

  framesOf(type: string): Frame[] {
    return this.frames.filter((f) => f.type === type);
  }

  /** Drops every connection at once (a node that died) and stops listening. */
  async stop(): Promise<void> {
    for (const ws of this.connections) ws.terminate();
    await new Promise<void>((resolve) => this.wss.close(() => resolve()));
  }
}

/** Polls `predicate` every 10 ms until it holds, failing after `timeoutMs` (generous: the machine is shared). */
export async function until(what: string, predicate: () => boolean, timeoutMs = 10_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!predicate()) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 10));
  }
}
