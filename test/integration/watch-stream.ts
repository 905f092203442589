// Test helper: reads a node's GET /v1/watch stream with fetch and the Client's SSE parser, collecting events.
import { SseParser } from "../../src/client/sse.js";
import type { TaskDeletedEvent, TaskEvent } from "../../src/client/types.js";

export class WatchReader {
  readonly events: TaskEvent[] = [];
  /** `event: deleted` frames (a DELETE or retention), apart from the task changes. */
  readonly deletions: TaskDeletedEvent[] = [];
  readonly errors: Array<{ code: string; message: string }> = [];
  status = 0;
  startIndex: number | null = null;
  ended = false;
  private readonly ctl = new AbortController();
  readonly done: Promise<void>;

  constructor(url: string, opts: { since?: number; lastEventId?: number } = {}) {
    this.done = this.run(url, opts);
  }

  get lastIndex(): number | null {
    return this.events.length > 0 ? this.events[this.events.length - 1]!.index : this.startIndex;
  }

  sawState(id: string, state: string): boolean {
    return this.events.some((e) => e.id === id && e.state === state);
  }

  close(): void {
    this.ctl.abort();
  }

  private async run(url: string, opts: { since?: number; lastEventId?: number }): Promise<void> {
    try {
      const headers: Record<string, string> = opts.lastEventId !== undefined ? { "last-event-id": String(opts.lastEventId) } : {};
      const res = await fetch(`${url}/v1/watch${opts.since !== undefined ? `?since=${opts.since}` : ""}`, { headers, signal: this.ctl.signal });
      this.status = res.status;
      if (res.status !== 200) return;
      const parser = new SseParser();
      const decoder = new TextDecoder();
      for await (const chunk of res.body as unknown as AsyncIterable<Uint8Array>) {
        for (const item of parser.push(decoder.decode(chunk, { stream: true }))) {
          if (item.kind === "comment") {
            const m = /^watching events after index (\d+)/.exec(item.text);
            if (m) this.startIndex = Number(m[1]);
          } else if (item.message.event === "error") this.errors.push(JSON.parse(item.message.data));
          else if (item.message.event === "deleted") this.deletions.push(JSON.parse(item.message.data) as TaskDeletedEvent);
          else this.events.push(JSON.parse(item.message.data) as TaskEvent);
        }
      }
    } catch {
      // aborted or the node went away
    } finally {
      this.ended = true;
    }
  }
}

export const key = (e: TaskEvent): string => `${e.index}/${e.id}`;
