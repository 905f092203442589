// CORS for pages loaded from another member. The dashboard is served by every node; when the node a page came
// from dies, the page carries on with another member's API (its stream, task reads, cancel and retry), which the
// browser allows only if that member says so. A member says so for the origins of the cluster's own member urls
// and for no other: a web page from anywhere else gets no CORS headers, so a browser will not let it read this
// cluster's tasks or send it the token.
import type { IncomingMessage, ServerResponse } from "node:http";

const ALLOWED_METHODS = "GET, POST, DELETE";
const ALLOWED_HEADERS = "authorization, content-type";
const PREFLIGHT_MAX_AGE_S = 600;

/** The origin (scheme://host:port) of a url, null when it does not parse. */
export function originOf(url: string): string | null {
  try {
    return new URL(url).origin;
  } catch {
    return null;
  }
}

/** Adds the CORS headers when the request's Origin is a member's; answers a preflight from one (returns true:
 *  the request is answered). Anything else is left to the router untouched. */
export function answerMemberCors(req: IncomingMessage, res: ServerResponse, memberUrls: () => Iterable<string>): boolean {
  const origin = req.headers.origin;
  if (typeof origin !== "string" || !isMemberOrigin(origin, memberUrls())) return false;
  res.setHeader("access-control-allow-origin", origin);
  res.setHeader("vary", "Origin");
  if (req.method !== "OPTIONS" || req.headers["access-control-request-method"] === undefined) return false;
  res.writeHead(204, {
    "access-control-allow-methods": ALLOWED_METHODS,
    "access-control-allow-headers": ALLOWED_HEADERS,
    "access-control-max-age": String(PREFLIGHT_MAX_AGE_S),
    "content-length": "0",
  });
  res.end();
  return true;
}

export function isMemberOrigin(origin: string, memberUrls: Iterable<string>): boolean {
  for (const url of memberUrls) if (originOf(url) === origin) return true;
  return false;
}
