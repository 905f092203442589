// Comparing and printing entries. Payloads are short ASCII strings in the simulator, so they print as text.
import type { Entry } from "../../src/raft/types.js";

const decoder = new TextDecoder();

export function bytesEqual(a: Uint8Array, b: Uint8Array): boolean {
  if (a === b) return true;
  if (a.byteLength !== b.byteLength) return false;
  for (let i = 0; i < a.byteLength; i++) if (a[i] !== b[i]) return false;
  return true;
}

export function sameEntry(a: Entry, b: Entry): boolean {
  return a === b || (a.index === b.index && a.term === b.term && a.kind === b.kind && bytesEqual(a.data, b.data));
}

export function payloadText(data: Uint8Array): string {
  if (data.byteLength === 0) return "no-op";
  const text = decoder.decode(data.byteLength > 40 ? data.subarray(0, 40) : data);
  return JSON.stringify(text);
}

/** "(7@t3 "p:12")": index, term and payload. */
export function describeEntry(e: Entry | undefined): string {
  if (!e) return "(none)";
  return `(${e.index}@t${e.term}${e.kind === "config" ? " config" : ""} ${payloadText(e.data)})`;
}
