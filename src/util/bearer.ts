// The one bearer-token check of a node. Both doors that take the cluster token use it: the HTTP API's mutating
// calls (src/api/http-util.ts) and the peer WebSocket upgrade at /raft (src/transport/inbound-peers.ts). They used
// to carry a check each with different rules (the API wanted the exact prefix "Bearer ", the transport took any
// case), so the same header could open one door and not the other; one function keeps them from drifting again.
//
// The rule (RFC 7235 §2.1, RFC 6750 §2.1: credentials = "Bearer" 1*SP token):
// - the scheme "Bearer" is matched case-insensitively ("bearer", "BEARER" are the same scheme);
// - one or more spaces separate it from the token (tabs are tolerated too, as the transport always did);
// - whitespace around the whole value is ignored (HTTP strips it anyway, RFC 9110 §5.5);
// - the token is compared exactly (case-sensitive) and in constant time: both sides are hashed with SHA-256 first,
//   so timingSafeEqual always sees equal-length buffers and the time taken says nothing about the length or a
//   matching prefix of the expected token;
// - an empty expected token matches nothing (fail closed), nor does a missing header, another scheme or no token.
// Parsing is a linear scan, not a regular expression, so a long header of spaces costs linear time.
import { createHash, timingSafeEqual } from "node:crypto";

const SCHEME = "bearer";

/** The token of an `Authorization: Bearer <token>` header value, or null when the value is not of that form. */
function presentedBearerToken(header: string | undefined): string | null {
  if (typeof header !== "string") return null;
  let start = 0;
  let end = header.length;
  while (start < end && isBlank(header.charCodeAt(start))) start++;
  while (end > start && isBlank(header.charCodeAt(end - 1))) end--;
  let i = start + SCHEME.length;
  if (i >= end || header.slice(start, i).toLowerCase() !== SCHEME || !isBlank(header.charCodeAt(i))) return null;
  while (i < end && isBlank(header.charCodeAt(i))) i++;
  return i < end ? header.slice(i, end) : null;
}

/** True when `header` is `Bearer <expected>` under the rule above. */
export function bearerTokenMatches(header: string | undefined, expected: string): boolean {
  const presented = presentedBearerToken(header);
  // Hash and compare even when nothing usable was presented, so refusals take the same time as a wrong token.
  const equal = timingSafeEqual(sha256(presented ?? ""), sha256(expected));
  return presented !== null && expected.length > 0 && equal;
}

/** True when `presented` is `expected`, compared as bearerTokenMatches does (hashed, constant-time, fail closed). */
export function secretMatches(presented: string, expected: string): boolean {
  const equal = timingSafeEqual(sha256(presented), sha256(expected));
  return expected.length > 0 && equal;
}

function isBlank(code: number): boolean {
  return code === 0x20 || code === 0x09;
}

function sha256(text: string): Buffer {
  return createHash("sha256").update(text, "utf8").digest();
}
