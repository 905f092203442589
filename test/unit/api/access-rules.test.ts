// Scoped tokens (CONTRACT.md, "Secure and deployable"): the admin token opens every call, the read token GETs
// only, authReads closes reads (the dashboard and /metrics too) but never /healthz. Pure rules first, then the
// router on a real loopback server.
import { createServer } from "node:http";
import type { AddressInfo } from "node:net";
import { afterEach, describe, expect, it } from "vitest";
import { accessNeeded, presentedAccess, type AccessRules } from "../../../src/api/access-rules.js";
import { handleRequest, type ApiBackend } from "../../../src/api/router.js";

const ADMIN = "admin-token-1";
const READ = "read-token-1";
const basic = (password: string, user = "any") => `Basic ${Buffer.from(`${user}:${password}`).toString("base64")}`;

describe("accessNeeded", () => {
  const open: AccessRules = { token: ADMIN, readToken: READ, authReads: false };
  const closed: AccessRules = { ...open, authReads: true };
  it("asks the admin token for writes, nothing for reads unless authReads, never anything for /healthz", () => {
    for (const m of ["POST", "PUT", "PATCH", "DELETE"]) expect(accessNeeded(m, "/v1/tasks", open)).toBe("admin");
    for (const p of ["/v1/status", "/metrics", "/", "/v1/tasks/x"]) {
      expect(accessNeeded("GET", p, open)).toBe("none");
      expect(accessNeeded("GET", p, closed)).toBe("read");
    }
    expect(accessNeeded("GET", "/healthz", closed)).toBe("none");
    expect(accessNeeded("GET", "/v1/snapshot", open)).toBe("admin"); // a backup holds every payload
    expect(accessNeeded("POST", "/healthz", closed)).toBe("none");
  });
});

describe("presentedAccess", () => {
  const rules: AccessRules = { token: ADMIN, readToken: READ, authReads: true };
  it("tells the admin token from the read token, as Bearer or as a Basic password", () => {
    expect(presentedAccess(`Bearer ${ADMIN}`, rules)).toBe("admin");
    expect(presentedAccess(`bearer   ${READ}`, rules)).toBe("read");
    expect(presentedAccess(basic(ADMIN), rules)).toBe("admin");
    expect(presentedAccess(basic(READ, ""), rules)).toBe("read");
  });
  it("gives nothing for a wrong, partial, missing or malformed token", () => {
    for (const h of [undefined, "", "Bearer", `Bearer ${ADMIN}x`, ADMIN, `Token ${ADMIN}`, basic(`${READ}x`), "Basic !!!", `Basic ${Buffer.from(ADMIN).toString("base64")}`]) {
      expect(presentedAccess(h, rules), String(h)).toBeNull();
    }
    expect(presentedAccess(`Bearer ${READ}`, { ...rules, readToken: null })).toBeNull();
  });
});

describe("the router's doors", () => {
  const servers: ReturnType<typeof createServer>[] = [];
  afterEach(async () => {
    await Promise.all(servers.splice(0).map((s) => new Promise((r) => s.close(r))));
  });

  async function serve(access: AccessRules): Promise<string> {
    const task = { id: "t", state: "pending" };
    const api = {
      token: access.token,
      access,
      status: () => ({ id: "n1" }),
      getTask: async () => task,
      submit: async () => ({ created: true, task }),
      metrics: async () => ({ contentType: "text/plain", body: "m 1\n" }),
      dashboard: () => "<html></html>",
    } as unknown as ApiBackend;
    const server = createServer((req, res) => void handleRequest(api, req, res));
    servers.push(server);
    await new Promise<void>((r) => server.listen(0, "127.0.0.1", r));
    return `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  }

  async function call(url: string, method: string, path: string, auth?: string): Promise<{ status: number; code?: string; challenge: string | null }> {
    const res = await fetch(url + path, {
      method,
      headers: { ...(auth ? { authorization: auth } : {}), ...(method === "POST" ? { "content-type": "application/json" } : {}) },
      ...(method === "POST" ? { body: JSON.stringify({ payload: 1 }) } : {}),
    });
    const text = await res.text();
    const code = res.headers.get("content-type")?.includes("json") ? (JSON.parse(text) as { error?: { code?: string } }).error?.code : undefined;
    return { status: res.status, ...(code ? { code } : {}), challenge: res.headers.get("www-authenticate") };
  }

  it("without authReads: reads open, writes need the admin token, the read token is 403 on a write", async () => {
    const url = await serve({ token: ADMIN, readToken: READ, authReads: false });
    expect((await call(url, "GET", "/v1/status")).status).toBe(200);
    expect((await call(url, "GET", "/metrics")).status).toBe(200);
    expect((await call(url, "POST", "/v1/tasks")).status).toBe(401);
    expect(await call(url, "POST", "/v1/tasks", `Bearer ${READ}`)).toMatchObject({ status: 403, code: "FORBIDDEN" });
    expect((await call(url, "POST", "/v1/tasks", `Bearer ${ADMIN}`)).status).toBe(201);
  });

  it("with authReads: every read needs a token (either), the dashboard offers Basic, /healthz stays open", async () => {
    const url = await serve({ token: ADMIN, readToken: READ, authReads: true });
    for (const path of ["/v1/status", "/v1/tasks/t", "/metrics", "/"]) {
      const refused = await call(url, "GET", path);
      expect(refused, path).toMatchObject({ status: 401, code: "UNAUTHORIZED" });
      expect(refused.challenge, path).toMatch(/Basic realm="raftsched"/);
      expect((await call(url, "GET", path, `Bearer ${READ}`)).status, path).toBe(200);
      expect((await call(url, "GET", path, `Bearer ${ADMIN}`)).status, path).toBe(200);
      expect((await call(url, "GET", path, `Bearer ${READ}-not`)).status, path).toBe(401);
    }
    expect((await call(url, "GET", "/", basic(READ))).status).toBe(200);
    expect((await call(url, "GET", "/healthz")).status).toBe(200);
    expect((await call(url, "POST", "/v1/tasks", `Bearer ${READ}`)).status).toBe(403);
    expect((await call(url, "POST", "/v1/tasks", basic(ADMIN))).status).toBe(201);
  });

  it("without a read token, a backend with only `token` keeps the old rule", async () => {
    const url = await serve({ token: ADMIN, readToken: null, authReads: false });
    expect((await call(url, "POST", "/v1/tasks", `Bearer ${READ}`)).status).toBe(401);
    expect((await call(url, "GET", "/v1/status")).status).toBe(200);
  });
});
