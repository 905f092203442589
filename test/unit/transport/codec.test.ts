import fc from "fast-check";
import { pack, Packr } from "msgpackr";
import { describe, expect, it } from "vitest";
import type { Message } from "../../../src/raft/types.js";
import { decodeFrame, encodeFrame, type DecodeResult } from "../../../src/transport/codec.js";
import { MAX_ENTRIES_PER_FRAME } from "../../../src/transport/limits.js";
import { validateMessage } from "../../../src/transport/validate.js";
import { validMessageArb } from "./arbitraries.js";

const plainPackr = new Packr({ useRecords: false });

function encodeOk(m: Message): Buffer {
  const r = encodeFrame(m);
  if (!r.ok) throw new Error(`expected ${JSON.stringify(m)} to encode: ${r.reason}`);
  return r.bytes;
}

/** Packs any value as a frame, bypassing encodeFrame's validation (what a buggy or hostile peer could send). */
function raw(value: unknown): Buffer {
  return plainPackr.pack(value);
}

function expectBad(result: DecodeResult, reasonPattern: RegExp): void {
  expect(result.ok).toBe(false);
  if (!result.ok) {
    expect(result.code).toBe("BAD_FRAME");
    expect(result.reason).toMatch(reasonPattern);
  }
}

/** decodeFrame must never throw, and anything it accepts must be a valid message. */
function decodeSafely(bytes: Uint8Array): DecodeResult {
  let result: DecodeResult | undefined;
  expect(() => {
    result = decodeFrame(bytes);
  }).not.toThrow();
  const r = result as DecodeResult;
  if (r.ok) expect(validateMessage(r.message).ok).toBe(true);
  return r;
}

const append: Message = {
  type: "append",
  from: "n1",
  to: "n2",
  term: 3,
  prevLogIndex: 4,
  prevLogTerm: 2,
  entries: [
    { term: 2, index: 5, kind: "normal", data: new Uint8Array([1, 2, 3]) },
    { term: 3, index: 6, kind: "config", data: new Uint8Array([]) },
  ],
  commit: 4,
};

describe("codec round trip", () => {
  it("every valid message round-trips exactly, with binary data as plain Uint8Array", () => {
    fc.assert(
      fc.property(validMessageArb, (m) => {
        const decoded = decodeFrame(encodeOk(m));
        expect(decoded.ok).toBe(true);
        if (decoded.ok) expect(decoded.message).toStrictEqual(m);
      }),
      { numRuns: 2_000 },
    );
  });

  it("optional fields set to undefined are omitted on the wire and absent after decoding", () => {
    const m = { type: "heartbeat", from: "a", to: "b", term: 1, commit: 0, context: undefined } as Message;
    const decoded = decodeFrame(encodeOk(m));
    expect(decoded.ok && Object.keys(decoded.message).sort()).toEqual(["commit", "from", "term", "to", "type"]);
  });

  it("decoded entry data is a Uint8Array with the right bytes", () => {
    const decoded = decodeFrame(encodeOk(append));
    expect(decoded.ok).toBe(true);
    if (decoded.ok && decoded.message.type === "append") {
      const data = decoded.message.entries[0]?.data;
      expect(data?.constructor).toBe(Uint8Array);
      expect(Array.from(data ?? [])).toEqual([1, 2, 3]);
    }
  });
});

describe("decodeFrame never throws", () => {
  it("on random bytes", () => {
    fc.assert(
      fc.property(fc.uint8Array({ maxLength: 512 }), (bytes) => {
        decodeSafely(bytes);
      }),
      { numRuns: 5_000 },
    );
  });

  it("on valid frames with bytes flipped, truncated or appended", () => {
    const mutated = fc
      .tuple(
        validMessageArb.map(encodeOk),
        fc.array(fc.tuple(fc.nat(), fc.integer({ min: 0, max: 255 })), { maxLength: 4 }),
        fc.nat(),
        fc.uint8Array({ maxLength: 8 }),
      )
      .map(([frame, flips, cut, tail]) => {
        const bytes = Buffer.from(frame);
        for (const [at, value] of flips) bytes[at % bytes.length] = value;
        return Buffer.concat([bytes.subarray(0, Math.max(1, cut % (bytes.length + 1))), tail]);
      });
    fc.assert(
      fc.property(mutated, (bytes) => {
        decodeSafely(bytes);
      }),
      { numRuns: 5_000 },
    );
  });

  it("on every strict prefix of a valid frame (truncation is always BAD_FRAME)", () => {
    fc.assert(
      fc.property(validMessageArb.map(encodeOk), (frame) => {
        for (let n = 0; n < frame.length; n++) expect(decodeSafely(frame.subarray(0, n)).ok).toBe(false);
      }),
      { numRuns: 200 },
    );
  });

  it("on any msgpack value, and on valid messages with one field replaced by anything", () => {
    fc.assert(
      fc.property(fc.anything({ withBigInt: true, withDate: true, withMap: true, withSet: true, withTypedArray: true, withNullPrototype: true }), (value) => {
        let bytes: Buffer;
        try {
          bytes = pack(value); // default msgpackr: records/structures extensions included
        } catch {
          return; // not encodable by msgpackr: nothing a peer could send
        }
        decodeSafely(bytes);
      }),
      { numRuns: 2_000 },
    );
    const replaced = fc.tuple(validMessageArb, fc.nat(), fc.anything({ withBigInt: true, withTypedArray: true })).map(([m, which, value]) => {
      const fields = Object.keys(m);
      const key = fields[which % fields.length] as string;
      return { ...m, [key]: value };
    });
    fc.assert(
      fc.property(replaced, (value) => {
        let bytes: Buffer;
        try {
          bytes = raw(value);
        } catch {
          return;
        }
        decodeSafely(bytes);
      }),
      { numRuns: 2_000 },
    );
  });

  it("on non-binary input and empty frames", () => {
    expectBad(decodeFrame(new Uint8Array(0)), /empty/);
    expectBad(decodeFrame("hello" as unknown as Uint8Array), /not binary/);
    expectBad(decodeFrame(Buffer.from([0xc1])), /./);
  });
});

describe("validation refuses, naming the field", () => {
  const hb = { type: "heartbeat", from: "n1", to: "n2", term: 5, commit: 2 };

  it.each([
    ["unknown type", { ...hb, type: "gossip" }, /^type:/],
    ["missing from", { ...hb, from: undefined }, /^from:/],
    ["empty from", { ...hb, from: "" }, /^from:/],
    ["from too long", { ...hb, from: "x".repeat(129) }, /^from:/],
    ["to not a string", { ...hb, to: 7 }, /^to:/],
    ["from equals to", { ...hb, to: "n1" }, /both/],
    ["negative term", { ...hb, term: -1 }, /^term:/],
    ["fractional term", { ...hb, term: 1.5 }, /^term:/],
    ["unsafe term", { ...hb, term: 2 ** 53 }, /^term:/],
    ["huge term", { ...hb, term: 1e300 }, /^term:/],
    ["NaN commit", { ...hb, commit: Number.NaN }, /^commit:/],
    ["bigint term", { ...hb, term: 2n ** 64n - 1n }, /^term: .*bigint/],
    ["string commit", { ...hb, commit: "2" }, /^commit:/],
    ["unknown field", { ...hb, extra: 1 }, /unknown field "extra"/],
    ["context too long", { ...hb, context: "c".repeat(257) }, /^context:/],
    ["array frame", [hb], /^frame: expected an object/],
    ["null frame", null, /^frame:/],
    ["vote without lastLogTerm", { type: "vote", from: "a", to: "b", term: 2, lastLogIndex: 1 }, /^lastLogTerm:/],
    ["vote with last term above term", { type: "vote", from: "a", to: "b", term: 2, lastLogIndex: 1, lastLogTerm: 3 }, /above term/],
    ["vote with transfer not boolean", { type: "vote", from: "a", to: "b", term: 2, lastLogIndex: 0, lastLogTerm: 0, transfer: 1 }, /^transfer:/],
    ["voteResp without reject", { type: "voteResp", from: "a", to: "b", term: 2 }, /^reject:/],
    ["appendResp with negative hint", { type: "appendResp", from: "a", to: "b", term: 2, index: 3, reject: true, rejectHint: -1 }, /^rejectHint:/],
    ["readIndex without context", { type: "readIndex", from: "a", to: "b", term: 2 }, /^context:/],
    ["readIndexResp with negative index", { type: "readIndexResp", from: "a", to: "b", term: 2, context: "x", index: -3 }, /^index:/],
  ])("%s", (_name, value, reason) => {
    expectBad(decodeFrame(raw(value)), reason);
  });

  const appendBase = { type: "append", from: "n1", to: "n2", term: 3, prevLogIndex: 4, prevLogTerm: 2, commit: 4 };
  const entry = (index: number, term = 3, extra: object = {}) => ({ term, index, kind: "normal", data: new Uint8Array([9]), ...extra });

  it.each([
    ["entries not an array", { ...appendBase, entries: { 0: entry(5) } }, /^entries: expected an array/],
    ["entry not an object", { ...appendBase, entries: [5] }, /^entries\[0\]: expected an object/],
    ["gap in indexes", { ...appendBase, entries: [entry(5), entry(7)] }, /^entries\[1\]\.index: expected 6, got 7/],
    ["does not follow prevLogIndex", { ...appendBase, entries: [entry(6)] }, /^entries\[0\]\.index: expected 5/],
    ["negative index", { ...appendBase, entries: [entry(-1)] }, /^entries\[0\]\.index:/],
    ["decreasing terms", { ...appendBase, entries: [entry(5, 3), entry(6, 2)] }, /^entries\[1\]\.term:/],
    ["term below prevLogTerm", { ...appendBase, entries: [entry(5, 1)] }, /^entries\[0\]\.term:/],
    ["term above message term", { ...appendBase, entries: [entry(5, 4)] }, /above the message term/],
    ["bad kind", { ...appendBase, entries: [entry(5, 3, { kind: "weird" })] }, /^entries\[0\]\.kind:/],
    ["string data", { ...appendBase, entries: [entry(5, 3, { data: "abc" })] }, /^entries\[0\]\.data: expected binary/],
    ["array data", { ...appendBase, entries: [entry(5, 3, { data: [1, 2] })] }, /^entries\[0\]\.data:/],
    ["extra entry field", { ...appendBase, entries: [entry(5, 3, { crc: 1 })] }, /^entries\[0\]: unknown field "crc"/],
    ["prevLogTerm without prevLogIndex", { ...appendBase, prevLogIndex: 0, prevLogTerm: 1, entries: [] }, /prevLogIndex 0/],
    ["negative prevLogIndex", { ...appendBase, prevLogIndex: -1, entries: [] }, /^prevLogIndex:/],
  ])("append: %s", (_name, value, reason) => {
    expectBad(decodeFrame(raw(value)), reason);
  });

  it("append with more entries than the frame limit", () => {
    const entries = Array.from({ length: MAX_ENTRIES_PER_FRAME + 1 }, (_, i) => entry(5 + i));
    expectBad(decodeFrame(raw({ ...appendBase, entries })), /at most 10000 per frame/);
    const atLimit = decodeFrame(raw({ ...appendBase, entries: entries.slice(0, MAX_ENTRIES_PER_FRAME) }));
    expect(atLimit.ok).toBe(true);
  });

  it("append whose indexes run past the safe integer range", () => {
    const prevLogIndex = Number.MAX_SAFE_INTEGER - 1;
    expectBad(decodeFrame(raw({ ...appendBase, prevLogIndex, entries: [entry(prevLogIndex + 1), entry(prevLogIndex + 2)] })), /[iI]ndex/);
  });

  it("a term above 2^48, which would wedge a node that adopted it", () => {
    expectBad(decodeFrame(raw({ type: "heartbeat", from: "n1", to: "n2", term: Number.MAX_SAFE_INTEGER, commit: 0 })), /term: .* above the limit of 2\^48/);
  });

  const snapBase = { type: "snapshot", from: "n1", to: "n2", term: 3 };
  const snap = (meta: object, data: unknown = new Uint8Array([1])) => ({ ...snapBase, snapshot: { meta, data } });
  const conf = { voters: ["n1", "n2", "n3"], learners: ["n4"] };

  it.each([
    ["index 0 with a term", snap({ index: 0, term: 1, conf }), /snapshot\.meta: index 0 with term 1/],
    ["a term with index 0 only", snap({ index: 3, term: 0, conf }), /snapshot\.meta: index 3 with term 0/],
    ["term above message term", snap({ index: 9, term: 4, conf }), /snapshot\.meta\.term/],
    ["no voters", snap({ index: 9, term: 2, conf: { voters: [], learners: ["n4"] } }), /at least one voter/],
    ["duplicate member", snap({ index: 9, term: 2, conf: { voters: ["n1", "n2"], learners: ["n2"] } }), /listed twice/],
    ["member not a string", snap({ index: 9, term: 2, conf: { voters: ["n1", 2], learners: [] } }), /voters\[1\]/],
    ["too many members", snap({ index: 9, term: 2, conf: { voters: Array.from({ length: 1025 }, (_, i) => `m${i}`), learners: [] } }), /at most 1024/],
    ["missing conf", snap({ index: 9, term: 2 }), /snapshot\.meta\.conf/],
    ["data null", snap({ index: 9, term: 2, conf }, null), /snapshot\.data/],
    ["extra meta field", snap({ index: 9, term: 2, conf, size: 3 }), /snapshot\.meta: unknown field/],
  ])("snapshot: %s", (_name, value, reason) => {
    expectBad(decodeFrame(raw(value)), reason);
  });

  it("prototype tricks do not pass: __proto__ keys and record/typed-array extensions", () => {
    // A map with a "__proto__" key: msgpackr renames it, and the validator refuses the unknown field.
    const withProto = Buffer.from([0x81, 0xa9, ...Buffer.from("__proto__"), 0x80]);
    expectBad(decodeFrame(withProto), /./);
    // Records (msgpackr's default structures extension) decode to plain objects and are validated like maps.
    const recorded = decodeFrame(pack({ ...hb }));
    expect(recorded.ok).toBe(true);
    // A Float64Array (msgpackr's typed-array extension) where bytes belong is refused.
    const typed = new Packr({ useRecords: false, moreTypes: true }).pack(snap({ index: 9, term: 2, conf }, new Float64Array([1])));
    expectBad(decodeFrame(typed), /snapshot\.data: expected binary data, got a Float64Array/);
  });
});

describe("encodeFrame", () => {
  it("never throws, and refuses what the peer would refuse", () => {
    fc.assert(
      fc.property(fc.anything({ withBigInt: true, withMap: true, withTypedArray: true }), (value) => {
        let result: ReturnType<typeof encodeFrame> | undefined;
        expect(() => {
          result = encodeFrame(value as Message);
        }).not.toThrow();
        if (result?.ok) expect(decodeFrame(result.bytes).ok).toBe(true);
      }),
      { numRuns: 2_000 },
    );
    const bad = encodeFrame({ ...append, entries: [{ term: 3, index: 9, kind: "normal", data: new Uint8Array() }] } as Message);
    expect(bad).toMatchObject({ ok: false, code: "BAD_MESSAGE" });
  });

  it("frames are independent: encoding more frames never changes an earlier one", () => {
    const first = encodeOk(append);
    const copy = Buffer.from(first);
    for (let i = 0; i < 2_000; i++) encodeOk({ ...append, commit: i });
    expect(first.equals(copy)).toBe(true);
  });
});
