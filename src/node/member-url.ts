// A member's url is where it listens: one port serves HTTP, the peer WebSocket (/raft) and the dashboard. Two
// members on one address make every peer dial the same process under two ids, and the links replace each other
// forever, so a membership change must never give one member's url to another (the cluster file refuses a
// duplicate port for the same reason). Urls are compared in a normal form so that spellings of one address match.

const DEFAULT_PORTS: Readonly<Record<string, string>> = { "http:": "80", "https:": "443" };

/** Why `raw` cannot be a member's url, or null. The API accepts what the cluster file accepts: <scheme>//host:port
 *  with an explicit port (1–65535), no credentials, path, query or fragment; a trailing slash is allowed. The scheme
 *  is the cluster's: https: exactly when its file has `tls` (src/config/security-fields.ts). */
export function memberUrlProblem(raw: string, scheme: "http:" | "https:" = "http:"): string | null {
  const form = `${scheme}//host:port`;
  if (!raw.startsWith(`${scheme}//`) || !/^https?:\/\/[^/\s]+:\d+\/?$/.test(raw)) return `must be ${form}`;
  let u: URL;
  try {
    u = new URL(raw);
  } catch {
    return `must be ${form}, got ${JSON.stringify(raw)} (not a valid URL)`;
  }
  if (u.username || u.password || u.search || u.hash || (u.pathname !== "/" && u.pathname !== "")) {
    return `must be ${form} with no credentials, path, query or fragment, got ${JSON.stringify(raw)}`;
  }
  // `new URL` drops a default port (":80"), and refuses anything above 65535; port 0 cannot be dialled.
  const port = u.port || DEFAULT_PORTS[u.protocol];
  if (!port || port === "0") return `must be ${form} with a port 1–65535, got ${JSON.stringify(raw)}`;
  return null;
}

/** The form member urls are compared in: scheme, lowercase host, explicit port (the scheme's default when
 *  absent), no trailing slash. `localhost` and `127.0.0.1` stay different (nothing else in the project equates
 *  them). Something that does not parse is compared as given, less a trailing slash. */
export function normalizeMemberUrl(raw: string): string {
  let u: URL;
  try {
    u = new URL(raw);
  } catch {
    return raw.replace(/\/+$/, "");
  }
  const port = u.port || DEFAULT_PORTS[u.protocol] || "";
  return `${u.protocol}//${u.hostname.toLowerCase()}${port ? `:${port}` : ""}`;
}

/** The member other than `id` that already uses `url` (compared normalized), or null. `members` lists the
 *  current members with the url each is known by (undefined when none is known). */
export function memberUrlOwner(url: string, id: string, members: Iterable<readonly [string, string | undefined]>): string | null {
  const wanted = normalizeMemberUrl(url);
  for (const [other, otherUrl] of members) {
    if (other !== id && otherUrl !== undefined && normalizeMemberUrl(otherUrl) === wanted) return other;
  }
  return null;
}
