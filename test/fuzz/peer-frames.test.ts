// Peer-frame fuzzing: a 3-member cluster file where only n1 runs, so the test can pose as n2 or n3 on n1's
// /raft endpoint without a real peer superseding its connection. Invalid frames (random bytes, valid frames
// mutated at the byte level or the field level, spoofed senders, oversized frames, text frames) must close the
// connection and change nothing in n1's Raft state; valid but hostile frames (huge terms, junk entries) may move
// the state, as Raft says, but the node must stay up and keep serving. Upgrades without the right token or with
// an unknown node id are refused at the HTTP level, before any frame is read.
import fc from "fast-check";
import { Packr } from "msgpackr";
import WebSocket from "ws";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import type { Entry, Message } from "../../src/raft/types.js";
import { decodeFrame, encodeFrame } from "../../src/transport/codec.js";
import { FuzzNode, rawRequest, sleep } from "./harness.js";

/** Close codes a node may use on a bad frame: policy (spoofed/misrouted), unsupported data (invalid frame),
 *  too big (over maxPayload), protocol error (malformed WebSocket framing). */
const BAD_FRAME_CLOSE_CODES = [1002, 1003, 1008, 1009];
const CLOSE_WAIT_MS = 3_000;

// Plain maps, like the real codec, but without its validation: the point is to send what it would refuse.
const rawPackr = new Packr({ useRecords: false, structuredClone: false });

const MEMBERS = ["n1", "n2", "n3"];
let node: FuzzNode;

beforeAll(async () => {
  node = await FuzzNode.start({ memberIds: MEMBERS, runId: "n1" });
});

afterAll(async () => {
  await node?.stop();
});

function raftUrl(n: FuzzNode): string {
  return `ws://127.0.0.1:${n.port}/raft`;
}

interface SendOutcome {
  readonly opened: boolean;
  readonly status?: number;
  readonly closeCode?: number;
}

/** Opens a peer connection posing as `as`, sends `frames` as soon as it opens, and waits for the node to close
 *  it (or for `waitMs` to pass, in which case it closes it itself and reports no close code). */
function sendFrames(url: string, headers: Record<string, string>, frames: ReadonlyArray<Uint8Array | string>, waitMs = CLOSE_WAIT_MS): Promise<SendOutcome> {
  return new Promise((resolve) => {
    const ws = new WebSocket(url, { headers, handshakeTimeout: 5_000, maxPayload: 64 * 1024 * 1024 });
    let settled = false;
    const settle = (o: SendOutcome): void => {
      if (settled) return;
      settled = true;
      clearTimeout(timer);
      resolve(o);
    };
    const timer = setTimeout(() => {
      settle({ opened: true });
      ws.terminate();
    }, waitMs + 5_000);
    ws.on("unexpected-response", (_req, res) => {
      res.resume();
      settle({ opened: false, status: res.statusCode ?? 0 });
      ws.terminate();
    });
    ws.on("error", () => {}); // the close or unexpected-response event carries the outcome
    ws.on("open", () => {
      for (const f of frames) ws.send(f, { binary: typeof f !== "string" });
      clearTimeout(timer);
      setTimeout(() => {
        settle({ opened: true });
        ws.terminate();
      }, waitMs);
    });
    ws.on("close", (code) => settle({ opened: true, closeCode: code }));
  });
}

function peerHeaders(as: string, token = node.token): Record<string, string> {
  return { authorization: `Bearer ${token}`, "x-raftsched-node": as };
}

async function raftState(): Promise<string> {
  const s = await node.status();
  return JSON.stringify({ term: s.term, commitIndex: s.commitIndex, appliedIndex: s.appliedIndex, leaderId: s.leaderId });
}

async function expectServing(n: FuzzNode): Promise<void> {
  expect(n.alive, `node exited: ${JSON.stringify(n.exit)}\n${n.logText().slice(-3000)}`).toBe(true);
  const h = await rawRequest(n.port, { method: "GET", path: "/healthz", timeoutMs: 5_000 });
  expect(h.status).toBe(200);
  const s = await rawRequest(n.port, { method: "GET", path: "/v1/status", timeoutMs: 5_000 });
  expect(s.status).toBe(200);
}

// ---- generators -----------------------------------------------------------------------------------------------

const entry = (index: number, term: number, kind: "normal" | "config" = "normal"): Entry => ({ index, term, kind, data: new Uint8Array([1, 2, 3]) });

/** One valid message of each type from n2 to n1 (small numbers), the starting points for mutations. */
const TEMPLATES: readonly Message[] = [
  { type: "vote", from: "n2", to: "n1", term: 2, lastLogIndex: 0, lastLogTerm: 0 },
  { type: "preVote", from: "n2", to: "n1", term: 2, lastLogIndex: 3, lastLogTerm: 1, transfer: true },
  { type: "voteResp", from: "n2", to: "n1", term: 1, reject: false },
  { type: "preVoteResp", from: "n2", to: "n1", term: 1, reject: true },
  { type: "append", from: "n2", to: "n1", term: 2, prevLogIndex: 0, prevLogTerm: 0, entries: [entry(1, 1), entry(2, 2, "config")], commit: 0 },
  { type: "appendResp", from: "n2", to: "n1", term: 1, index: 4, reject: true, rejectHint: 2, logTerm: 1 },
  { type: "heartbeat", from: "n2", to: "n1", term: 1, commit: 0, context: "ctx" },
  { type: "heartbeatResp", from: "n2", to: "n1", term: 1, context: "ctx" },
  { type: "snapshot", from: "n2", to: "n1", term: 2, snapshot: { meta: { index: 5, term: 1, conf: { voters: ["n1", "n2", "n3"], learners: [] } }, data: new Uint8Array(8) } },
  { type: "timeoutNow", from: "n2", to: "n1", term: 1 },
  { type: "readIndex", from: "n2", to: "n1", term: 1, context: "r1" },
  { type: "readIndexResp", from: "n2", to: "n1", term: 1, context: "r1", index: 7 },
];

const hostileValueArb: fc.Arbitrary<unknown> = fc.oneof(
  fc.constantFrom<unknown>(
    -1,
    -0.5,
    1.5,
    2 ** 53,
    2 ** 64,
    1e300,
    -1e300,
    Infinity,
    -Infinity,
    NaN,
    "1",
    "",
    null,
    undefined,
    true,
    [],
    {},
    new Uint8Array(3),
    2n ** 63n - 1n,
    -(2n ** 63n),
    new Date(0),
    "x".repeat(300),
    "n1",
    "n3",
    { nested: { deeper: [1, 2, 3] } },
  ),
  fc.integer(),
  fc.double(),
  fc.string({ maxLength: 20 }),
  fc.uint8Array({ maxLength: 16 }),
);

type Mutation =
  | { readonly op: "set"; readonly pick: number; readonly value: unknown }
  | { readonly op: "delete"; readonly pick: number }
  | { readonly op: "addField"; readonly pick: number; readonly key: string; readonly value: unknown }
  | { readonly op: "from"; readonly value: string }
  | { readonly op: "to"; readonly value: string }
  | { readonly op: "bigEntries"; readonly count: number }
  | { readonly op: "bigMembers"; readonly count: number };

const mutationArb: fc.Arbitrary<Mutation> = fc.oneof(
  { weight: 5, arbitrary: fc.record({ op: fc.constant("set" as const), pick: fc.nat(), value: hostileValueArb }) },
  { weight: 2, arbitrary: fc.record({ op: fc.constant("delete" as const), pick: fc.nat() }) },
  { weight: 2, arbitrary: fc.record({ op: fc.constant("addField" as const), pick: fc.nat(), key: fc.constantFrom("extra", "__proto__", "constructor", "x", "type2", ""), value: hostileValueArb }) },
  { weight: 2, arbitrary: fc.record({ op: fc.constant("from" as const), value: fc.constantFrom("n3", "n1", "", "x".repeat(200), "intruder") }) },
  { weight: 1, arbitrary: fc.record({ op: fc.constant("to" as const), value: fc.constantFrom("n2", "n3", "", "x".repeat(200)) }) },
  { weight: 1, arbitrary: fc.record({ op: fc.constant("bigEntries" as const), count: fc.constantFrom(10_001, 20_000) }) },
  { weight: 1, arbitrary: fc.record({ op: fc.constant("bigMembers" as const), count: fc.constantFrom(1_025, 5_000) }) },
);

type Obj = Record<string, unknown>;

/** Every (parent object, key) pair in a message, entries and snapshot fields included. */
function slots(root: Obj): Array<[Obj | unknown[], string]> {
  const out: Array<[Obj | unknown[], string]> = [];
  const walk = (o: unknown): void => {
    if (o instanceof Uint8Array || o === null || typeof o !== "object") return;
    for (const k of Object.keys(o)) {
      out.push([o as Obj, k]);
      walk((o as Obj)[k]);
    }
  };
  walk(root);
  return out;
}

function clone(m: Message): Obj {
  return structuredClone(m) as unknown as Obj;
}

function applyMutation(m: Obj, mu: Mutation): void {
  const all = slots(m);
  switch (mu.op) {
    case "set": {
      const [parent, key] = all[mu.pick % all.length]!;
      (parent as Obj)[key] = mu.value;
      return;
    }
    case "delete": {
      const [parent, key] = all[mu.pick % all.length]!;
      if (Array.isArray(parent)) parent.splice(Number(key), 1);
      else delete parent[key];
      return;
    }
    case "addField": {
      const objects = [m, ...all.map(([p, k]) => (p as Obj)[k]).filter((v): v is Obj => typeof v === "object" && v !== null && !Array.isArray(v) && !(v instanceof Uint8Array))];
      const target = objects[mu.pick % objects.length]!;
      Object.defineProperty(target, mu.key, { value: mu.value, enumerable: true, configurable: true, writable: true });
      return;
    }
    case "from":
      m.from = mu.value;
      return;
    case "to":
      m.to = mu.value;
      return;
    case "bigEntries":
      m.type = "append";
      m.prevLogIndex = 0;
      m.prevLogTerm = 0;
      m.commit = 0;
      m.term = 1;
      m.entries = Array.from({ length: mu.count }, (_, i) => entry(i + 1, 1));
      for (const k of Object.keys(m)) if (!["type", "from", "to", "term", "prevLogIndex", "prevLogTerm", "entries", "commit"].includes(k)) delete m[k];
      return;
    case "bigMembers":
      m.type = "snapshot";
      m.term = 2;
      m.snapshot = { meta: { index: 5, term: 1, conf: { voters: Array.from({ length: mu.count }, (_, i) => `m${i}`), learners: [] } }, data: new Uint8Array(1) };
      for (const k of Object.keys(m)) if (!["type", "from", "to", "term", "snapshot"].includes(k)) delete m[k];
      return;
  }
}

type ByteMutation = { readonly op: "truncate" | "flip" | "insert" | "append"; readonly at: number; readonly bytes: Uint8Array };
const byteMutationArb: fc.Arbitrary<ByteMutation> = fc.record({
  op: fc.constantFrom("truncate", "flip", "insert", "append"),
  at: fc.nat(),
  bytes: fc.uint8Array({ minLength: 1, maxLength: 8 }),
});

function mutateBytes(b: Uint8Array, mu: ByteMutation): Uint8Array {
  const at = b.length === 0 ? 0 : mu.at % b.length;
  const buf = Buffer.from(b);
  switch (mu.op) {
    case "truncate":
      return buf.subarray(0, at);
    case "flip": {
      const out = Buffer.from(buf);
      out[at] = (out[at] ?? 0) ^ (mu.bytes[0] || 0xff);
      return out;
    }
    case "insert":
      return Buffer.concat([buf.subarray(0, at), mu.bytes, buf.subarray(at)]);
    case "append":
      return Buffer.concat([buf, mu.bytes]);
  }
}

function pack(value: unknown): Uint8Array | null {
  try {
    return rawPackr.pack(value);
  } catch {
    return null; // msgpackr cannot encode some values (a bigint over 64 bits); such a frame cannot be sent
  }
}

/** What the node must do with a frame from a connection authenticated as `as`: refuse it unless it decodes to a
 *  valid message from `as` to n1. */
function mustRefuse(bytes: Uint8Array, as: string): boolean {
  const d = decodeFrame(bytes);
  return !d.ok || d.message.from !== as || d.message.to !== "n1";
}

const badFrameArb: fc.Arbitrary<{ as: string; frame: Uint8Array | string; kind: string }> = fc
  .tuple(
    fc.constantFrom("n2", "n3"),
    fc.oneof(
      { weight: 2, arbitrary: fc.uint8Array({ minLength: 0, maxLength: 2048 }).map((b) => ({ frame: b as Uint8Array | string, kind: "random-bytes" })) },
      {
        weight: 5,
        arbitrary: fc.tuple(fc.constantFrom(...TEMPLATES), fc.array(mutationArb, { minLength: 1, maxLength: 3 })).map(([t, mus]) => {
          const m = clone(t);
          for (const mu of mus) applyMutation(m, mu);
          return { frame: pack(m) ?? new Uint8Array([0xc1]), kind: `fields:${mus.map((x) => x.op).join("+")}` };
        }),
      },
      {
        weight: 3,
        arbitrary: fc.tuple(fc.constantFrom(...TEMPLATES), fc.array(byteMutationArb, { minLength: 1, maxLength: 3 })).map(([t, mus]) => {
          let b: Uint8Array = rawPackr.pack(t);
          for (const mu of mus) b = mutateBytes(b, mu);
          return { frame: b as Uint8Array | string, kind: `bytes:${mus.map((x) => x.op).join("+")}` };
        }),
      },
      { weight: 1, arbitrary: fc.constantFrom(...TEMPLATES).map((t) => ({ frame: JSON.stringify(t) as Uint8Array | string, kind: "text-frame" })) },
    ),
  )
  .map(([as, f]) => {
    // A template sent as n3 claims from=n2: a spoofed sender, refused like any other bad frame.
    return { as, ...f };
  })
  .filter(({ as, frame }) => typeof frame === "string" || mustRefuse(frame, as));

// ---- tests ----------------------------------------------------------------------------------------------------

describe("peer frame fuzz on n1 of a 3-member cluster where only n1 runs", () => {
  it("refuses upgrades without the right token or with an unknown node id, before any frame is read", async () => {
    const stateBefore = await raftState();
    const valid = encodeFrame({ type: "heartbeat", from: "n2", to: "n1", term: 50, commit: 0 });
    if (!valid.ok) throw new Error(valid.reason);
    const cases: Array<[Record<string, string>, readonly number[]]> = [
      [{ "x-raftsched-node": "n2" }, [401]],
      [{ authorization: "Bearer wrong", "x-raftsched-node": "n2" }, [401]],
      [{ authorization: `Bearer ${node.token}x`, "x-raftsched-node": "n2" }, [401]],
      [{ authorization: `Basic ${node.token}`, "x-raftsched-node": "n2" }, [401]],
      [{ authorization: node.token, "x-raftsched-node": "n2" }, [401]],
      [{ authorization: `Bearer ${node.token}` }, [400]],
      [{ authorization: `Bearer ${node.token}`, "x-raftsched-node": "" }, [400]],
      [{ authorization: `Bearer ${node.token}`, "x-raftsched-node": "x".repeat(500) }, [400]],
      [{ authorization: `Bearer ${node.token}`, "x-raftsched-node": "intruder" }, [403]],
      [{ authorization: `Bearer ${node.token}`, "x-raftsched-node": "n1" }, [403]],
      [{ authorization: `Bearer ${node.token}`, "x-raftsched-node": "N2" }, [403]],
      [{ "x-raftsched-node": "intruder" }, [401]],
    ];
    for (const [headers, statuses] of cases) {
      const r = await sendFrames(raftUrl(node), headers, [valid.bytes]);
      expect(r.opened, JSON.stringify(headers).slice(0, 200)).toBe(false);
      expect(statuses, JSON.stringify(headers).slice(0, 200)).toContain(r.status);
    }
    // Other paths do not upgrade either.
    for (const p of ["/raft/", "/RAFT", "/raft2", "/v1/status"]) {
      const r = await sendFrames(`ws://127.0.0.1:${node.port}${p}`, peerHeaders("n2"), [valid.bytes]);
      expect(r.opened, p).toBe(false);
    }
    // The term-50 heartbeat was never delivered.
    expect(await raftState()).toBe(stateBefore);
    await expectServing(node);
  });

  it("closes the connection on every invalid frame and never lets one change the Raft state", async () => {
    const before = await raftState();
    const kinds = new Map<string, number>();
    await fc.assert(
      fc.asyncProperty(badFrameArb, async ({ as, frame, kind }) => {
        const r = await sendFrames(raftUrl(node), peerHeaders(as), [frame]);
        const k = kind.split(":")[0]!;
        kinds.set(k, (kinds.get(k) ?? 0) + 1);
        expect(r.opened, kind).toBe(true);
        expect(BAD_FRAME_CLOSE_CODES, `${kind}: connection not closed by the node (close code ${r.closeCode})`).toContain(r.closeCode);
        expect(await raftState(), kind).toBe(before);
      }),
      { seed: 0x5eed_0101, numRuns: 250 },
    );
    console.log(`peer fuzz: bad frames by kind ${[...kinds].map(([k, v]) => `${k}×${v}`).join(" ")}`);
    await expectServing(node);
    expect(await raftState()).toBe(before);
  });

  it("closes a connection sending a frame over the 16 MiB limit, and a valid frame after a bad one is not delivered", async () => {
    const before = await raftState();
    const huge = Buffer.alloc(17 * 1024 * 1024, 0x90);
    const big = await sendFrames(raftUrl(node), peerHeaders("n2"), [huge], 10_000);
    expect(BAD_FRAME_CLOSE_CODES).toContain(big.closeCode);
    // A bad frame followed at once by a valid heartbeat with a higher term: the heartbeat must be dropped.
    const valid = encodeFrame({ type: "heartbeat", from: "n2", to: "n1", term: 1_000, commit: 0 });
    if (!valid.ok) throw new Error(valid.reason);
    for (const bad of [Buffer.from([0xc1]), Buffer.from(rawPackr.pack({ ...TEMPLATES[6], from: "n3" }))]) {
      const r = await sendFrames(raftUrl(node), peerHeaders("n2"), [bad, valid.bytes, valid.bytes]);
      expect(BAD_FRAME_CLOSE_CODES).toContain(r.closeCode);
    }
    await sleep(200);
    expect(await raftState()).toBe(before);
    await expectServing(node);
  });
});

/** Valid messages from n2 with arbitrary (in-range) numbers, including the largest safe integers. */
const hostileValidArb: fc.Arbitrary<Message> = (() => {
  const nat = fc.oneof(fc.nat({ max: 50 }), fc.constantFrom(Number.MAX_SAFE_INTEGER, Number.MAX_SAFE_INTEGER - 1, 2 ** 40));
  const base = { from: fc.constant("n2"), to: fc.constant("n1"), term: nat };
  const entries = (prev: number, term: number): fc.Arbitrary<Entry[]> =>
    fc
      .array(fc.tuple(fc.constantFrom<"normal" | "config">("normal", "normal", "config"), fc.uint8Array({ maxLength: 64 })), { maxLength: 5 })
      .map((es) => es.map(([kind, data], i) => ({ index: prev + i + 1, term: Math.max(1, term), kind, data })));
  return fc.oneof(
    fc.record({ ...base, type: fc.constantFrom<"vote" | "preVote">("vote", "preVote"), lastLogIndex: nat, lastLogTerm: fc.nat({ max: 3 }), transfer: fc.boolean() }).map((m) => ({
      ...m,
      lastLogTerm: m.lastLogIndex === 0 ? 0 : Math.min(m.lastLogTerm, m.term),
    })),
    fc
      .record({ ...base, prevLogIndex: fc.nat({ max: 5 }), commit: nat })
      .chain((m) =>
        entries(m.prevLogIndex, m.term).map((es) => ({
          type: "append" as const,
          from: m.from,
          to: m.to,
          term: Math.max(1, m.term),
          prevLogIndex: m.prevLogIndex,
          prevLogTerm: m.prevLogIndex === 0 ? 0 : 1,
          entries: es,
          commit: m.commit,
        })),
      ),
    fc.record({ ...base, type: fc.constant("heartbeat" as const), commit: nat }),
    fc.record({ ...base, type: fc.constant("timeoutNow" as const) }),
    fc.record({ ...base, type: fc.constant("readIndex" as const), context: fc.string({ maxLength: 20 }) }),
    fc.record({ ...base, type: fc.constant("appendResp" as const), index: nat, reject: fc.boolean() }),
    fc.record({ ...base, type: fc.constantFrom<"voteResp" | "preVoteResp">("voteResp", "preVoteResp"), reject: fc.boolean() }),
  );
})();

describe("valid but hostile peer frames", () => {
  let hostileNode: FuzzNode | undefined;
  afterAll(async () => {
    await hostileNode?.stop();
  });

  it("may move the term and the log, but the node stays up and keeps serving", async () => {
    hostileNode = await FuzzNode.start({ memberIds: MEMBERS, runId: "n1" });
    const n = hostileNode;
    let delivered = 0;
    await fc.assert(
      fc.asyncProperty(fc.array(hostileValidArb, { minLength: 1, maxLength: 8 }), async (messages) => {
        const frames: Uint8Array[] = [];
        for (const m of messages) {
          const e = encodeFrame(m);
          fc.pre(e.ok);
          if (e.ok) frames.push(e.bytes);
        }
        // Valid frames are delivered: the connection stays open until we close it.
        const r = await sendFrames(raftUrl(n), { authorization: `Bearer ${n.token}`, "x-raftsched-node": "n2" }, frames, 150);
        expect(r.opened).toBe(true);
        expect(r.closeCode, "the node closed a connection that sent only valid frames").toBeUndefined();
        delivered += frames.length;
        await expectServing(n);
      }),
      { seed: 0x5eed_0102, numRuns: 60 },
    );
    const s = await rawRequest(n.port, { method: "GET", path: "/v1/status", timeoutMs: 5_000 });
    console.log(`peer fuzz: ${delivered} valid hostile frames delivered; n1 status after: ${s.text}`);
    await expectServing(n);
    // Reads still answer (linearizable ones may refuse with 503: the real n2 does not exist).
    const list = await rawRequest(n.port, { method: "GET", path: "/v1/tasks?stale=true", timeoutMs: 5_000 });
    expect(list.status).toBe(200);
    const cluster = await rawRequest(n.port, { method: "GET", path: "/v1/cluster", timeoutMs: 5_000 });
    expect([200, 503]).toContain(cluster.status);
  });
});
