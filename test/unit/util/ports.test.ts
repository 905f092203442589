import { createServer, type Server } from "node:net";
import { describe, expect, it } from "vitest";
import { freePort, freePorts } from "../../../src/util/ports.js";

async function bind(port: number, host = "127.0.0.1"): Promise<Server> {
  const srv = createServer();
  await new Promise<void>((resolve, reject) => {
    srv.once("error", reject);
    srv.listen(port, host, () => resolve());
  });
  return srv;
}

describe("freePorts", () => {
  it("gives the asked number of distinct ports", async () => {
    const ports = await freePorts(8);
    expect(ports).toHaveLength(8);
    expect(new Set(ports).size).toBe(8);
    for (const p of ports) {
      expect(Number.isInteger(p)).toBe(true);
      expect(p).toBeGreaterThan(0);
      expect(p).toBeLessThan(65536);
    }
  });

  it("never hands out the same port twice within the process, also across calls and concurrent calls", async () => {
    const batches = await Promise.all([freePorts(5), freePorts(5), freePort(), freePort()]);
    const all = batches.flat();
    expect(new Set(all).size).toBe(all.length);
  });

  it("gives ports that can be bound right afterwards", async () => {
    const ports = [await freePort(), ...(await freePorts(2, "127.0.0.1"))];
    const servers = await Promise.all(ports.map((p) => bind(p)));
    try {
      expect(servers.map((s) => (s.address() as { port: number }).port)).toEqual(ports);
    } finally {
      await Promise.all(servers.map((s) => new Promise((r) => s.close(r))));
    }
  });

  it("gives an empty list for a count of 0", async () => {
    expect(await freePorts(0)).toEqual([]);
  });

  it.each([-1, 1.5, Number.NaN, Number.POSITIVE_INFINITY])("refuses a count of %s with a clear error", async (count) => {
    await expect(freePorts(count)).rejects.toMatchObject({
      code: "BAD_ARGS",
      message: expect.stringMatching(/count must be a whole number >= 0, got/),
    });
  });

  it("passes on the error of a host it cannot bind instead of hanging", async () => {
    // 192.0.2.1 (TEST-NET-1) is no address of this machine.
    await expect(freePort("192.0.2.1")).rejects.toMatchObject({ code: "EADDRNOTAVAIL" });
  });
});
