// Test helpers: a table with an auto-incrementing log index.
import type { Command } from "../../../src/scheduler/commands.js";
import { TaskTable } from "../../../src/scheduler/table.js";
import type { ApplyResult, JsonValue } from "../../../src/scheduler/types.js";

export class Log {
  index = 0;
  constructor(readonly table = new TaskTable()) {}
  run(command: Command): ApplyResult {
    this.index += 1;
    return this.table.apply(this.index, command);
  }
  submit(id: string, options: { priority?: number; maxAttempts?: number; payload?: JsonValue } = {}): ApplyResult {
    return this.run({
      type: "submit",
      id,
      payload: options.payload ?? { n: id },
      priority: options.priority ?? 0,
      maxAttempts: options.maxAttempts ?? 3,
      nowMs: 1000 + this.index,
    });
  }
  up(worker: string, capacity = 4): ApplyResult {
    return this.run({ type: "workerUp", worker, capacity, nowMs: 1000 + this.index });
  }
  assign(taskId: string, worker: string, attempt: number): ApplyResult {
    return this.run({ type: "assign", assignments: [{ taskId, worker, attempt }] });
  }
}
