// A small incremental parser of text/event-stream (the WHATWG "server-sent events" format) for the Client's
// watch: fed chunks of text as they arrive, it hands back whole events. Comments (": ...") are returned too,
// since a watch stream's first comment names the index it starts after.

export interface SseMessage {
  readonly event: string;
  readonly data: string;
  readonly id: string | null;
}

export type SseItem = { readonly kind: "message"; readonly message: SseMessage } | { readonly kind: "comment"; readonly text: string };

/** At most this many characters wait for the end of an event; a stream that exceeds it is not a watch stream. */
const MAX_PENDING_CHARS = 4 * 1024 * 1024;

export class SseParser {
  private pending = "";
  /** A chunk ended in "\r": it may be the first half of a "\r\n" split across chunks. */
  private heldCr = false;

  /** The items completed by `chunk`, in order. */
  push(chunk: string): SseItem[] {
    let text = (this.heldCr ? "\r" : "") + chunk;
    this.heldCr = text.endsWith("\r");
    if (this.heldCr) text = text.slice(0, -1);
    this.pending += text.replace(/\r\n?/g, "\n");
    if (this.pending.length > MAX_PENDING_CHARS) throw new Error("event stream: an event exceeds 4 MiB without ending");
    const out: SseItem[] = [];
    let end: number;
    while ((end = this.pending.indexOf("\n\n")) >= 0) {
      const block = this.pending.slice(0, end);
      this.pending = this.pending.slice(end + 2);
      out.push(...parseBlock(block));
    }
    return out;
  }
}

function parseBlock(block: string): SseItem[] {
  const out: SseItem[] = [];
  let event = "message";
  const data: string[] = [];
  let id: string | null = null;
  for (const line of block.split("\n")) {
    if (line.startsWith(":")) {
      out.push({ kind: "comment", text: line.slice(1).trim() });
      continue;
    }
    const colon = line.indexOf(":");
    const name = colon < 0 ? line : line.slice(0, colon);
    const value = colon < 0 ? "" : line.slice(colon + 1).replace(/^ /, "");
    if (name === "event") event = value;
    else if (name === "data") data.push(value);
    else if (name === "id") id = value;
  }
  if (data.length > 0) out.push({ kind: "message", message: { event, data: data.join("\n"), id } });
  return out;
}
