import { afterEach, describe, expect, it } from "vitest";
import { parseClusterFile } from "../../../src/config/cluster-file.js";
import { URL_SCHEME_MISMATCH } from "../../../src/config/security-fields.js";

const base = { cluster: "t", token: "admin-token-123" };
const nodes = (scheme: string) => [
  { id: "n1", url: `${scheme}://127.0.0.1:7001` },
  { id: "n2", url: `${scheme}://127.0.0.1:7002` },
];
const tls = { cert: "certs/n1.pem", key: "certs/n1-key.pem", ca: "/etc/raftsched/ca.pem" };

function parse(fields: Record<string, unknown>, file = "/srv/raftsched/cluster.json") {
  return parseClusterFile(JSON.stringify({ ...base, ...fields }), "cluster.json", file);
}

function codeOf(fn: () => unknown): string | undefined {
  try {
    fn();
  } catch (err) {
    return (err as { code?: string }).code;
  }
  return undefined;
}

describe("cluster file: tls", () => {
  it("takes https urls with tls, resolving relative paths against the file's folder", () => {
    const cfg = parse({ tls, nodes: nodes("https") });
    expect(cfg.tls).toEqual({ cert: "/srv/raftsched/certs/n1.pem", key: "/srv/raftsched/certs/n1-key.pem", ca: "/etc/raftsched/ca.pem" });
    expect(cfg.nodes.map((n) => n.url)).toEqual(["https://127.0.0.1:7001", "https://127.0.0.1:7002"]);
  });

  it("makes ca optional", () => {
    expect(parse({ tls: { cert: "a.pem", key: "b.pem" }, nodes: nodes("https") }).tls?.ca).toBeNull();
  });

  it("refuses a plain http url in a file with tls, and an https url without it, with a stable code", () => {
    expect(codeOf(() => parse({ tls, nodes: nodes("http") }))).toBe(URL_SCHEME_MISMATCH);
    expect(codeOf(() => parse({ tls, nodes: [nodes("https")[0], nodes("http")[1]] }))).toBe(URL_SCHEME_MISMATCH);
    expect(codeOf(() => parse({ nodes: nodes("https") }))).toBe(URL_SCHEME_MISMATCH);
    expect(() => parse({ tls, nodes: nodes("http") })).toThrow(/nodes\[0\].*plain http:\/\/.*"tls"/);
  });

  it("refuses a malformed tls object", () => {
    expect(() => parse({ tls: { cert: "a.pem" }, nodes: nodes("https") })).toThrow(/tls.key/);
    expect(() => parse({ tls: { cert: "a", key: "b", pem: "c" }, nodes: nodes("https") })).toThrow(/unknown field "pem"/);
    expect(() => parse({ tls: "certs", nodes: nodes("https") })).toThrow(/"tls" must be an object/);
  });

  it("keeps a file without tls as it was: http urls, tls null", () => {
    const cfg = parse({ nodes: nodes("http") });
    expect(cfg.tls).toBeNull();
    expect(cfg.readToken).toBeNull();
    expect(cfg.authReads).toBe(false);
  });
});

describe("cluster file: readToken and authReads", () => {
  afterEach(() => {
    delete process.env.RAFTSCHED_READ_TOKEN;
  });

  it("takes a read token and authReads", () => {
    const cfg = parse({ readToken: "reader-token-1", authReads: true, nodes: nodes("http") });
    expect(cfg.readToken).toBe("reader-token-1");
    expect(cfg.authReads).toBe(true);
  });

  it("lets RAFTSCHED_READ_TOKEN override the file's", () => {
    process.env.RAFTSCHED_READ_TOKEN = "reader-from-env";
    expect(parse({ readToken: "reader-token-1", nodes: nodes("http") }).readToken).toBe("reader-from-env");
  });

  it("refuses a short read token, one equal to the admin token, and a non-boolean authReads", () => {
    expect(() => parse({ readToken: "short", nodes: nodes("http") })).toThrow(/readToken/);
    expect(() => parse({ readToken: base.token, nodes: nodes("http") })).toThrow(/must differ/);
    expect(() => parse({ authReads: "yes", nodes: nodes("http") })).toThrow(/authReads/);
  });

  it("still refuses unknown fields", () => {
    expect(() => parse({ readtoken: "reader-token-1", nodes: nodes("http") })).toThrow(/unknown field "readtoken"/);
  });
});


describe("the TLS example cluster file", () => {
  it("parses: https urls, tls, a read token, authReads", async () => {
    const { loadClusterFile } = await import("../../../src/config/cluster-file.js");
    const cfg = loadClusterFile(new URL("../../../cluster-configs/three-hosts-tls.example.json", import.meta.url).pathname);
    expect(cfg.nodes.every((n) => n.url.startsWith("https://"))).toBe(true);
    expect(cfg.tls?.ca).toBe("/etc/raftsched/tls/ca.pem");
    expect(cfg.authReads).toBe(true);
  });
});
