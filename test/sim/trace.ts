// The event trace of one seed. Notable events (faults, elections, proposals, commits) always go to a ring
// buffer of the last `keep` lines, printed when a seed fails; with `full`, every event including each message
// is kept, for `--trace`.
import type { Message } from "../../src/raft/types.js";

export class Trace {
  private readonly ring: string[] = [];
  private readonly all: string[] = [];

  constructor(
    readonly full: boolean,
    private readonly keep = 60,
  ) {}

  note(tick: number, text: string): void {
    const line = `t=${String(tick).padStart(5)} ${text}`;
    if (this.full) this.all.push(line);
    this.ring.push(line);
    if (this.ring.length > this.keep) this.ring.shift();
  }

  /** Message-level detail is only worth its cost when the full trace is asked for. */
  message(tick: number, verb: string, m: Message): void {
    if (this.full) this.all.push(`t=${String(tick).padStart(5)}   ${verb} ${describeMessage(m)}`);
  }

  lines(): string[] {
    return this.full ? this.all.slice() : this.ring.slice();
  }
}

export function describeMessage(m: Message): string {
  const head = `${m.from}->${m.to} ${m.type} t${m.term}`;
  switch (m.type) {
    case "vote":
    case "preVote":
      return `${head} last=${m.lastLogIndex}@t${m.lastLogTerm}${m.transfer ? " transfer" : ""}`;
    case "voteResp":
    case "preVoteResp":
      return `${head} ${m.reject ? "reject" : "grant"}`;
    case "append": {
      const range = m.entries.length > 0 ? ` [${m.entries[0]!.index}..${m.entries[m.entries.length - 1]!.index}]` : "";
      return `${head} prev=${m.prevLogIndex}@t${m.prevLogTerm}${range} commit=${m.commit}`;
    }
    case "appendResp":
      return `${head} ${m.reject ? `reject index=${m.index} hint=${m.rejectHint ?? "-"}@t${m.logTerm ?? "-"}` : `ok index=${m.index}`}`;
    case "heartbeat":
      return `${head} commit=${m.commit}${m.context ? ` ctx=${m.context}` : ""}`;
    case "heartbeatResp":
      return `${head}${m.context ? ` ctx=${m.context}` : ""}`;
    case "snapshot":
      return `${head} snap=${m.snapshot.meta.index}@t${m.snapshot.meta.term}`;
    case "timeoutNow":
      return head;
    case "readIndex":
      return `${head} ctx=${m.context}`;
    case "readIndexResp":
      return `${head} ctx=${m.context} index=${m.index}`;
  }
}
