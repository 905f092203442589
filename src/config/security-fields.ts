// The cluster file's security fields (CONTRACT.md, "Secure and deployable"): `tls`, `readToken`, `authReads`.
// Kept apart from cluster-file.ts so the rules for who may talk to a node read in one place.
//
// - `tls: { cert, key, ca? }` are file paths, resolved against the cluster file's folder (as `handler` is). Every
//   node url must then be https://: a node listens where its url says, and a cluster where some urls are plain
//   http:// would send the token in clear text to those, which is what TLS is for. The files are read when a node
//   starts (and again on SIGHUP), not here, so `raftsched status` works on a machine that holds only the CA.
// - `readToken` (optional) opens GETs only; the admin `token` opens everything.
// - `authReads: true` asks a token (either) on every GET, /metrics and the dashboard too; /healthz stays open.
import path from "node:path";
import { RaftschedError } from "../util/errors.js";

/** Paths of the PEM files; absolute once parsed. `ca` null: peers are not asked for certificates. */
export interface TlsFiles {
  readonly cert: string;
  readonly key: string;
  readonly ca: string | null;
}

export interface SecurityFields {
  readonly tls: TlsFiles | null;
  readonly readToken: string | null;
  readonly authReads: boolean;
}

/** A url scheme that does not match the file's `tls` setting: a stable code scripts can test for. */
export const URL_SCHEME_MISMATCH = "URL_SCHEME_MISMATCH";

const TLS_FIELDS = new Set(["cert", "key", "ca"]);

function bad(where: string, message: string): RaftschedError {
  return new RaftschedError("BAD_CONFIG", `${where}: ${message}`);
}

/** Parses the three fields from the raw cluster file object. `baseDir` resolves relative paths ("" = cwd). */
export function parseSecurityFields(raw: Record<string, unknown>, where: string, baseDir: string, adminToken: string): SecurityFields {
  const tls = raw.tls === undefined || raw.tls === null ? null : parseTls(raw.tls, where, baseDir);
  const readToken = process.env.RAFTSCHED_READ_TOKEN || raw.readToken || null;
  if (readToken !== null && (typeof readToken !== "string" || readToken.length < 8 || readToken.length > 256)) {
    throw bad(where, `"readToken" (or RAFTSCHED_READ_TOKEN) must be a string of 8–256 characters`);
  }
  if (readToken === adminToken) throw bad(where, `"readToken" must differ from "token" (it would open every call)`);
  const authReads = raw.authReads ?? false;
  if (typeof authReads !== "boolean") throw bad(where, `"authReads" must be true or false`);
  return { tls, readToken: readToken as string | null, authReads };
}

function parseTls(value: unknown, where: string, baseDir: string): TlsFiles {
  if (typeof value !== "object" || value === null || Array.isArray(value)) throw bad(where, `"tls" must be an object { cert, key, ca? }`);
  const o = value as Record<string, unknown>;
  for (const k of Object.keys(o)) if (!TLS_FIELDS.has(k)) throw bad(where, `"tls": unknown field "${k}"`);
  const file = (key: string, required: boolean): string | null => {
    const v = o[key];
    if (v === undefined && !required) return null;
    if (typeof v !== "string" || v.length === 0) throw bad(where, `"tls.${key}" must be the path of a PEM file`);
    return path.resolve(baseDir, v);
  };
  return { cert: file("cert", true)!, key: file("key", true)!, ca: file("ca", false) };
}

/** Throws URL_SCHEME_MISMATCH when a node url's scheme does not fit the file: https:// exactly when `tls` is set. */
export function checkUrlScheme(protocol: string, hasTls: boolean, at: string, url: string): void {
  if (hasTls && protocol !== "https:") {
    throw new RaftschedError(URL_SCHEME_MISMATCH, `${at}: "url" ${JSON.stringify(url)} is plain http:// but the file has "tls": use https://host:port`);
  }
  if (!hasTls && protocol !== "http:") {
    throw new RaftschedError(URL_SCHEME_MISMATCH, `${at}: "url" ${JSON.stringify(url)} is https:// but the file has no "tls" { cert, key, ca }`);
  }
}
