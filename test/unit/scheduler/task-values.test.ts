// Terminal tasks keep their payload, result and error as packed JSON bytes (src/scheduler/task-values.ts, issue
// 14.4). The table must answer exactly what it answered before the values were packed, and snapshot to the same
// bytes: the golden hashes below were computed by this same scenario at ef17745, the commit before the packing.
import { createHash } from "node:crypto";
import { describe, expect, it } from "vitest";
import { encodeCommand, type Command } from "../../../src/scheduler/commands.js";
import { TaskTable } from "../../../src/scheduler/table.js";
import { ownedString } from "../../../src/scheduler/owned-string.js";
import { isPacked, packTaskValues, unpackTaskValues } from "../../../src/scheduler/task-values.js";
import type { JsonValue } from "../../../src/scheduler/types.js";

/** Values that a JSON round trip could get wrong if it were not faithful. */
const ODD: JsonValue[] = [
  null,
  0,
  -1.5e-7,
  0.1,
  1e21,
  123456789012345680000,
  Number.MAX_SAFE_INTEGER + 2,
  -Number.MAX_VALUE,
  5e-324,
  "",
  "naïve – 日本語 – 👩‍👩‍👧 – \u0000 \u001f \u2028 \" \\ </script>",
  [],
  {},
  [null, [[], {}], { "": "" }],
  { b: 1, a: 2, "10": "ten", "2": "two", "-1": "minus", __proto__x: true, nested: { deeper: [1, { deepest: "x" }] } },
  true,
  false,
];

function scenario(): { table: TaskTable; answers: unknown[] } {
  const table = new TaskTable();
  const answers: unknown[] = [];
  let index = 0;
  // As a node applies entries: the values a table holds are what msgpack decodes from the log.
  const apply = (c: Command): void => void answers.push(table.applyEntry(++index, encodeCommand(c)));
  apply({ type: "workerUp", worker: "w1", capacity: 1000, nowMs: 1_700_000_000_000 });
  ODD.forEach((payload, i) => apply({ type: "submit", id: `t${String(i).padStart(2, "0")}`, payload, priority: i % 3, maxAttempts: 2, nowMs: 1_700_000_000_000 + i }));
  const ids = ODD.map((_, i) => `t${String(i).padStart(2, "0")}`);
  apply({ type: "assign", assignments: ids.map((taskId) => ({ taskId, worker: "w1", attempt: 1 })) });
  ids.forEach((id, i) => {
    const odd = ODD[(i + 5) % ODD.length]!;
    if (i % 5 === 0) apply({ type: "complete", id, attempt: 1, result: odd, nowMs: 1_700_000_100_000 + i });
    else if (i % 5 === 1) apply({ type: "complete", id, attempt: 1, nowMs: 1_700_000_100_000 + i }); // no result at all
    else if (i % 5 === 2) apply({ type: "fail", id, attempt: 1, error: odd, retryAtMs: 0, nowMs: 1_700_000_100_000 + i }); // back to pending, with an error
    else if (i % 5 === 3) apply({ type: "cancel", id, nowMs: 1_700_000_100_000 + i });
    // i % 5 === 4: stays assigned
  });
  // Failed twice: dead (error kept), then retried (back to pending from a terminal state), then assigned again.
  const twice = ids.filter((_, i) => i % 5 === 2);
  apply({ type: "assign", assignments: twice.map((taskId) => ({ taskId, worker: "w1", attempt: 2 })) });
  twice.forEach((id, k) => apply({ type: "fail", id, attempt: 2, error: k === 0 ? null : { code: "E", message: "∅" }, retryAtMs: 0, nowMs: 1_700_000_200_000 }));
  apply({ type: "retry", id: twice[0]! });
  apply({ type: "cancel", id: ids[3]! }); // already cancelled: answered as is
  apply({ type: "complete", id: ids[0]!, attempt: 1, result: "again" }); // repeated completion: answered, unchanged
  answers.push(...ids.map((id) => table.getTask(id)));
  answers.push(table.listTasks({ limit: 1000 }), table.listTasks({ state: "completed" }), table.listTasks({ order: "updated", limit: 7 }), table.pendingQueue());
  return { table, answers };
}

const sha = (bytes: Uint8Array | string): string => createHash("sha256").update(bytes).digest("hex");

describe("packed task values (issue 14.4)", () => {
  it("round-trip every odd JSON value exactly, with absent and null result/error told apart", () => {
    for (const payload of ODD) {
      for (const result of [undefined, null, ...ODD.slice(0, 4)]) {
        for (const error of [undefined, null, { code: "X" }]) {
          const packed = packTaskValues({ payload, result, error });
          expect(isPacked(packed)).toBe(true);
          const back = unpackTaskValues(packed);
          expect(JSON.stringify(back.payload)).toBe(JSON.stringify(payload));
          expect(back.result === undefined).toBe(result === undefined);
          expect(back.error === undefined).toBe(error === undefined);
          expect(JSON.stringify(back.result)).toBe(JSON.stringify(result));
          expect(JSON.stringify(back.error)).toBe(JSON.stringify(error));
        }
      }
    }
  });

  it("answers and snapshots byte-identical to the table before packing (golden hashes from ef17745)", () => {
    const { table, answers } = scenario();
    const snapshot = table.snapshot();
    // Every kind of record is there: live, terminal, and a terminal one brought back to life.
    expect(table.counts()).toMatchObject({ pending: 1, assigned: 3, completed: 8, dead: 2, cancelled: 3 });
    expect(sha(JSON.stringify(answers))).toBe(GOLDEN_ANSWERS_SHA256);
    expect(sha(snapshot)).toBe(GOLDEN_SNAPSHOT_SHA256);
    // A table restored from it answers and snapshots alike.
    const restored = TaskTable.restore(snapshot);
    const ids = ODD.map((_, i) => `t${String(i).padStart(2, "0")}`);
    expect(JSON.stringify(ids.map((id) => restored.getTask(id)))).toBe(JSON.stringify(ids.map((id) => table.getTask(id))));
    expect(sha(restored.snapshot())).toBe(GOLDEN_SNAPSHOT_SHA256);
  });

  it("keeps a terminal task's values packed (external memory) and a live task's as JS values, also after restore", () => {
    const { table } = scenario();
    for (const t of [table, TaskTable.restore(table.snapshot())]) {
      const records = t.beginSnapshot().tasks.blocks.flat();
      expect(records.length).toBe(ODD.length);
      for (const r of records) {
        const terminal = r.state === "completed" || r.state === "dead" || r.state === "cancelled";
        expect({ id: r.id, packed: isPacked(r.payload) }).toEqual({ id: r.id, packed: terminal });
        if (terminal) expect([r.result, r.error]).toEqual([undefined, undefined]);
      }
    }
  });
});

describe("ownedString", () => {
  it("copies any string exactly, long ones and lone surrogates too", () => {
    for (const s of ["", "t-1", "日本語👩‍👩‍👧", "\ud800x\udc00", "a".repeat(4096), "b".repeat(10_001) + "\u2028"]) expect(ownedString(s)).toBe(s);
  });
});

const GOLDEN_ANSWERS_SHA256 = "4e9299688ac6e9feba2883d03bbad8c470a4b017190601a0056b450d44806c68";
const GOLDEN_SNAPSHOT_SHA256 = "b56ef0c98563e5598b376789dfb174bb372bba7990e25307d10220d49c3636fb";

describe("large terminal values (issue 14.3)", () => {
  it("stay JS values instead of being packed in the apply's turn, and answer and snapshot alike", async () => {
    const { TaskTable } = await import("../../../src/scheduler/table.js");
    const payload = Array.from({ length: 10_000 }, (_, i) => i * 1.5);
    const table = new TaskTable();
    table.apply(1, { type: "submit", id: "big", payload, priority: 0, maxAttempts: 1, nowMs: 1 });
    table.apply(2, { type: "cancel", id: "big", nowMs: 2 });
    const record = table.beginSnapshot().tasks.blocks.flat().find((r) => r.id === "big")!;
    expect(record.state).toBe("cancelled");
    expect(isPacked(record.payload)).toBe(false);
    expect(table.getTask("big")?.payload).toEqual(payload);
    const restored = TaskTable.restore(table.snapshot());
    expect(Buffer.from(restored.snapshot()).equals(Buffer.from(table.snapshot()))).toBe(true);
    expect(restored.getTask("big")).toEqual(table.getTask("big"));
  });
});
