// The TLS pieces on their own: reading and checking the files, the https client the project's tools use, and a
// node's reload. Certificates come from scripts/dev-certs.sh (openssl), in a temp dir.
import { execFileSync } from "node:child_process";
import { copyFileSync, mkdtempSync, rmSync, writeFileSync } from "node:fs";
import https from "node:https";
import type { AddressInfo } from "node:net";
import { tmpdir } from "node:os";
import path from "node:path";
import pino from "pino";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { clusterFetch, reloadClusterTls, useClusterTls } from "../../../src/tls/cluster-fetch.js";
import { NodeTls } from "../../../src/tls/node-tls.js";
import { readTlsMaterial, TLS_BAD_CERT, TLS_FILE_UNREADABLE } from "../../../src/tls/tls-material.js";
import { isTimeout } from "../../../src/util/http-json.js";
import type { TlsFiles } from "../../../src/config/security-fields.js";

const SCRIPT = path.resolve(import.meta.dirname, "../../../scripts/dev-certs.sh");
const dir = mkdtempSync(path.join(tmpdir(), "raftsched-tls-unit-"));
const files = (sub: string, id = "n1"): TlsFiles => ({ cert: path.join(dir, sub, `${id}.pem`), key: path.join(dir, sub, `${id}-key.pem`), ca: path.join(dir, sub, "ca.pem") });

function codeOf(fn: () => unknown): string | undefined {
  try {
    fn();
  } catch (err) {
    return (err as { code?: string }).code;
  }
  return undefined;
}

let server: https.Server;
let url: string;
let nodeTls: NodeTls;

beforeAll(async () => {
  execFileSync("bash", [SCRIPT, path.join(dir, "a"), "n1", "n2"], { stdio: "pipe" });
  execFileSync("bash", [SCRIPT, path.join(dir, "b"), "n1"], { stdio: "pipe" });
  execFileSync("bash", [SCRIPT, path.join(dir, "live"), "n1"], { stdio: "pipe" });
  nodeTls = new NodeTls(files("live"), pino({ level: "silent" }));
  server = https.createServer(nodeTls.serverOptions(), (req, res) => {
    if (req.url === "/slow") return void setTimeout(() => res.end("late"), 2_000);
    let body = "";
    req.on("data", (c: Buffer) => (body += c.toString()));
    req.on("end", () => {
      res.writeHead(200, { "content-type": "application/json", "x-peer-cert": nodeTls.peerCertificateProblem(req) ?? "ok" });
      res.end(JSON.stringify({ method: req.method, body }));
    });
  });
  nodeTls.attach(server);
  await new Promise<void>((r) => server.listen(0, "127.0.0.1", r));
  url = `https://127.0.0.1:${(server.address() as AddressInfo).port}`;
});

afterAll(() => {
  server?.closeAllConnections();
  server?.close();
  useClusterTls(null);
  rmSync(dir, { recursive: true, force: true });
});

describe("readTlsMaterial", () => {
  it("reads a matching certificate and key", () => {
    expect(readTlsMaterial(files("a")).ca).not.toBeNull();
  });

  it("refuses a missing file and a key that is not the certificate's, each with its code", () => {
    expect(codeOf(() => readTlsMaterial({ ...files("a"), cert: path.join(dir, "nope.pem") }))).toBe(TLS_FILE_UNREADABLE);
    expect(codeOf(() => readTlsMaterial({ ...files("a"), key: files("a", "n2").key }))).toBe(TLS_BAD_CERT);
  });
});

describe("clusterFetch", () => {
  it("speaks https to a server the cluster's CA signed, with a body, and presents the client certificate", async () => {
    useClusterTls(files("live"));
    const r = await clusterFetch(`${url}/x`, { method: "POST", body: "hello", headers: { "content-type": "text/plain" } });
    expect(r.status).toBe(200);
    expect(r.headers.get("x-peer-cert")).toBe("ok");
    expect(await r.json()).toEqual({ method: "POST", body: "hello" });
  });

  it("fails like fetch: a server the CA did not sign, a refused port, a timeout", async () => {
    useClusterTls(files("b"));
    const untrusted = await clusterFetch(`${url}/x`).catch((e: unknown) => e as Error);
    expect(untrusted).toBeInstanceOf(TypeError);
    useClusterTls(files("live"));
    const refused = (await clusterFetch("https://127.0.0.1:1/x").catch((e: unknown) => e)) as { cause?: { code?: string } };
    expect(refused.cause?.code).toBe("ECONNREFUSED");
    const slow = await clusterFetch(`${url}/slow`, { signal: AbortSignal.timeout(200) }).catch((e: unknown) => e);
    expect(isTimeout(slow)).toBe(true);
  });

  it("leaves http:// urls to the global fetch", async () => {
    const plain = await clusterFetch(`http://127.0.0.1:${(server.address() as AddressInfo).port}/x`, { signal: AbortSignal.timeout(2_000) }).catch((e: unknown) => e);
    expect(plain).toBeInstanceOf(Error); // a TLS port does not speak plain HTTP
  });
});

describe("NodeTls", () => {
  it("tells a peer without a CA-signed certificate from one with", async () => {
    useClusterTls({ ...files("b"), ca: files("live").ca }); // trusts the server, presents a foreign certificate
    const foreign = await clusterFetch(`${url}/x`);
    expect(foreign.headers.get("x-peer-cert")).toMatch(/not accepted/);
    useClusterTls({ cert: "/nonexistent.pem", key: "/nonexistent-key.pem", ca: files("live").ca });
    const none = await clusterFetch(`${url}/x`);
    expect(none.headers.get("x-peer-cert")).toBe("no client certificate presented");
  });

  it("keeps its certificates when the new files are broken, and switches to good new ones", async () => {
    writeFileSync(files("live").cert, "not a certificate");
    expect(nodeTls.reload()).toBe(false);
    useClusterTls(files("a")); // CA a does not trust the live CA's server certificate...
    // ...and files "a" are copied over the live ones: the server now shows a certificate of CA a.
    for (const k of ["cert", "key", "ca"] as const) copyFileSync(files("a")[k]!, files("live")[k]!);
    expect(nodeTls.reload()).toBe(true);
    reloadClusterTls();
    const r = await clusterFetch(`${url}/x`);
    expect(r.status).toBe(200);
  });
});
