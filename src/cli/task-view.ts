// How `raftsched task ...` shows tasks and events to people: aligned tables, one line per task or event. Scripts
// use --json instead (the API's objects as they are).
import type { Task, TaskDeletedEvent, TaskEvent } from "../client/types.js";

const TASK_COLUMNS = ["id", "state", "attempt", "worker", "priority", "updated"] as const;

function cells(t: Task): string[] {
  return [t.id, t.state, String(t.attempt), t.worker ?? "-", String(t.priority), String(t.updatedIndex)];
}

export function taskTable(tasks: readonly Task[]): string {
  const rows = [[...TASK_COLUMNS] as string[], ...tasks.map(cells)];
  const widths = rows[0]!.map((_, i) => Math.max(...rows.map((r) => r[i]!.length)));
  return rows.map((r) => r.map((x, i) => x.padEnd(widths[i]!)).join("  ").trimEnd()).join("\n") + "\n";
}

/** One task in full: the table row, then its result or error when it has one. */
export function taskDetail(t: Task): string {
  let out = taskTable([t]);
  if (t.result !== undefined) out += `result: ${JSON.stringify(t.result)}\n`;
  if (t.error !== undefined) out += `error: ${JSON.stringify(t.error)}\n`;
  return out;
}

export function eventLine(e: TaskEvent | TaskDeletedEvent): string {
  if ("deleted" in e) return `${String(e.index).padStart(8)}  ${e.id}  deleted\n`;
  return `${String(e.index).padStart(8)}  ${e.id}  ${e.state}  attempt ${e.attempt}  ${e.worker ?? "-"}\n`;
}
