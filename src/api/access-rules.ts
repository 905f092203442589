// Who may make which call (CONTRACT.md, "Secure and deployable": tokens). Three doors:
// - /healthz is always open: a load balancer or a kubelet probes it without secrets;
// - a mutating call (POST, PUT, PATCH, DELETE) needs the admin `token`; the `readToken` there is 403 FORBIDDEN
//   (it is known but not enough), anything else 401;
// - a backup (GET /v1/snapshot) needs the admin token too: the file holds every task's payload and result;
// - any other call (GET, HEAD, …: /v1 reads, /metrics, the dashboard) is open, unless `authReads` asks for a
//   token: then either token opens it.
// A token travels as `Authorization: Bearer <token>`, or as the password of `Authorization: Basic` (any user name),
// so a browser can open the dashboard of an authReads cluster: a 401 on a read offers Basic, the browser asks once
// and resends the credentials on every call of the page. Every comparison is constant-time (src/util/bearer.ts).
import type { IncomingMessage } from "node:http";
import { bearerTokenMatches, secretMatches } from "../util/bearer.js";
import { RaftschedError } from "../util/errors.js";

export interface AccessRules {
  readonly token: string;
  readonly readToken: string | null;
  readonly authReads: boolean;
}

export type AccessNeeded = "none" | "read" | "admin";

const MUTATING = new Set(["POST", "PUT", "PATCH", "DELETE"]);
const ALWAYS_OPEN = new Set(["/healthz"]);
const ADMIN_READS = new Set(["/v1/snapshot"]);

/** The rules a cluster file sets. */
export function accessRulesOf(cfg: AccessRules): AccessRules {
  return { token: cfg.token, readToken: cfg.readToken, authReads: cfg.authReads };
}

/** What a call needs, from its method and path alone. */
export function accessNeeded(method: string, pathname: string, rules: AccessRules): AccessNeeded {
  if (ALWAYS_OPEN.has(pathname)) return "none";
  if (MUTATING.has(method) || ADMIN_READS.has(pathname)) return "admin";
  return rules.authReads ? "read" : "none";
}

/** The password of an `Authorization: Basic` value, or null. */
function basicPassword(header: string | undefined): string | null {
  if (typeof header !== "string") return null;
  const m = /^\s*basic\s+([A-Za-z0-9+/=]{1,2048})\s*$/i.exec(header);
  if (!m) return null;
  const decoded = Buffer.from(m[1]!, "base64").toString("utf8");
  const colon = decoded.indexOf(":");
  return colon < 0 ? null : decoded.slice(colon + 1);
}

/** Which token the request carries: "admin", "read", or null (none, or a wrong one). */
export function presentedAccess(header: string | undefined, rules: AccessRules): "admin" | "read" | null {
  const basic = basicPassword(header);
  const matches = (expected: string): boolean => (basic !== null ? secretMatches(basic, expected) : bearerTokenMatches(header, expected));
  // Both comparisons always run, so the time taken does not tell which token was close.
  const admin = matches(rules.token);
  const read = rules.readToken !== null && matches(rules.readToken);
  return admin ? "admin" : read ? "read" : null;
}

/** Throws UNAUTHORIZED (401) or FORBIDDEN (403) when the request may not make this call. */
export function checkAccess(req: IncomingMessage, method: string, pathname: string, rules: AccessRules): void {
  const needed = accessNeeded(method, pathname, rules);
  if (needed === "none") return;
  const has = presentedAccess(req.headers.authorization, rules);
  if (has === "admin" || (needed === "read" && has === "read")) return;
  if (has === "read") throw new RaftschedError("FORBIDDEN", `the read-only token may not ${method} ${pathname}: send the admin token`);
  const what = needed === "admin" ? "cluster token" : "cluster token or read token";
  throw new RaftschedError("UNAUTHORIZED", `missing or wrong token: send Authorization: Bearer <${what}>`, {
    // Reads offer Basic too, so a browser asks for the token (as the password) to open the dashboard.
    wwwAuthenticate: needed === "read" ? 'Bearer realm="raftsched", Basic realm="raftsched"' : 'Bearer realm="raftsched"',
  });
}
