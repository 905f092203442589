// NodeProcess and ProcessCluster without a real node: `wrap` swaps the node for a tiny script, so these check the
// process handling itself (log file, signals by PID, stop of a paused process, cluster files of the first k nodes).
import { readFileSync } from "node:fs";
import { afterEach, describe, expect, it } from "vitest";
import { NodeProcess } from "../../../src/process-cluster/node-process.js";
import { ProcessCluster } from "../../../src/process-cluster/process-cluster.js";

/** Exits 0 on SIGTERM (as a node does after a graceful stop), then prints its argv and idles. The handler comes
 *  first: the test signals as soon as it sees the line, and under load the child could be descheduled between
 *  printing and installing the handler (SIGTERM then killed it: signal SIGTERM instead of code 0). */
const IDLER = `process.on("SIGTERM", () => process.exit(0)); console.log("argv " + JSON.stringify(process.argv.slice(1))); setInterval(() => {}, 1000);`;
const idler = (argv: readonly string[]): { cmd: string; args: string[] } => ({ cmd: process.execPath, args: ["-e", IDLER, "--", ...argv.slice(1)] });

const clusters: ProcessCluster[] = [];
afterEach(async () => {
  for (const c of clusters.splice(0)) await c.stopAll();
});

async function cluster(): Promise<ProcessCluster> {
  const c = await ProcessCluster.create({ nodes: 3, file: { cluster: "unit", token: "t" }, nodeFields: (id) => ({ capacity: id === "n1" ? 2 : 4 }) });
  clusters.push(c);
  return c;
}

function spawnIdler(c: ProcessCluster, id: string, join = false): NodeProcess {
  return NodeProcess.spawn({ id, configPath: c.writeClusterFile(), dataDir: c.dataDir(id), logFile: c.logPath(id), join, banner: `--- start ${id}`, wrap: idler });
}

async function logShows(c: ProcessCluster, id: string, what: RegExp): Promise<void> {
  for (let i = 0; i < 200 && !what.test(c.logText(id)); i++) await new Promise((r) => setTimeout(r, 25));
  expect(c.logText(id)).toMatch(what);
}

describe("process-cluster", () => {
  it("writes cluster files listing the first k nodes on distinct loopback ports", async () => {
    const c = await cluster();
    const two = JSON.parse(readFileSync(c.writeClusterFile(2), "utf8"));
    expect(two.nodes.map((n: { id: string }) => n.id)).toEqual(["n1", "n2"]);
    expect(two.nodes[0]).toEqual({ id: "n1", url: c.url("n1"), capacity: 2 });
    expect(two.token).toBe("t");
    expect(new Set(c.ids.map((id) => c.port(id))).size).toBe(3);
  });

  it("starts `raftsched start` with the node's args and --join, logging to the node's file", async () => {
    const c = await cluster();
    const p = spawnIdler(c, "n2", true);
    await logShows(c, "n2", /argv/);
    const log = c.logText("n2");
    expect(log.startsWith("--- start n2\n")).toBe(true);
    expect(log).toMatch(/"start","--config",".*cluster\.json","--id","n2","--data-dir",".*n2","--join"/);
    expect(await p.stop(5_000)).toEqual({ code: 0, signal: null });
  });

  it("stops a paused process (SIGCONT before SIGTERM) and kills by PID", async () => {
    const c = await cluster();
    const a = spawnIdler(c, "n1");
    const b = spawnIdler(c, "n3");
    await logShows(c, "n1", /argv/);
    a.pause();
    expect(a.paused).toBe(true);
    expect(await a.stop(10_000)).toEqual({ code: 0, signal: null }); // not the SIGKILL fallback
    expect(a.running).toBe(false);
    expect(await b.kill()).toEqual({ code: null, signal: "SIGKILL" });
    expect(() => process.kill(b.pid, 0)).toThrow(); // gone
  });
});
