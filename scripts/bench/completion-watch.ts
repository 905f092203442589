// When each task completed, as a node applied it: one GET /v1/watch stream (text/event-stream of task events in log
// order) instead of a request per task. Resumes with Last-Event-ID when the node cuts it (a reader that fell 1 MiB
// behind is closed as SLOW_CONSUMER), so no completion is missed. Times are the driver's performance.now() at the
// moment the event is read: the completion committed and applied on that node, plus the stream's delivery.
import http from "node:http";
import { now } from "./stats.js";

export class CompletionWatch {
  /** Task id → when its completion was seen (first time only). */
  readonly completedAt = new Map<string, number>();
  private lastIndex: number;
  private req: http.ClientRequest | null = null;
  private closed = false;
  reconnects = 0;
  private listeners: Array<(id: string, t: number) => void> = [];

  constructor(
    private readonly port: number,
    private readonly token: string,
    sinceIndex: number,
  ) {
    this.lastIndex = sinceIndex;
  }

  onCompleted(f: (id: string, t: number) => void): void {
    this.listeners.push(f);
  }

  start(): void {
    if (this.closed) return;
    const req = http.get(
      {
        host: "127.0.0.1",
        port: this.port,
        // One index back: an index's events may have been cut in half; completions already seen are skipped.
        path: `/v1/watch?since=${Math.max(0, this.lastIndex - 1)}`,
        headers: { authorization: `Bearer ${this.token}`, accept: "text/event-stream" },
      },
      (res) => {
        if (res.statusCode !== 200) {
          res.resume();
          this.again();
          return;
        }
        res.setEncoding("utf8");
        let buf = "";
        res.on("data", (chunk: string) => {
          buf += chunk;
          let end: number;
          while ((end = buf.indexOf("\n\n")) >= 0) {
            this.frame(buf.slice(0, end));
            buf = buf.slice(end + 2);
          }
        });
        res.on("end", () => this.again());
        res.on("error", () => this.again());
      },
    );
    req.on("error", () => this.again());
    this.req = req;
  }

  private again(): void {
    if (this.closed) return;
    this.reconnects++;
    setTimeout(() => this.start(), 50);
  }

  private frame(text: string): void {
    const t = now();
    let data: string | null = null;
    for (const line of text.split("\n")) if (line.startsWith("data: ")) data = line.slice(6);
    if (data === null) return;
    let e: { index?: number; id?: string; state?: string };
    try {
      e = JSON.parse(data) as typeof e;
    } catch {
      return;
    }
    if (typeof e.index === "number") this.lastIndex = Math.max(this.lastIndex, e.index);
    if (e.state !== "completed" || typeof e.id !== "string" || this.completedAt.has(e.id)) return;
    this.completedAt.set(e.id, t);
    for (const f of this.listeners) f(e.id, t);
  }

  close(): void {
    this.closed = true;
    this.req?.destroy();
  }
}
