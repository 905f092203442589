// The env-gated stage tracer (issue 14.1): a request that proposed is split into stages from the marks of the
// router (arrival, body parsed, answered) and of the runner (proposed, persist start/end, applied), keyed by index.
import { mkdtempSync, readFileSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import path from "node:path";
import { describe, expect, it } from "vitest";
import { STAGES, StageTracer, stageTrace } from "../../../src/node/stage-trace.js";

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

describe("StageTracer", () => {
  it("is off (null) unless RAFTSCHED_TRACE_STAGES is set", () => {
    expect(process.env.RAFTSCHED_TRACE_STAGES ? stageTrace : null).toBe(stageTrace);
  });

  it("splits a proposing request into the stages and writes the summary every 20 requests", async () => {
    const dir = mkdtempSync(path.join(tmpdir(), "stage-trace-"));
    try {
      const file = path.join(dir, "stages.json");
      const t = new StageTracer(file);
      for (let k = 1; k <= 20; k++) {
        await t.request(async () => {
          t.parsed();
          t.proposed(k);
          t.persist([{ index: k }], "start");
          await sleep(2);
          t.persist([{ index: k }], "end");
          t.applied(k);
        });
      }
      // A request that proposed nothing (a read) adds no sample.
      await t.request(async () => t.parsed());
      const s = t.summary();
      expect(Object.keys(s)).toEqual([...STAGES]);
      for (const stage of STAGES) expect(s[stage]!.n).toBe(20);
      expect(s.persist!.p50).toBeGreaterThanOrEqual(1.5);
      expect(s.total!.p50).toBeGreaterThanOrEqual(s.persist!.p50);
      const written = JSON.parse(readFileSync(file, "utf8")) as { requests: number };
      expect(written.requests).toBe(20);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});
