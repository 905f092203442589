import { describe, expect, it } from "vitest";
import { formatLogLine } from "../../../src/node/pretty-log.js";

describe("--pretty log lines", () => {
  it("turns a pino JSON record into one readable line with its extra fields", () => {
    const line = JSON.stringify({ level: 40, time: Date.UTC(2026, 10, 27, 8, 1, 2, 345), node: "n2", msg: "stepped down", term: 7 });
    expect(formatLogLine(line, false)).toBe('08:01:02.345 WARN  [n2] stepped down {"term":7}');
  });

  it("passes through a line that is not JSON", () => {
    expect(formatLogLine("plain text", false)).toBe("plain text");
  });
});
