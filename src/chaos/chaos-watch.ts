// A watch stream (GET /v1/watch) followed through the whole chaos run, on whichever node answers: when its node is
// killed, paused or cut, the Client resumes on another from the last event seen (Last-Event-ID). Each event of a
// task the checks care about (delayed tasks, schedule slots) is kept with the time it arrived: the delayed-task and
// schedule checks read "seen assigned at" and "slot created at" from it. A 410 COMPACTED (the position is gone on
// the node asked) starts again from now and counts a gap: events in a gap are not seen, which the checks tolerate
// (they judge what was seen; the final listing covers what exists).
import { Client, ClientError } from "../client/client.js";
import type { ReceivedEvent } from "./delayed-tasks.js";

/** A bound on memory: events kept (a 10-minute run keeps far fewer of the ids it is asked about). */
const MAX_KEPT = 500_000;

export class ChaosWatch {
  readonly events: ReceivedEvent[] = [];
  /** Times the stream had to start again from now (events lost in between). */
  gaps = 0;
  /** Events past MAX_KEPT, not kept. */
  dropped = 0;
  private readonly ctl = new AbortController();
  private running: Promise<void> | null = null;

  constructor(
    private readonly urls: () => readonly string[],
    private readonly token: string,
    private readonly keep: (id: string) => boolean,
  ) {}

  /** Starts following from log index `since` (0: from the start of what the nodes hold). */
  start(since = 0): void {
    this.running = this.follow(since);
  }

  async stop(): Promise<void> {
    this.ctl.abort();
    await this.running;
  }

  private async follow(since: number): Promise<void> {
    let from: number | undefined = since;
    while (!this.ctl.signal.aborted) {
      // A short idle limit: a paused node's stream goes silent, and the workload keeps the log busy otherwise.
      const client = new Client({ urls: this.urls(), token: this.token, requestTimeoutMs: 3000, retryForMs: 3_600_000, watchIdleMs: 3000 });
      try {
        for await (const e of client.watch({ ...(from !== undefined ? { since: from } : {}), signal: this.ctl.signal })) {
          from = e.index;
          if (!this.keep(e.id)) continue;
          if (this.events.length >= MAX_KEPT) this.dropped++;
          else this.events.push({ index: e.index, id: e.id, state: e.state, attempt: e.attempt, receivedAtWallMs: Date.now() });
        }
      } catch (err) {
        if (this.ctl.signal.aborted) return;
        if (!(err instanceof ClientError)) throw err;
        // COMPACTED or a refusal: resume from now, and say events may be missing.
        this.gaps++;
        from = undefined;
        await new Promise((r) => setTimeout(r, 200));
      }
    }
  }
}
