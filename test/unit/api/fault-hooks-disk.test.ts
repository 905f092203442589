// The debug fault hook's disk field (issue 14.5): parsed and checked like the cut list, applied to the store's
// fault layer, and leaving the cut links alone when it comes without `blocked`.
import pino from "pino";
import { describe, expect, it } from "vitest";
import { installFaultHooks, parseFaultRequest } from "../../../src/api/fault-hooks.js";
import type { ApiBackend } from "../../../src/api/router.js";
import { DiskFaults } from "../../../src/storage/disk-faults.js";

describe("POST /v1/debug/faults { disk }", () => {
  it("parses disk alone, blocked alone, or both; refuses neither and bad specs", () => {
    expect(parseFaultRequest({ disk: { mode: "stall" } })).toEqual({ disk: { mode: "stall" } });
    expect(parseFaultRequest({ blocked: [] })).toEqual({ blocked: [] });
    expect(parseFaultRequest({ blocked: [["n1", "n2"]], disk: { mode: "eio" } })).toEqual({ blocked: [["n1", "n2"]], disk: { mode: "eio" } });
    for (const bad of [{}, { disk: { mode: "melt" } }, { disk: "stall" }, { other: 1 }]) {
      expect(() => parseFaultRequest(bad)).toThrow(expect.objectContaining({ code: "BAD_FIELD" }));
    }
  });

  it("sets the node's disk fault and touches the link filter only when blocked is given", async () => {
    const api = {} as ApiBackend;
    const disk = new DiskFaults();
    const filters: unknown[] = [];
    installFaultHooks(api, (f) => filters.push(f), pino({ level: "silent" }), disk);
    await api.debugFaults!({ disk: { mode: "stall" } });
    expect(disk.current()).toEqual({ mode: "stall" });
    expect(filters).toEqual([]);
    await api.debugFaults!({ disk: { mode: "none" }, blocked: [] });
    expect(disk.current()).toEqual({ mode: "none" });
    expect(filters).toEqual([null]);
  });
});
