// fast-check generators for the HTTP fuzz tests: ids, paths, query strings, headers and bodies, each mixing
// well-formed values (so requests get past the first check and exercise the deeper ones) with hostile ones.
import fc from "fast-check";

const ID_CHARS = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789._:-".split("");

/** A valid task id per the contract ([A-Za-z0-9._:-]{1,128}), minus "." and "..", which URL dot-segment
 *  normalisation makes unaddressable (a known problem, see http.test.ts). */
export const taskIdArb: fc.Arbitrary<string> = fc
  .string({ unit: fc.constantFrom(...ID_CHARS), minLength: 1, maxLength: 128 })
  .filter((id) => id !== "." && id !== "..");

/** Ids the API must refuse or never find: too long, unicode, path syntax, control characters, encodings. */
const TASK_ID_RE = /^[A-Za-z0-9._:-]{1,128}$/;
export const hostileIdArb: fc.Arbitrary<string> = fc.oneof(
  fc.string({ unit: fc.constantFrom(...ID_CHARS), minLength: 129, maxLength: 400 }),
  fc.string({ unit: "grapheme", minLength: 1, maxLength: 20 }).filter((s) => !TASK_ID_RE.test(s)),
  fc.string({ unit: "binary", minLength: 1, maxLength: 20 }).filter((s) => !TASK_ID_RE.test(s)),
  fc.constantFrom("", " ", "..", ".", "%2e%2e", "%2E", "a/b", "a%2Fb", "%00", "%", "%zz", "%E0%A4%A", "\u0000", "日本", "🦀", "a b", "a?b", "a#b", "-".repeat(129)),
);

/** How an id lands in a path: percent-encoded, raw, or double-encoded. */
export const idInPathArb = (id: fc.Arbitrary<string>): fc.Arbitrary<string> =>
  fc.tuple(id, fc.constantFrom("encode", "raw", "double")).map(([v, how]) =>
    how === "encode" ? encodeURIComponent(v) : how === "double" ? encodeURIComponent(encodeURIComponent(v)) : v,
  );

const anyIdInPath = idInPathArb(fc.oneof({ weight: 3, arbitrary: taskIdArb }, { weight: 2, arbitrary: hostileIdArb }));

/** Every route of the contract, with a generated id where it takes one. */
export const routePathArb: fc.Arbitrary<string> = fc.oneof(
  fc.constantFrom(
    "/v1/tasks",
    "/v1/status",
    "/v1/workers",
    "/v1/cluster",
    "/v1/cluster/members",
    "/v1/cluster/transfer-leader",
    "/v1/debug/faults",
    "/healthz",
    "/metrics",
    "/",
  ),
  anyIdInPath.map((id) => `/v1/tasks/${id}`),
  fc.tuple(anyIdInPath, fc.constantFrom("complete", "fail", "cancel", "retry", "")).map(([id, verb]) => `/v1/tasks/${id}/${verb}`),
  anyIdInPath.map((id) => `/v1/cluster/members/${id}`),
);

const queryValueArb: fc.Arbitrary<string> = fc.oneof(
  fc.constantFrom("true", "false", "1", "0", "", "yes", "pending", "assigned", "completed", "dead", "cancelled", "n1", "-1", "1001", "1e3", "0x10", "NaN", "%", "%zz"),
  fc.integer({ min: -5, max: 2000 }).map(String),
  taskIdArb.map(encodeURIComponent),
  fc.string({ maxLength: 30 }).map(encodeURIComponent),
);
const queryKeyArb = fc.constantFrom("stale", "state", "worker", "limit", "after", "x", "__proto__", "constructor", "");

/** A query string: nothing, the list/read parameters with random values (repeats included), or garbage. */
export const queryArb: fc.Arbitrary<string> = fc.oneof(
  { weight: 3, arbitrary: fc.constant("") },
  {
    weight: 3,
    arbitrary: fc
      .array(fc.tuple(queryKeyArb, queryValueArb), { minLength: 1, maxLength: 4 })
      .map((kv) => `?${kv.map(([k, v]) => `${k}=${v}`).join("&")}`),
  },
  { weight: 1, arbitrary: fc.string({ maxLength: 40 }).map((s) => `?${s}`) },
);

/** Structural mutations of a path: doubled or trailing slashes, dot segments, case, stray percent signs. */
export const mutatedPathArb: fc.Arbitrary<string> = fc
  .tuple(routePathArb, fc.constantFrom("none", "none", "none", "double-slash", "trailing-slash", "dot-dot", "dot", "upper", "percent", "prefix", "unicode"), queryArb)
  .map(([p, how, q]) => {
    switch (how) {
      case "double-slash":
        return `${p.replace("/", "//")}${q}`;
      case "trailing-slash":
        return `${p}/${q}`;
      case "dot-dot":
        return `${p}/../tasks${q}`;
      case "dot":
        return `/./${p.slice(1)}${q}`;
      case "upper":
        return `${p.toUpperCase()}${q}`;
      case "percent":
        return `${p.replace(/\/(\w)/, "/%$1")}${q}`;
      case "prefix":
        return `/v2${p}${q}`;
      case "unicode":
        return `${p}/é${q}`;
      default:
        return `${p}${q}`;
    }
  });

export const methodArb: fc.Arbitrary<string> = fc.oneof(
  { weight: 10, arbitrary: fc.constantFrom("GET", "POST", "DELETE") },
  { weight: 2, arbitrary: fc.constantFrom("PUT", "PATCH", "HEAD", "OPTIONS") },
  { weight: 1, arbitrary: fc.constantFrom("post", "FOO", "CONNECT", "TRACE", "PROPFIND") },
);

/** Whether the API must accept `auth` as carrying `token`: an independent statement of the rule of
 *  src/util/bearer.ts (RFC 7235/6750). The scheme is case-insensitive and blanks after it and around the value
 *  do not count (HTTP strips the outer ones anyway, RFC 9110 §5.5); the token must be exactly `token`. */
export function authAccepted(auth: string | null | undefined, token: string): boolean {
  const m = /^bearer[ \t]+(.*)$/i.exec((auth ?? "").replace(/^[ \t]+|[ \t]+$/g, ""));
  if (m !== null) return m[1] === token;
  // The token as the password of Basic (any user name) is accepted too, so a browser can open an authReads
  // cluster's dashboard (src/api/access-rules.ts).
  const basic = /^\s*basic\s+([A-Za-z0-9+/=]{1,2048})\s*$/i.exec(auth ?? "");
  if (basic === null) return false;
  const decoded = Buffer.from(basic[1]!, "base64").toString("utf8");
  return decoded.includes(":") && decoded.slice(decoded.indexOf(":") + 1) === token;
}

/** Authorization header values: the right one (under `token`), near misses, and none (null). */
export function authArb(token: string): fc.Arbitrary<string | null> {
  return fc.oneof(
    { weight: 4, arbitrary: fc.constant(`Bearer ${token}`) },
    {
      weight: 3,
      arbitrary: fc.constantFrom(
        null,
        "",
        "Bearer",
        "Bearer ",
        `bearer ${token}`,
        `BEARER ${token}`,
        `Bearer  ${token}`,
        `Bearer ${token} `,
        `Bearer ${token}x`,
        `Bearer ${token.slice(0, -1)}`,
        `Basic ${Buffer.from(`user:${token}`).toString("base64")}`,
        token,
        `Bearer ${token.toUpperCase()}`,
        `Bearer ${"A".repeat(5000)}`,
      ),
    },
    { weight: 1, arbitrary: fc.string({ maxLength: 40 }).map((s) => `Bearer ${s}`) },
  );
}

export const contentTypeArb: fc.Arbitrary<string | null> = fc.constantFrom(
  "application/json",
  "application/json",
  null,
  "text/plain",
  "application/json; charset=latin1",
  "multipart/form-data; boundary=x",
  "application/x-www-form-urlencoded",
  "application/msgpack",
  ";;;",
);

/** Extra headers a client might add; x-raftsched-forwarded claims the request was forwarded by a follower. */
export const extraHeadersArb: fc.Arbitrary<Record<string, string>> = fc.dictionary(
  fc.constantFrom("x-raftsched-forwarded", "x-raftsched-node", "accept", "accept-encoding", "x-forwarded-for", "cookie", "origin", "x-fuzz"),
  fc.oneof(fc.constantFrom("1", "", "*/*", "gzip", "n1", "127.0.0.1"), fc.string({ unit: fc.integer({ min: 0x20, max: 0x7e }).map((c) => String.fromCharCode(c)), maxLength: 50 })),
  { maxKeys: 3 },
);

/** A payload for a real submit; top-level sleepMs/fail keys are left out so the built-in handler finishes at once. */
export const payloadArb: fc.Arbitrary<unknown> = fc
  .jsonValue({ maxDepth: 3 })
  .filter((v) => !(typeof v === "object" && v !== null && !Array.isArray(v) && ("sleepMs" in v || "fail" in v)));

const numberishArb: fc.Arbitrary<unknown> = fc.oneof(
  fc.integer({ min: -5, max: 200 }),
  fc.constantFrom(0, 1, 3, 100, 101, -1, 1.5, 1e21, Number.MAX_SAFE_INTEGER, Number.MAX_SAFE_INTEGER + 2, -0, "3", null, true, [], {}),
  fc.double(),
);

/** Bodies shaped like each endpoint's, with every field drawn from good and bad values, plus unknown fields. */
export const submitBodyArb: fc.Arbitrary<Record<string, unknown>> = fc.record(
  {
    id: fc.oneof(taskIdArb, hostileIdArb, numberishArb),
    payload: fc.oneof(payloadArb, fc.constant(undefined)),
    maxAttempts: numberishArb,
    priority: fc.oneof(numberishArb, fc.constantFrom(1_000_000, 1_000_001, -1_000_000, -1_000_001)),
    extra: fc.jsonValue({ maxDepth: 1 }),
  },
  { requiredKeys: [] },
);

export const attemptBodyArb: fc.Arbitrary<Record<string, unknown>> = fc.record(
  {
    attempt: numberishArb,
    result: fc.jsonValue({ maxDepth: 2 }),
    error: fc.jsonValue({ maxDepth: 2 }),
    extra: fc.jsonValue({ maxDepth: 1 }),
  },
  { requiredKeys: [] },
);

/** Member bodies whose url is always invalid, so a fuzzed request can never really add a member (adding an
 *  unreachable voter would take the single-node cluster's quorum away from the rest of the suite). */
export const memberBodyArb: fc.Arbitrary<Record<string, unknown>> = fc.record(
  {
    id: fc.oneof(taskIdArb, hostileIdArb, numberishArb),
    url: fc.constantFrom("https://127.0.0.1:1", "http://127.0.0.1", "ftp://h:1", "http://a b:1", "http://h:port", "", 5, null, ["http://h:1"]),
    role: fc.constantFrom("voter", "learner", "leader", "", 1, null),
    extra: fc.jsonValue({ maxDepth: 1 }),
  },
  { requiredKeys: ["url"] },
);

export const transferBodyArb: fc.Arbitrary<Record<string, unknown>> = fc.record(
  { to: fc.oneof(fc.constantFrom("n1", "n2", "", null, 7), hostileIdArb), extra: fc.jsonValue({ maxDepth: 1 }) },
  { requiredKeys: [] },
);

/** One of the endpoint body shapes, or any JSON value at all. */
export const jsonBodyArb: fc.Arbitrary<unknown> = fc.oneof(
  submitBodyArb,
  attemptBodyArb,
  memberBodyArb,
  transferBodyArb,
  fc.jsonValue({ maxDepth: 3 }),
);

/** Serialised bodies: JSON, JSON mutated at a random position (truncated, a byte replaced or inserted), raw text,
 *  or nothing. */
export const bodyTextArb: fc.Arbitrary<string | undefined> = fc.oneof(
  { weight: 5, arbitrary: jsonBodyArb.map((v) => JSON.stringify(v) ?? "null") },
  {
    weight: 3,
    arbitrary: fc
      .tuple(jsonBodyArb.map((v) => JSON.stringify(v) ?? "null"), fc.nat(), fc.constantFrom("truncate", "replace", "insert"), fc.constantFrom("{", "}", "\"", ",", ":", "\\", "\u0000", "é", "]", "9", "\n", "\uFFFD"))
      .map(([text, pos, how, ch]) => {
        const at = text.length === 0 ? 0 : pos % text.length;
        if (how === "truncate") return text.slice(0, at);
        if (how === "replace") return `${text.slice(0, at)}${ch}${text.slice(at + 1)}`;
        return `${text.slice(0, at)}${ch}${text.slice(at)}`;
      }),
  },
  { weight: 1, arbitrary: fc.string({ maxLength: 60 }) },
  { weight: 1, arbitrary: fc.constantFrom(undefined, "", " ", "null", "[]", "\"x\"", "1", "{", "{}", "{\"payload\":", "\uFEFF{}", "{\"a\":1,\"a\":2}") },
);
