// The cluster file's "retention": defaults, ranges, errors naming the field (issue 13 point 9).
import { describe, expect, it } from "vitest";
import { parseClusterFile } from "../../../src/config/cluster-file.js";
import { RETENTION_DEFAULTS } from "../../../src/scheduler/task-retention.js";

const file = (retention?: unknown) =>
  JSON.stringify({ token: "0123456789", nodes: [{ id: "n1", url: "http://127.0.0.1:7001" }], ...(retention !== undefined ? { retention } : {}) });

describe("retention in the cluster file", () => {
  it("defaults when absent; given fields override, the others keep their default", () => {
    expect(parseClusterFile(file(), "c.json").retention).toEqual(RETENTION_DEFAULTS);
    expect(parseClusterFile(file({ completedMs: 5000, maxTerminal: 10 }), "c.json").retention).toEqual({ ...RETENTION_DEFAULTS, completedMs: 5000, maxTerminal: 10 });
  });

  it("refuses a value out of range, a non-integer, an unknown field and a non-object, naming the field", () => {
    expect(() => parseClusterFile(file({ completedMs: -1 }), "c.json")).toThrow(/c\.json: "retention\.completedMs" must be an integer from 0 to \d+, got -1/);
    expect(() => parseClusterFile(file({ deadMs: 1.5 }), "c.json")).toThrow(/"retention\.deadMs"/);
    expect(() => parseClusterFile(file({ maxTerminal: 10_000_001 }), "c.json")).toThrow(/"retention\.maxTerminal"/);
    expect(() => parseClusterFile(file({ dedupeIds: "10" }), "c.json")).toThrow(/"retention\.dedupeIds"/);
    expect(() => parseClusterFile(file({ keepMs: 1 }), "c.json")).toThrow(/unknown field "retention\.keepMs"/);
    expect(() => parseClusterFile(file([1]), "c.json")).toThrow(/"retention" must be an object/);
  });
});
