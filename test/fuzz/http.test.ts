// HTTP fuzzing of one real node (a single-voter cluster, which elects itself at once): random and mutated paths,
// query strings, headers and bodies against every route of the HTTP API (README, "HTTP API"). Every answer must be one of the
// contract's statuses with { error: { code, message } } on errors, never a 500 and never a hang; the process must
// keep serving; requests the API rejects must change nothing; and valid submits behave like the model (201 once,
// 200 for the same id afterwards).
import { sameJson } from "../../src/node/id-reuse.js";
import type { JsonValue } from "../../src/scheduler/types.js";
import fc from "fast-check";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import {
  CONTRACT_STATUSES,
  FuzzNode,
  HangError,
  hasErrorShape,
  rawRequest,
  sleep,
  type RawAnswer,
  type RawRequest,
} from "./harness.js";
import {
  attemptBodyArb,
  authAccepted,
  authArb,
  bodyTextArb,
  contentTypeArb,
  extraHeadersArb,
  hostileIdArb,
  idInPathArb,
  memberBodyArb,
  methodArb,
  mutatedPathArb,
  payloadArb,
  submitBodyArb,
  taskIdArb,
  transferBodyArb,
} from "./http-arbitraries.js";

const REQUEST_TIMEOUT_MS = 5_000;
const MUTATING = new Set(["POST", "PUT", "PATCH", "DELETE"]);
/** A task that stays assigned (attempt 1) for the whole file: the target of stale complete/fail calls. */
const LONG_TASK = "fz-long";

let node: FuzzNode;
const statusCounts = new Map<string, number>();

beforeAll(async () => {
  node = await FuzzNode.start();
  await waitFor("n1 to lead", 15_000, async () => (await node.status()).role === "leader");
  const r = await node.json("POST", "/v1/tasks", { id: LONG_TASK, payload: { sleepMs: 3_600_000 } });
  expect(r.status).toBe(201);
  await waitFor(`${LONG_TASK} to be assigned`, 10_000, async () => {
    const t = await node.json("GET", `/v1/tasks/${LONG_TASK}`);
    return (t.body as { state?: string }).state === "assigned";
  });
});

afterAll(async () => {
  console.log(`http fuzz answers by status: ${[...statusCounts].sort().map(([k, v]) => `${k}×${v}`).join(" ")}`);
  await node?.stop();
});

async function waitFor(what: string, timeoutMs: number, check: () => Promise<boolean>): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    if (await check().catch(() => false)) return;
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await sleep(50);
  }
}

/** Waits until nothing commits for quietMs (tasks from earlier batches finished), then returns the state. */
async function quiescentState(quietMs = 800): Promise<{ commitIndex: number; term: number; tasks: string }> {
  let last = await node.status();
  let since = Date.now();
  const deadline = Date.now() + 20_000;
  while (Date.now() - since < quietMs) {
    if (Date.now() > deadline) throw new Error("the node never went quiet");
    await sleep(100);
    const s = await node.status();
    if (s.commitIndex !== last.commitIndex) since = Date.now();
    last = s;
  }
  return { commitIndex: last.commitIndex, term: last.term, tasks: await node.taskSnapshot() };
}

async function expectServing(): Promise<void> {
  expect(node.alive, `node exited: ${JSON.stringify(node.exit)}\n${node.logText().slice(-3000)}`).toBe(true);
  const h = await rawRequest(node.port, { method: "GET", path: "/healthz", timeoutMs: REQUEST_TIMEOUT_MS });
  expect(h.status).toBe(200);
}

/** Node's HTTP parser refuses some requests (bytes above 0x7f or spaces in the path, bad methods, a malformed
 *  content-length, a head over 16 KiB) before the router sees them; the node's clientError handler answers those
 *  with the contract's JSON error shape (400 BAD_REQUEST, 431 HEADERS_TOO_LARGE). What still bypasses it: an
 *  unknown Expect (417, empty body) and CONNECT (dropped). Recognised and counted here. */
function isParserRefusal(a: RawAnswer): boolean {
  if (a.status === 0) return true;
  return a.text === "" && a.headers["content-type"] === undefined && [400, 417, 431, 505].includes(a.status);
}

function count(a: RawAnswer): void {
  const key = a.status === 0 ? "CONNECT-dropped" : isParserRefusal(a) ? `${a.status}(parser)` : String(a.status);
  statusCounts.set(key, (statusCounts.get(key) ?? 0) + 1);
}

/** The checks every answer must pass, whatever the request. */
function checkAnswer(req: RawRequest, a: RawAnswer): void {
  const where = `${req.method} ${req.path.slice(0, 200)} → ${a.status} ${a.text.slice(0, 300)}`;
  count(a);
  expect(a.status, where).not.toBe(500);
  if (isParserRefusal(a)) return;
  expect(CONTRACT_STATUSES.has(a.status), where).toBe(true);
  if (req.method === "HEAD") return;
  if (a.status >= 400) {
    expect(hasErrorShape(a.body), where).toBe(true);
    expect(a.headers["content-type"], where).toMatch(/^application\/json/);
    if (a.status === 503) expect(a.headers["retry-after"], where).toBeDefined();
  } else if (a.headers["content-type"]?.startsWith("application/json")) {
    expect(a.body, where).toBeDefined();
  } else {
    // Only the dashboard (any path the URL parser resolves to "/", such as "//x") and /metrics are not JSON.
    expect(a.headers["content-type"], where).toMatch(/^(text\/html|text\/plain)/);
  }
}

async function send(req: RawRequest): Promise<RawAnswer> {
  try {
    return await rawRequest(node.port, { timeoutMs: REQUEST_TIMEOUT_MS, ...req });
  } catch (err) {
    if (err instanceof HangError) throw new Error(`HANG: ${err.message}`);
    // Node's server drops a CONNECT (it has no 'connect' listener) without an answer. Known deviation, reported;
    // recorded as status 0 and counted with the parser's refusals.
    if (req.method === "CONNECT") return { status: 0, headers: {}, text: "", body: undefined, elapsedMs: 0 };
    throw new Error(`no answer to ${req.method} ${req.path.slice(0, 200)}: ${(err as Error).message}`);
  }
}

const requestArb = (token: string): fc.Arbitrary<RawRequest & { auth: string | null; bodyText: string | undefined }> =>
  fc
    .record({
      method: methodArb,
      path: mutatedPathArb,
      auth: authArb(token),
      contentType: contentTypeArb,
      extra: extraHeadersArb,
      bodyText: bodyTextArb,
    })
    .filter((r) => !r.path.includes(LONG_TASK))
    .map(({ method, path, auth, contentType, extra, bodyText }) => ({
      method,
      path,
      auth,
      bodyText,
      headers: { ...extra, authorization: auth, "content-type": contentType },
      ...(bodyText === undefined ? {} : { body: bodyText }),
    }));

describe("HTTP fuzz on a single-node cluster", () => {
  it("answers random and mutated requests on every route with a contract status and error shape", async () => {
    await fc.assert(
      fc.asyncProperty(requestArb(node.token), async (req) => {
        const a = await send(req);
        checkAnswer(req, a);
        if (isParserRefusal(a)) return;
        const validAuth = authAccepted(req.auth, node.token);
        const where = `${req.method} ${req.path.slice(0, 200)} auth=${JSON.stringify(req.auth)} → ${a.status} ${a.text.slice(0, 200)}`;
        if (MUTATING.has(req.method) && !validAuth) {
          // The token is checked before anything else about a mutating call (a malformed URL aside).
          expect([401, 400], where).toContain(a.status);
          if (a.status === 400) expect((a.body as { error: { code: string } }).error.code, where).toBe("BAD_REQUEST");
        }
        if (MUTATING.has(req.method) && validAuth && req.bodyText !== undefined) {
          const seen = Buffer.from(req.bodyText, "utf8").toString("utf8");
          let parses = true;
          try {
            if (seen.length > 0) JSON.parse(seen);
          } catch {
            parses = false;
          }
          if (!parses) expect((a.body as { error?: { code?: string } }).error?.code, where).toMatch(/^(BAD_JSON|BAD_REQUEST)$/);
        }
      }),
      { seed: 0x5eed_0001, numRuns: 400 },
    );
    await expectServing();
  });

  it("changes no state on a batch of rejected requests", async () => {
    const token = node.token;
    const auth = { authorization: `Bearer ${token}`, "content-type": "application/json" };
    const unknownId = taskIdArb.map((id) => `nx-${id}`.slice(0, 128));
    // mayLog: refused by the state machine, not before the log. complete/fail/cancel are decided in log order
    // (a pending assign may make a higher attempt current, a pending submit may create the task), so these are
    // proposed and applied as no-ops: the commit index grows but the task table must not change.
    const rejectedArb: fc.Arbitrary<{ req: RawRequest; expect: readonly number[]; mayLog?: boolean }> = fc.oneof(
      // Mutating calls without the right token, even with a perfectly valid body.
      fc
        .record({
          auth: authArb(token).filter((a) => !authAccepted(a, token)),
          route: fc.constantFrom("/v1/tasks", `/v1/tasks/${LONG_TASK}/complete`, `/v1/tasks/${LONG_TASK}/cancel`, "/v1/cluster/members", "/v1/cluster/transfer-leader", "/v1/cluster/members/n1"),
          id: taskIdArb,
        })
        .map(({ auth: a, route, id }) => ({
          req: {
            method: route.endsWith("/n1") ? "DELETE" : "POST",
            path: route,
            headers: { authorization: a, "content-type": "application/json" },
            body: JSON.stringify(route === "/v1/tasks" ? { id, payload: {} } : route.endsWith("/complete") ? { attempt: 1 } : route.endsWith("members") ? { id, url: "http://127.0.0.1:1", role: "voter" } : {}),
          },
          expect: [401],
        })),
      // Submits with at least one field the contract refuses.
      fc
        .tuple(
          submitBodyArb,
          fc.constantFrom<[string, unknown]>(
            ["id", ""],
            ["id", "a/b"],
            ["id", "x".repeat(129)],
            ["id", 7],
            ["maxAttempts", 0],
            ["maxAttempts", 101],
            ["maxAttempts", 1.5],
            ["priority", 1_000_001],
            ["priority", "1"],
            ["payload", undefined],
            ["unknownField", 1],
            ["payload", JSON.parse(`${"[".repeat(70)}${"]".repeat(70)}`)],
          ),
        )
        .map(([body, [k, v]]) => {
          const b: Record<string, unknown> = { payload: {}, ...body, [k]: v };
          if (k === "payload" && v === undefined) delete b.payload;
          return { req: { method: "POST", path: "/v1/tasks", headers: auth, body: JSON.stringify(b) }, expect: [400] };
        }),
      // Bodies that are not JSON objects, on every mutating route.
      fc
        .tuple(
          fc.constantFrom("/v1/tasks", `/v1/tasks/${LONG_TASK}/complete`, `/v1/tasks/${LONG_TASK}/fail`, `/v1/tasks/${LONG_TASK}/cancel`, "/v1/cluster/members", "/v1/cluster/transfer-leader"),
          fc.constantFrom("{", "[]", "1", "\"s\"", "null", "{\"attempt\":1,}", "\uFEFF{}", "{'a':1}", "nul", "{\"payload\":1}}"),
        )
        .map(([path, body]) => ({ req: { method: "POST", path, headers: auth, body }, expect: [400] })),
      // Stale or malformed attempts on the long-running task (its current attempt is 1).
      fc
        .tuple(fc.constantFrom("complete", "fail"), fc.oneof(fc.integer({ min: 2, max: 1_000_000 }), fc.constantFrom(0, -1, 1.5, "1", null, Number.MAX_SAFE_INTEGER + 2)), attemptBodyArb)
        .map(([verb, attempt, body]) => {
          const b: Record<string, unknown> = { ...body, attempt };
          delete b.extra;
          if (verb === "complete") delete b.error;
          else delete b.result;
          return { req: { method: "POST", path: `/v1/tasks/${LONG_TASK}/${verb}`, headers: auth, body: JSON.stringify(b) }, expect: [400, 409], mayLog: true };
        }),
      // Calls on tasks that do not exist.
      fc.tuple(unknownId, fc.constantFrom("complete", "fail", "cancel")).map(([id, verb]) => ({
        req: { method: "POST", path: `/v1/tasks/${encodeURIComponent(id)}/${verb}`, headers: auth, body: verb === "cancel" ? "" : JSON.stringify({ attempt: 1 }) },
        expect: [404],
        mayLog: true,
      })),
      // Hostile ids in the path of a mutating call.
      fc.tuple(idInPathArb(hostileIdArb), fc.constantFrom("complete", "fail", "cancel")).map(([id, verb]) => ({
        req: { method: "POST", path: `/v1/tasks/${id}/${verb}`, headers: auth, body: JSON.stringify({ attempt: 1 }) },
        expect: [400, 404, 405],
      })),
      // Membership calls that must be refused: invalid bodies, unknown members, the last voter.
      memberBodyArb.map((b) => ({ req: { method: "POST", path: "/v1/cluster/members", headers: auth, body: JSON.stringify(b) }, expect: [400] })),
      fc.oneof(unknownId, fc.constant("n1")).map((id) => ({
        req: { method: "DELETE", path: `/v1/cluster/members/${encodeURIComponent(id)}`, headers: auth },
        expect: id === "n1" ? [400] : [400, 404],
      })),
      transferBodyArb
        .filter((b) => b.to !== "n1")
        .map((b) => ({ req: { method: "POST", path: "/v1/cluster/transfer-leader", headers: auth, body: JSON.stringify(b) }, expect: [400, 409] })),
      // Declared bodies over the limit, answered before the body is sent.
      fc.integer({ min: 1024 * 1024 + 1, max: 2 ** 40 }).map((n) => ({
        req: { method: "POST", path: "/v1/tasks", headers: auth, body: "", contentLength: n, headOnly: true },
        expect: [413],
      })),
      // Unknown routes and methods.
      fc.constantFrom("/v1/tasks/a/b/c", "/v1/task", "/v2/tasks", "/v1/status", "/v1/debug/faults", "/healthz/x").map((path) => ({
        req: { method: "POST", path, headers: auth, body: "{}" },
        expect: [404, 405],
      })),
      fc.constantFrom("PUT", "PATCH").map((method) => ({ req: { method, path: "/v1/tasks", headers: auth, body: "{}" }, expect: [405] })),
    );

    const before = await quiescentState();
    let logged = 0;
    await fc.assert(
      fc.asyncProperty(rejectedArb, async ({ req, expect: statuses, mayLog }) => {
        const commitBefore = (await node.status()).commitIndex;
        const a = await send(req);
        const where = `${req.method} ${req.path.slice(0, 200)} ${String(req.body).slice(0, 200)} → ${a.status} ${a.text.slice(0, 200)}`;
        checkAnswer(req, a);
        expect(statuses, where).toContain(a.status);
        // Refused before the log: nothing proposed. (Single voter: a proposal commits before the answer.)
        const commitAfter = (await node.status()).commitIndex;
        if (!mayLog) expect(commitAfter, `${where}: the commit index moved`).toBe(commitBefore);
        logged += commitAfter - commitBefore;
      }),
      { seed: 0x5eed_0002, numRuns: 300 },
    );
    await expectServing();
    const after = await quiescentState(300);
    console.log(`rejected batch: ${after.commitIndex - before.commitIndex} no-op entries committed by state-machine refusals (${logged} seen per request)`);
    expect(after.term).toBe(before.term);
    expect(after.tasks).toBe(before.tasks);
    const long = await node.json("GET", `/v1/tasks/${LONG_TASK}`);
    expect(long.body).toMatchObject({ state: "assigned", attempt: 1 });
  });

  it("model check: a valid submit answers 201 once, then 200 with the same task for the same id", async () => {
    const seen = new Map<string, { createdIndex: number; payload: unknown }>();
    await fc.assert(
      fc.asyncProperty(
        taskIdArb.filter((id) => id !== LONG_TASK),
        payloadArb,
        fc.option(fc.integer({ min: 1, max: 100 }), { nil: undefined }),
        fc.option(fc.integer({ min: -1_000_000, max: 1_000_000 }), { nil: undefined }),
        payloadArb,
        async (id, payload, maxAttempts, priority, otherPayload) => {
          const body = { id, payload, ...(maxAttempts === undefined ? {} : { maxAttempts }), ...(priority === undefined ? {} : { priority }) };
          const first = await node.json("POST", "/v1/tasks", body);
          const known = seen.get(id);
          expect(first.status, `${id}: ${first.text.slice(0, 200)}`).toBe(known ? 200 : 201);
          const t = first.body as { id: string; payload: unknown; createdIndex: number; maxAttempts: number; priority: number };
          expect(t.id).toBe(id);
          if (known) {
            expect(t.createdIndex).toBe(known.createdIndex);
            expect(t.payload).toEqual(known.payload);
          } else {
            expect(t.payload).toEqual(payload);
            expect(t.maxAttempts).toBe(maxAttempts ?? 3);
            expect(t.priority).toBe(priority ?? 0);
            seen.set(id, { createdIndex: t.createdIndex, payload: t.payload });
          }
          // The same id again creates nothing and answers 200 with the task, whatever the body (the contract);
          // with onIdReuse "reject", another body (payload, or maxAttempts/priority left at defaults) is 409 ID_REUSED.
          const again = await node.json("POST", "/v1/tasks", { id, payload: otherPayload });
          expect(again.status).toBe(200);
          expect((again.body as { createdIndex: number }).createdIndex).toBe(t.createdIndex);
          const strict = await node.json("POST", "/v1/tasks", { id, payload: otherPayload, onIdReuse: "reject" });
          if (sameJson(otherPayload as JsonValue, t.payload as JsonValue) && t.maxAttempts === 3 && t.priority === 0) {
            expect(strict.status).toBe(200);
          } else {
            expect(strict.status).toBe(409);
            expect((strict.body as { error: { code: string } }).error.code).toBe("ID_REUSED");
          }
          const same = await node.json("POST", "/v1/tasks", body);
          expect(same.status).toBe(200);
          expect((same.body as { createdIndex: number }).createdIndex).toBe(t.createdIndex);
          expect((same.body as { payload: unknown }).payload).toEqual(seen.get(id)!.payload);
          // And it is readable under its percent-encoded name, linearizably and from local state.
          for (const q of ["", "?stale=true"]) {
            const g = await node.json("GET", `/v1/tasks/${encodeURIComponent(id)}${q}`);
            expect(g.status).toBe(200);
            expect((g.body as { id: string }).id).toBe(id);
          }
        },
      ),
      { seed: 0x5eed_0003, numRuns: 120 },
    );
    await expectServing();
  });

  it("answers 401 to a mutating call without the token before reading its body", async () => {
    for (const headers of [{} as Record<string, string>, { authorization: "Bearer wrong" }, { authorization: `bearer ${node.token.toUpperCase()}` }]) {
      // A declared 50 GB body that never comes: the answer can only arrive if nothing waited for the body.
      const declared = await send({ method: "POST", path: "/v1/tasks", headers, contentLength: 50_000_000_000, headOnly: true, body: "" });
      expect(declared.status).toBe(401);
      expect(hasErrorShape(declared.body)).toBe(true);
      const chunked = await send({ method: "POST", path: "/v1/tasks", headers, chunked: true, headOnly: true, body: "" });
      expect(chunked.status).toBe(401);
      const del = await send({ method: "DELETE", path: "/v1/cluster/members/n1", headers, contentLength: 10_000, headOnly: true, body: "" });
      expect(del.status).toBe(401);
    }
    await expectServing();
  });

  it("takes the Bearer scheme in any case (RFC 7235 §2.1), the token only exactly", async () => {
    for (const [i, scheme] of ["bearer", "BEARER", "Bearer"].entries()) {
      const headers = { authorization: `${scheme} ${node.token}`, "content-type": "application/json" };
      const a = await send({ method: "POST", path: "/v1/tasks", headers, body: JSON.stringify({ id: `fz-scheme-${i}`, payload: {} }) });
      expect(a.status, scheme).toBe(201);
    }
    const wrongCase = { authorization: `Bearer ${node.token.toUpperCase()}`, "content-type": "application/json" };
    const refused = await send({ method: "POST", path: "/v1/tasks", headers: wrongCase, body: JSON.stringify({ id: "fz-scheme-x", payload: {} }) });
    expect(refused.status).toBe(401);
    expect((refused.body as { error: { code: string } }).error.code).toBe("UNAUTHORIZED");
  });

  it("answers 413 to bodies over 1 MiB, declared or streamed, and stays up", async () => {
    const auth = { authorization: `Bearer ${node.token}`, "content-type": "application/json" };
    const before = await quiescentState(300);
    const overLimitJson = JSON.stringify({ id: "fz-too-big", payload: "x".repeat(1024 * 1024) });
    const exactlyAtLimit = 1024 * 1024;
    // keep-alive, as real clients send: with Connection: close, a server answering before it has read the whole
    // body closes with unread input and the kernel's RST can destroy the answer in flight (TCP, not raftsched).
    const keepAlive = { ...auth, connection: "keep-alive" };
    for (const req of [
      { method: "POST", path: "/v1/tasks", headers: auth, body: "", contentLength: exactlyAtLimit + 1, headOnly: true },
      { method: "POST", path: "/v1/tasks", headers: keepAlive, body: overLimitJson },
      { method: "POST", path: "/v1/tasks", headers: keepAlive, body: overLimitJson, chunked: true },
      { method: "POST", path: `/v1/tasks/${LONG_TASK}/complete`, headers: keepAlive, body: JSON.stringify({ attempt: 1, result: "y".repeat(2 * 1024 * 1024) }), chunked: true },
      { method: "POST", path: "/v1/cluster/members", headers: keepAlive, body: Buffer.alloc(3 * 1024 * 1024, 0x7b) },
    ] satisfies RawRequest[]) {
      const a = await send({ ...req, timeoutMs: 15_000 });
      checkAnswer(req, a);
      expect(a.status, `${req.path} chunked=${String("chunked" in req)}`).toBe(413);
      expect((a.body as { error: { code: string } }).error.code).toBe("BODY_TOO_LARGE");
    }
    await expectServing();
    const after = await quiescentState(300);
    expect(after).toEqual(before);
  });

  it("survives content-length lies: shorter and longer than the body, negative, non-numeric", async () => {
    const auth = { authorization: `Bearer ${node.token}`, "content-type": "application/json" };
    const body = JSON.stringify({ id: "fz-cl-lie", payload: { a: 1 } });
    // Shorter: the node reads a truncated JSON document (400) and the rest is the next "request" on the socket.
    const shorter = await send({ method: "POST", path: "/v1/tasks", headers: auth, body, contentLength: 10 });
    checkAnswer({ method: "POST", path: "/v1/tasks" }, shorter);
    expect(shorter.status).toBe(400);
    for (const cl of ["-1", "abc", "1e3", "0x10", " 12", "99999999999999999999999"]) {
      const a = await send({ method: "POST", path: "/v1/tasks", headers: auth, body, contentLength: cl });
      checkAnswer({ method: "POST", path: "/v1/tasks" }, a);
      expect([400, 413]).toContain(a.status);
    }
    // Longer than what is sent: the node waits for the rest (a client problem, bounded by the server's
    // request timeout); it must neither answer wrongly nor suffer when the client gives up.
    const pending = await rawRequest(node.port, { method: "POST", path: "/v1/tasks", headers: auth, body, contentLength: body.length + 100, timeoutMs: 500 }).then(
      (a) => a,
      (err: Error) => err,
    );
    expect(pending).toBeInstanceOf(HangError);
    await expectServing();
    const g = await node.json("GET", "/v1/tasks/fz-cl-lie?stale=true");
    expect(g.status).toBe(404);
  });

  it("answers odd but well-formed paths with routes or 404, never a crash", async () => {
    const cases: Array<[string, string, readonly number[]]> = [
      ["GET", "/v1/tasks/../status", [200]], // dot segments resolve like any URL
      ["GET", "/v1//status", [200, 404]],
      ["GET", "/v1/status/", [200, 404]],
      ["GET", `/v1/tasks/${"a".repeat(128)}`, [404]],
      ["GET", `/v1/tasks/${"a".repeat(129)}`, [400]],
      ["GET", `/v1/tasks/${encodeURIComponent("日本語")}`, [400]],
      ["GET", `/v1/tasks/${"%F0%9F%A6%80".repeat(2000)}`, [400, 431]],
      ["GET", "/v1/tasks/%E0%A4%A", [400]],
      ["GET", "/v1/tasks/%00", [400]],
      ["GET", "/v1/tasks?limit=1000&limit=abc", [200, 400]],
      ["GET", `/v1/tasks?after=${"z".repeat(129)}`, [400]],
      ["GET", "/v1/tasks?state=pending&worker=n1&limit=5&stale=1", [200]],
      ["GET", "/v1/tasks?stale=maybe", [400]],
      ["GET", `/v1/tasks?${"a=1&".repeat(2000)}`, [400, 431]],
      ["GET", "http://example.invalid/v1/status", [200]], // absolute-form request target
      ["OPTIONS", "*", [404, 405]],
      ["GET", "/%2e%2e/%2e%2e/etc/passwd", [404]],
      ["GET", "/v1/tasks/..%2F..%2Fetc%2Fpasswd", [400]],
    ];
    for (const [method, path, statuses] of cases) {
      const a = await send({ method, path });
      checkAnswer({ method, path }, a);
      expect(statuses, `${method} ${path.slice(0, 100)} → ${a.status} ${a.text.slice(0, 200)}`).toContain(a.status);
    }
    await expectServing();
  });

  // "." and ".." match the contract's character rule, but URL dot-segment normalisation turns /v1/tasks/.. into
  // /v1/ in every client (and in a follower's forwarding fetch), so such a task could never be addressed.
  it("refuses the ids '.' and '..', which no URL can address, with 400", async () => {
    for (const id of [".", ".."]) {
      const s = await node.json("POST", "/v1/tasks", { id, payload: {} });
      expect(s.status).toBe(400);
      expect((s.body as { error: { code: string } }).error.code).toBe("BAD_FIELD");
    }
  });

  it("stays up and answers after a burst of concurrent fuzzed requests", async () => {
    const reqs = fc.sample(requestArb(node.token), { seed: 0x5eed_0004, numRuns: 200 });
    const answers = await Promise.all(reqs.map((r) => send(r).then((a) => [r, a] as const)));
    for (const [r, a] of answers) checkAnswer(r, a);
    await expectServing();
    const s = await node.status();
    expect(s.role).toBe("leader");
    const ok = await node.json("POST", "/v1/tasks", { id: "fz-after-burst", payload: {} });
    expect([200, 201]).toContain(ok.status);
  });
});

// Keep the hostile-id generator honest: none of them is a valid task id ("." and ".." aside, see above).
describe("fuzz generators", () => {
  it("hostile ids are never valid task ids", () => {
    fc.assert(
      fc.property(hostileIdArb, (id) => !/^[A-Za-z0-9._:-]{1,128}$/.test(id) || id === "." || id === ".."),
      { seed: 0x5eed_0005, numRuns: 500 },
    );
  });
});
