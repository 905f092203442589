// The Client's event-stream parser: events split anywhere across chunks, CRLF, comments, multi-line data, ids.
import { describe, expect, it } from "vitest";
import { SseParser, type SseItem } from "../../../src/client/sse.js";

const stream = 'retry: 1000\n: watching events after index 4\n\nid: 5\ndata: {"index":5}\n\n: keep-alive\n\nevent: error\ndata: {"code":"SLOW_CONSUMER"}\n\nid: 6\ndata: a\ndata: b\n\n';

function parseAll(chunks: readonly string[]): SseItem[] {
  const p = new SseParser();
  return chunks.flatMap((c) => p.push(c));
}

const expected: SseItem[] = [
  { kind: "comment", text: "watching events after index 4" },
  { kind: "message", message: { event: "message", data: '{"index":5}', id: "5" } },
  { kind: "comment", text: "keep-alive" },
  { kind: "message", message: { event: "error", data: '{"code":"SLOW_CONSUMER"}', id: null } },
  { kind: "message", message: { event: "message", data: "a\nb", id: "6" } },
];

describe("SseParser", () => {
  it("parses a whole stream", () => {
    expect(parseAll([stream])).toEqual(expected);
  });

  it("gives the same items whatever the chunking, and with CRLF line ends", () => {
    for (let size = 1; size <= 7; size++) {
      const chunks: string[] = [];
      for (let i = 0; i < stream.length; i += size) chunks.push(stream.slice(i, i + size));
      expect(parseAll(chunks)).toEqual(expected);
    }
    const crlf = stream.replace(/\n/g, "\r\n");
    for (let size = 1; size <= 3; size++) {
      const chunks: string[] = [];
      for (let i = 0; i < crlf.length; i += size) chunks.push(crlf.slice(i, i + size));
      expect(parseAll(chunks)).toEqual(expected);
    }
  });

  it("holds nothing back once an event ends, and refuses an endless event", () => {
    const p = new SseParser();
    expect(p.push("id: 1\ndata: x\n")).toEqual([]);
    expect(p.push("\n")).toHaveLength(1);
    expect(() => p.push("data: " + "y".repeat(5 * 1024 * 1024))).toThrow(/exceeds/);
  });
});
