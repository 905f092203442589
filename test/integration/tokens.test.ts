// Scoped tokens on real nodes: a cluster file with "readToken" and "authReads": true. Reads need a token (either),
// writes the admin one, /healthz none; a follower forwards a read-token call with its own credentials; the CLI
// (status, member list) sends the file's token on reads too, so it keeps working on such a cluster.
import { execFileSync } from "node:child_process";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { CLI_PATH, Cluster } from "./cluster-harness.js";

const ADMIN = "tokens-admin-token";
const READ = "tokens-read-token";

describe("scoped tokens", () => {
  let cluster: Cluster;

  beforeAll(async () => {
    cluster = await Cluster.start({ token: ADMIN, fileFields: { readToken: READ, authReads: true }, electionTimeoutMs: [300, 600], heartbeatMs: 75 });
  }, 90_000);

  afterAll(async () => {
    await cluster?.stopAll();
  });

  it("reads need a token, writes the admin token, /healthz none", async () => {
    const leader = await cluster.waitForLeader(30_000);
    const follower = cluster.ids.find((id) => id !== leader)!;
    for (const path of ["/v1/status", "/v1/cluster", "/metrics", "/"]) {
      expect((await cluster.request(follower, "GET", path, { token: null })).status, path).toBe(401);
      expect((await cluster.request(follower, "GET", path, { token: READ })).status, path).toBe(200);
      expect((await cluster.request(follower, "GET", path, { token: ADMIN })).status, path).toBe(200);
    }
    expect((await cluster.request(follower, "GET", "/healthz", { token: null })).status).toBe(200);
    const readOnlyWrite = await cluster.request(follower, "POST", "/v1/tasks", { token: READ, body: { id: "tok-1", payload: {} } });
    expect(readOnlyWrite.status).toBe(403);
    expect(readOnlyWrite.body.error.code).toBe("FORBIDDEN");
    expect((await cluster.request(follower, "POST", "/v1/tasks", { token: ADMIN, body: { id: "tok-1", payload: {} } })).status).toBe(201);
    // A linearizable read on a follower, with the read token: answered (the follower asks the leader itself).
    const got = await cluster.request(follower, "GET", "/v1/tasks/tok-1", { token: READ });
    expect(got.status).toBe(200);
    expect(got.body.id).toBe("tok-1");
  }, 60_000);

  it("the CLI reads with the file's token", () => {
    const status = execFileSync(process.execPath, [CLI_PATH, "status", "--config", cluster.configPath], { encoding: "utf8", timeout: 30_000 });
    expect(status).toMatch(/leader/);
    const members = execFileSync(process.execPath, [CLI_PATH, "member", "list", "--config", cluster.configPath], { encoding: "utf8", timeout: 30_000 });
    expect(members).toMatch(/n1/);
  });
});
