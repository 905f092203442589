// A 3-node cluster speaking TLS (README, "Running in production"): certificates from scripts/dev-certs.sh, https
// for clients, wss:// with mutual TLS between peers. It elects, commits through a follower (leader forwarding over
// https), fails over; refuses a peer whose certificate another CA signed, a peer with no certificate, and clients
// speaking plain HTTP; and picks up a new certificate on SIGHUP for new connections without a restart.
import { execFileSync } from "node:child_process";
import { mkdtempSync, readFileSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import path from "node:path";
import tls from "node:tls";
import WebSocket from "ws";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { CLI_PATH, Cluster, REPO_ROOT, waitFor } from "./cluster-harness.js";

const CERT_SCRIPT = path.join(REPO_ROOT, "scripts", "dev-certs.sh");
const TOKEN = "tls-integration-token";

function makeCerts(dir: string, ids: string[]): void {
  execFileSync("bash", [CERT_SCRIPT, dir, ...ids], { stdio: "pipe" });
}

/** The serial number of the certificate a fresh TLS connection to `port` is shown. */
function servedSerial(port: number, ca: Buffer): Promise<string> {
  return new Promise((resolve, reject) => {
    const socket = tls.connect({ host: "127.0.0.1", port, ca, servername: "localhost" }, () => {
      const serial = socket.getPeerCertificate().serialNumber;
      socket.end();
      resolve(serial);
    });
    socket.once("error", reject);
  });
}

/** Dials a node's /raft as peer `asNode` would, with the given TLS identity; resolves with the refusal's status
 *  and body, or "open" if the upgrade was accepted. */
function dialRaft(url: string, asNode: string, o: { ca: Buffer; cert?: Buffer; key?: Buffer }): Promise<{ status: number | "open"; body: string }> {
  return new Promise((resolve) => {
    const ws = new WebSocket(`${url.replace(/^https/, "wss")}/raft`, {
      headers: { authorization: `Bearer ${TOKEN}`, "x-raftsched-node": asNode },
      ca: o.ca,
      ...(o.cert && o.key ? { cert: o.cert, key: o.key } : {}),
      handshakeTimeout: 5_000,
    });
    ws.on("open", () => {
      ws.terminate();
      resolve({ status: "open", body: "" });
    });
    ws.on("unexpected-response", (_req, res) => {
      let body = "";
      res.on("data", (c: Buffer) => (body += c.toString()));
      res.on("end", () => resolve({ status: res.statusCode ?? 0, body }));
    });
    ws.on("error", (err) => resolve({ status: 0, body: err.message }));
  });
}

describe("TLS cluster", () => {
  const certDir = mkdtempSync(path.join(tmpdir(), "raftsched-tls-"));
  const own = path.join(certDir, "own");
  const foreign = path.join(certDir, "foreign");
  let cluster: Cluster;
  let ca: Buffer;

  beforeAll(async () => {
    makeCerts(own, ["node"]);
    makeCerts(foreign, ["node"]);
    ca = readFileSync(path.join(own, "ca.pem"));
    cluster = await Cluster.start({
      token: TOKEN,
      // One certificate for every node of this test (its SANs name 127.0.0.1); production gives each its own.
      tls: { cert: path.join(own, "node.pem"), key: path.join(own, "node-key.pem"), ca: path.join(own, "ca.pem") },
      electionTimeoutMs: [300, 600],
      heartbeatMs: 75,
    });
  }, 90_000);

  afterAll(async () => {
    await cluster?.stopAll();
    rmSync(certDir, { recursive: true, force: true });
  });

  it("elects, commits through a follower, fails over, and the CLI speaks https to it", async () => {
    expect(cluster.url("n1")).toMatch(/^https:\/\//);
    const leader = await cluster.waitForLeader(30_000);
    const follower = cluster.ids.find((id) => id !== leader)!;
    const first = await cluster.submit(follower, { id: "tls-1", payload: { sleepMs: 0 } });
    expect(first.status).toBe(201);

    const status = execFileSync(process.execPath, [CLI_PATH, "status", "--config", cluster.configPath], { encoding: "utf8", timeout: 30_000 });
    expect(status).toContain("leader");
    expect(status).toContain("https://127.0.0.1:");
    // A backup over https too (GET /v1/snapshot through the CA).
    const backup = path.join(certDir, "backup.rsb");
    execFileSync(process.execPath, [CLI_PATH, "snapshot", "save", backup, "--config", cluster.configPath], { encoding: "utf8", timeout: 60_000 });
    expect(readFileSync(backup).length).toBeGreaterThan(0);

    await cluster.kill(leader, "SIGKILL");
    const next = await cluster.waitForLeader(30_000);
    expect(next).not.toBe(leader);
    const second = await cluster.submitWithRetry({ id: "tls-2", payload: { sleepMs: 0 } }, 30_000);
    expect(second.status).toBe(201);
    expect((await cluster.get(next, "tls-1"))?.id).toBe("tls-1");
    await cluster.restart(leader);
    await waitFor("the restarted node to apply tls-2", 30_000, async () => (await cluster.get(leader, "tls-2", { stale: true }))?.id === "tls-2");
  }, 120_000);

  it("refuses a peer whose certificate another CA signed, and a peer with no certificate", async () => {
    const url = cluster.url("n1");
    const good = await dialRaft(url, "n2", { ca, cert: readFileSync(path.join(own, "node.pem")), key: readFileSync(path.join(own, "node-key.pem")) });
    expect(good.status).toBe("open");
    const other = await dialRaft(url, "n2", { ca, cert: readFileSync(path.join(foreign, "node.pem")), key: readFileSync(path.join(foreign, "node-key.pem")) });
    expect(other.status).toBe(403);
    expect(other.body).toContain("PEER_CERT_REFUSED");
    const none = await dialRaft(url, "n2", { ca });
    expect(none.status).toBe(403);
    expect(none.body).toContain("no client certificate");
    await waitFor("n1 to log the refusal", 10_000, () => /refused peer connection: peer refused: client certificate not accepted/.test(cluster.logText("n1")));
  });

  it("refuses clients speaking plain HTTP, and ones that do not trust the CA", async () => {
    const plainUrl = cluster.url("n1").replace(/^https/, "http");
    await expect(fetch(`${plainUrl}/v1/status`, { signal: AbortSignal.timeout(5_000) })).rejects.toThrow();
    // Node's own fetch knows only the public roots: the dev CA's certificate is not trusted there.
    await expect(fetch(`${cluster.url("n1")}/v1/status`, { signal: AbortSignal.timeout(5_000) })).rejects.toThrow();
  });

  it("reloads its certificate on SIGHUP: new connections see the new one, the cluster keeps working", async () => {
    const port = cluster.port("n1");
    const before = await servedSerial(port, ca);
    makeCerts(own, ["node"]); // a new certificate (new serial) from the same CA, written over the old files
    await cluster.kill("n1", "SIGHUP");
    const after = await waitFor("n1 to serve its new certificate", 15_000, async () => {
      const s = await servedSerial(port, ca);
      return s !== before ? s : undefined;
    });
    expect(after).not.toBe(before);
    expect(cluster.isRunning("n1")).toBe(true);
    // The log line is written after the switch, through the node's piped stdout: it may land a moment later.
    await waitFor("n1 to log the reload", 10_000, () => cluster.logText("n1").includes("TLS certificates reloaded"));
    await cluster.waitForLeader(30_000);
    expect((await cluster.submitWithRetry({ id: "tls-after-reload", payload: {} }, 30_000)).status).toBe(201);
  }, 90_000);
});
