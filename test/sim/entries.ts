// Comparing and printing entries. Payloads are scheduler commands (printed as a short summary) or, in scripted
// scenarios and heal markers, short ASCII strings (printed as text).
import type { Entry } from "../../src/raft/types.js";
import { type Command, decodeCommand } from "../../src/scheduler/commands.js";

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
  const decoded = decodeCommand(data);
  if (decoded.ok) return commandText(decoded.command);
  const text = decoder.decode(data.byteLength > 40 ? data.subarray(0, 40) : data);
  return JSON.stringify(text);
}

/** "(7@t3 "p:12")": index, term and payload. */
export function describeEntry(e: Entry | undefined): string {
  if (!e) return "(none)";
  return `(${e.index}@t${e.term}${e.kind === "config" ? " config" : ""} ${payloadText(e.data)})`;
}

/** "submit t12", "assign t3>n2#1 t4>n1#1", "complete t3#1", "workerDead n2". */
export function commandText(c: Command): string {
  switch (c.type) {
    case "submit":
    case "cancel":
    case "retry":
      return `${c.type} ${c.id}`;
    case "delete":
      return `delete ${c.ids.join(" ")}`;
    case "scheduleAdd":
      return `scheduleAdd ${c.schedule.id}`;
    case "scheduleRemove":
      return `scheduleRemove ${c.id}`;
    case "scheduleFire":
      return `scheduleFire ${c.id}@${c.slotMs}`;
    case "assign":
      return `assign ${c.assignments.map((a) => `${a.taskId}>${a.worker}#${a.attempt}`).join(" ")}`;
    case "complete":
    case "fail":
      return `${c.type} ${c.id}#${c.attempt}`;
    case "workerUp":
    case "workerDead":
    case "workerRemoved":
      return `${c.type} ${c.worker}`;
  }
}
