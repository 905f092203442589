// A node started without --join on a cluster that does not list it: its peers refuse it (403 not a peer), and its
// log must say what to do — --join, then `member add` — with a stable code, not only the refusal.
import { existsSync, readFileSync, writeFileSync } from "node:fs";
import path from "node:path";
import { afterAll, describe, expect, it, onTestFailed } from "vitest";
import { NodeProcess } from "../../src/process-cluster/node-process.js";
import { refusalAdvice } from "../../src/transport/refusal-advice.js";
import { Cluster, REPO_ROOT, freePorts, waitFor } from "./cluster-harness.js";

describe("a node the cluster does not list", () => {
  let c: Cluster | undefined;
  let extra: NodeProcess | undefined;
  afterAll(async () => {
    await extra?.kill();
    await c?.stopAll();
  });

  it("the advice is only for the not-a-peer refusal", () => {
    expect(refusalAdvice(403, 'node "n4" is not a peer of this node', "n4")?.code).toBe("NOT_A_MEMBER");
    expect(refusalAdvice(401, "missing or wrong cluster token", "n4")).toBeNull();
  });

  it("logs NOT_A_MEMBER with what to do: --join, then member add", async () => {
    onTestFailed(() => c?.printLogTails());
    c = await Cluster.start({ nodes: 3, electionTimeoutMs: [150, 300], heartbeatMs: 50, workerTimeoutMs: 1000 });
    await c.waitForLeader(15_000);
    const [port] = await freePorts(1);
    const file = JSON.parse(readFileSync(c.configPath, "utf8")) as { nodes: Array<{ id: string; url: string }> };
    file.nodes.push({ id: "n4", url: `http://127.0.0.1:${port}` });
    const config = path.join(c.dir, "with-n4.json");
    writeFileSync(config, JSON.stringify(file));
    const env: NodeJS.ProcessEnv = { ...process.env };
    delete env.RAFTSCHED_TOKEN;
    const logFile = path.join(c.dir, "n4.log");
    extra = NodeProcess.spawn({ id: "n4", configPath: config, dataDir: path.join(c.dir, "n4-data"), logFile, env, cwd: REPO_ROOT });
    const logLines = () => (existsSync(logFile) ? readFileSync(logFile, "utf8").split("\n") : []);
    const line = await waitFor("n4 to log NOT_A_MEMBER", 30_000, () => logLines().find((l) => l.includes('"code":"NOT_A_MEMBER"')), 100);
    expect(line).toMatch(/--join/);
    expect(line).toMatch(/raftsched member add n4/);
  }, 90_000);
});
