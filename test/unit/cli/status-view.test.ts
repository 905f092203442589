// `raftsched status`: rows and exit code (src/cli/status-view.ts).
import { describe, expect, it } from "vitest";
import { statusExitCode, statusRows, type StatusProbe } from "../../../src/cli/status-view.js";

const ok = (id: string, role = "follower"): StatusProbe => ({ id, url: `http://h/${id}`, answer: { id, role, term: 2, leaderId: "n1", commitIndex: 5, appliedIndex: 5 } });
const down = (id: string): StatusProbe => ({ id, url: `http://h/${id}`, answer: null, error: "ECONNREFUSED" });

describe("raftsched status rows", () => {
  it("exits 0 only when every current member answers", () => {
    expect(statusExitCode(statusRows([ok("n1", "leader"), ok("n2"), ok("n3")], new Set(["n1", "n2", "n3"])))).toBe(0);
    const rows = statusRows([ok("n1", "leader"), ok("n2"), down("n3")], new Set(["n1", "n2", "n3"]));
    expect(rows[2]!.cells[2]).toBe("unreachable (ECONNREFUSED)");
    expect(statusExitCode(rows)).toBe(1);
    expect(statusExitCode(statusRows([down("n1")], null))).toBe(1);
  });

  it("shows a member the cluster removed as removed, and does not fail for it", () => {
    const rows = statusRows([ok("n1", "leader"), ok("n2"), down("n3")], new Set(["n1", "n2"]));
    expect(rows.map((r) => r.cells[2])).toEqual(["leader ★", "follower", "removed"]);
    expect(statusExitCode(rows)).toBe(0);
  });
});
