// The multi-host deployment, as README's "Deploying across machines" and "Running in production" give it, on three
// "machines": three network namespaces with their own addresses (the netns chaos run's network). Each node gets
// the same cluster file but its own certificate (TLS with mutual peer verification, SANs naming its address), a
// read token and authReads, and is started with `raftsched start --config --id --data-dir` inside its namespace.
// From the host, the CLI sees a leader over https, a task submitted on one node is read on another, and after
// the leader is stopped with SIGTERM another node leads and accepts writes. Root only (it builds namespaces):
// elsewhere the test is skipped with the reason printed.
import { execFileSync, spawn, type ChildProcess } from "node:child_process";
import { mkdtempSync, openSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import path from "node:path";
import { afterAll, describe, expect, it } from "vitest";
import { NetnsNetwork, netnsUnavailableReason } from "../../src/chaos/netns.js";
import { clusterFetch, useClusterTls } from "../../src/tls/cluster-fetch.js";
import { CLI_PATH, REPO_ROOT, waitFor } from "./cluster-harness.js";

const unavailable = await netnsUnavailableReason();
if (unavailable !== null) console.warn(`netns deploy test skipped: network namespaces are unavailable here: ${unavailable}`);
const itNetns = unavailable === null ? it : it.skip;

const TOKEN = "netns-deploy-admin-token";
const READ = "netns-deploy-read-token";
const PORT = 7000; // each node alone in its namespace: the README's port is free there
const ids = ["sched-a", "sched-b", "sched-c"];
const dir = mkdtempSync(path.join(tmpdir(), "raftsched-netns-deploy-"));
const children = new Map<string, ChildProcess>();
let net: NetnsNetwork | null = null;

afterAll(async () => {
  for (const c of children.values()) if (c.exitCode === null && c.signalCode === null) c.kill("SIGKILL");
  await net?.teardown();
  if (!process.env.RAFTSCHED_KEEP_TEST_DIRS) rmSync(dir, { recursive: true, force: true });
});

async function api(url: string, method: string, p: string, token: string, body?: unknown): Promise<{ status: number; body: any }> {
  const res = await clusterFetch(url + p, {
    method,
    headers: { authorization: `Bearer ${token}`, ...(body !== undefined ? { "content-type": "application/json" } : {}) },
    ...(body !== undefined ? { body: JSON.stringify(body) } : {}),
    signal: AbortSignal.timeout(5_000),
  });
  const text = await res.text();
  return { status: res.status, body: text ? JSON.parse(text) : null };
}

describe("deployed on three network namespaces", () => {
  itNetns("elects over mutual TLS, serves every node from the host, survives the leader's SIGTERM", async () => {
    net = await NetnsNetwork.create(ids.length, () => undefined);
    const network = net;
    const addresses = ids.map((_, i) => network.address(i));
    // Step: certificates, one per machine, naming its address.
    execFileSync("bash", [path.join(REPO_ROOT, "scripts", "dev-certs.sh"), path.join(dir, "tls"), ...ids], {
      env: { ...process.env, RAFTSCHED_CERT_SANS: addresses.map((a) => `IP:${a}`).join(",") },
      stdio: "pipe",
    });
    const urls = addresses.map((a) => `https://${a}:${PORT}`);
    const fileFor = (id: string) => {
      const file = path.join(dir, `cluster-${id}.json`);
      const tls = { cert: `tls/${id}.pem`, key: `tls/${id}-key.pem`, ca: "tls/ca.pem" };
      const nodes = ids.map((n, i) => ({ id: n, url: urls[i] }));
      writeFileSync(file, JSON.stringify({ cluster: "netns-deploy", token: TOKEN, readToken: READ, authReads: true, electionTimeoutMs: [300, 600], heartbeatMs: 100, tls, nodes }, null, 2));
      return file;
    };
    const files = ids.map(fileFor);
    useClusterTls({ cert: path.join(dir, "tls", "sched-a.pem"), key: path.join(dir, "tls", "sched-a-key.pem"), ca: path.join(dir, "tls", "ca.pem") });
    // Step: start each node on its machine.
    ids.forEach((id, i) => {
      const log = openSync(path.join(dir, `${id}.log`), "a");
      const { cmd, args } = network.wrap(i, [process.execPath, CLI_PATH, "start", "--config", files[i]!, "--id", id, "--data-dir", path.join(dir, "data", id)]);
      const env = { ...process.env };
      delete env.RAFTSCHED_TOKEN;
      delete env.RAFTSCHED_READ_TOKEN;
      children.set(id, spawn(cmd, args, { stdio: ["ignore", log, log], env }));
    });
    const logs = () => ids.map((id) => `== ${id}\n${readFileSync(path.join(dir, `${id}.log`), "utf8").split("\n").slice(-15).join("\n")}`).join("\n");

    const leaderOf = async (among: number[]): Promise<number | undefined> => {
      for (const i of among) {
        const s = await api(urls[i]!, "GET", "/v1/status", READ).catch(() => null);
        if (s?.status === 200 && s.body.role === "leader") return i;
      }
      return undefined;
    };
    let leader: number;
    try {
      leader = await waitFor("a leader", 60_000, () => leaderOf([0, 1, 2]), 200);
    } catch (err) {
      throw new Error(`${(err as Error).message}\n${logs()}`);
    }

    // The CLI on the host, with the same file: a table over https that names the leader.
    const status = execFileSync(process.execPath, [CLI_PATH, "status", "--config", files[0]!], { encoding: "utf8", timeout: 30_000 });
    expect(status).toContain(`https://${addresses[leader]}:${PORT}`);
    expect(status).toMatch(/leader/);

    const follower = (leader + 1) % ids.length;
    expect((await api(urls[follower]!, "POST", "/v1/tasks", TOKEN, { id: "deployed-1", payload: {} })).status).toBe(201);
    expect((await api(urls[(leader + 2) % ids.length]!, "GET", "/v1/tasks/deployed-1", READ)).body.id).toBe("deployed-1");
    expect((await api(urls[follower]!, "POST", "/v1/tasks", READ, { id: "deployed-x", payload: {} })).status).toBe(403);

    const old = children.get(ids[leader]!)!;
    old.kill("SIGTERM");
    await new Promise((r) => old.once("exit", r));
    expect(old.exitCode, logs()).toBe(0);
    const others = [0, 1, 2].filter((i) => i !== leader);
    const next = await waitFor("a new leader", 60_000, () => leaderOf(others), 200);
    expect(next).not.toBe(leader);
    expect((await api(urls[next]!, "POST", "/v1/tasks", TOKEN, { id: "deployed-2", payload: {} })).status).toBe(201);
    expect((await api(urls[others.find((i) => i !== next)!]!, "GET", "/v1/tasks/deployed-1", READ)).status).toBe(200);
  }, 180_000);
});
