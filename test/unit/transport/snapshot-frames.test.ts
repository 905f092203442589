// Snapshot chunk/ack frames: strict validation (fuzzed: never throws, accepts only valid frames), CRC-32, the
// sender's chunking and windowing, and the receiver's reassembly rules, without sockets.
import { createHash } from "node:crypto";
import fc from "fast-check";
import { pack, Packr } from "msgpackr";
import { describe, expect, it } from "vitest";
import type { SnapshotRequest } from "../../../src/raft/types.js";
import { decodeFrame, decodePeerFrame, encodeSnapshotFrame, type PeerDecodeResult } from "../../../src/transport/codec.js";
import { crc32, crc32Portable } from "../../../src/transport/crc32.js";
import { MAX_SNAPSHOT_CHUNK_BYTES } from "../../../src/transport/limits.js";
import { validateSnapshotFrame, type SnapshotAckFrame, type SnapshotChunkFrame } from "../../../src/transport/snapshot-frames.js";
import { SnapshotReassembler } from "../../../src/transport/snapshot-receiver.js";
import { OutgoingSnapshot } from "../../../src/transport/snapshot-sender.js";
import { MAX_TERM_OR_INDEX, validateMessage } from "../../../src/transport/validate.js";

const plainPackr = new Packr({ useRecords: false });

function snapshotMessage(data: Uint8Array, term = 5, from = "a", to = "b"): SnapshotRequest {
  // Term 0 can only carry the bootstrap snapshot (index 0, term 0).
  const at = term === 0 ? { index: 0, term: 0 } : { index: 40, term: Math.min(term, 4) };
  return { type: "snapshot", from, to, term, snapshot: { meta: { ...at, conf: { voters: [from, to], learners: [] } }, data } };
}

/** Every chunk of `message`, produced by the real sender with a window large enough to emit them all at once. */
function chunksOf(message: SnapshotRequest, chunkBytes: number, transferId = 1): SnapshotChunkFrame[] {
  const out: SnapshotChunkFrame[] = [];
  const sender = new OutgoingSnapshot({
    message,
    transferId,
    chunkBytes,
    windowChunks: Number.MAX_SAFE_INTEGER,
    nowMs: 0,
    sink: (chunk) => {
      out.push(chunk);
      return { ok: true };
    },
    finish: () => {},
  });
  sender.pump();
  return out;
}

function ackOf(fields: Partial<SnapshotAckFrame> = {}): SnapshotAckFrame {
  return { type: "snapshotAck", from: "b", to: "a", term: 5, transferId: 1, received: 0, status: "receiving", ...fields };
}

function encodeOk(frame: SnapshotChunkFrame | SnapshotAckFrame): Buffer {
  const r = encodeSnapshotFrame(frame);
  if (!r.ok) throw new Error(r.reason);
  return r.bytes;
}

/** decodePeerFrame must never throw, and whatever it accepts must pass its own validator again. */
function decodeSafely(bytes: Uint8Array): PeerDecodeResult {
  let result: PeerDecodeResult | undefined;
  expect(() => {
    result = decodePeerFrame(bytes);
  }).not.toThrow();
  const r = result as PeerDecodeResult;
  if (r.ok && r.kind === "snapshot") expect(validateSnapshotFrame(r.frame).ok).toBe(true);
  if (r.ok && r.kind === "message") expect(validateMessage(r.message).ok).toBe(true);
  return r;
}

const validChunkArb: fc.Arbitrary<SnapshotChunkFrame> = fc
  .tuple(fc.uint8Array({ maxLength: 300 }), fc.integer({ min: 1, max: 128 }), fc.integer({ min: 0, max: 50 }), fc.integer({ min: 1, max: 1e9 }))
  .chain(([data, chunkBytes, term, transferId]) => {
    const chunks = chunksOf(snapshotMessage(data, term), chunkBytes, transferId);
    return fc.constantFrom(...chunks);
  });

const validAckArb: fc.Arbitrary<SnapshotAckFrame> = fc.oneof(
  fc.record({ received: fc.integer({ min: 0, max: MAX_TERM_OR_INDEX }), status: fc.constantFrom("receiving" as const, "done" as const) }).map((f) => ackOf(f)),
  fc
    .record({
      received: fc.integer({ min: 0, max: MAX_TERM_OR_INDEX }),
      code: fc.constantFrom("CHUNK_CORRUPT" as const, "SNAPSHOT_CORRUPT" as const, "OUT_OF_ORDER" as const, "INCONSISTENT" as const, "TOO_LARGE" as const),
      reason: fc.string({ maxLength: 256 }),
    })
    .map((f) => ackOf({ ...f, status: "refused" })),
);

describe("crc32", () => {
  it("matches the IEEE check value and the portable implementation", () => {
    expect(crc32(Buffer.from("123456789"))).toBe(0xcbf43926);
    expect(crc32Portable(Buffer.from("123456789"))).toBe(0xcbf43926);
    fc.assert(fc.property(fc.uint8Array({ maxLength: 2048 }), (data) => crc32(data) === crc32Portable(data)));
  });
});

describe("snapshot chunk frames", () => {
  it("the sender's chunks cover the data in order, meta on the first, SHA-256 of the whole on the last, and round-trip", () => {
    const data = new Uint8Array(1000).map((_, i) => (i * 7) % 256);
    const chunks = chunksOf(snapshotMessage(data), 300);
    expect(chunks.map((c) => [c.offset, c.data.length])).toEqual([
      [0, 300],
      [300, 300],
      [600, 300],
      [900, 100],
    ]);
    expect(chunks.map((c) => c.meta !== undefined)).toEqual([true, false, false, false]);
    expect(chunks.map((c) => c.sha256 !== undefined)).toEqual([false, false, false, true]);
    expect(Buffer.from(chunks[3]?.sha256 ?? []).equals(createHash("sha256").update(data).digest())).toBe(true);
    for (const c of chunks) {
      const decoded = decodePeerFrame(encodeOk(c));
      expect(decoded.ok && decoded.kind === "snapshot" && decoded.frame).toStrictEqual({
        ...c,
        data: new Uint8Array(c.data),
        ...(c.sha256 ? { sha256: new Uint8Array(c.sha256) } : {}),
      });
    }
    // An empty snapshot is one empty chunk that is both first and last.
    const empty = chunksOf(snapshotMessage(new Uint8Array(0)), 300);
    expect(empty).toHaveLength(1);
    expect(empty[0]?.meta).toBeDefined();
    expect(empty[0]?.sha256).toBeDefined();
  });

  it("chunk and ack frames never reach the Message decoder as messages", () => {
    const [chunk] = chunksOf(snapshotMessage(new Uint8Array([1, 2, 3])), 16);
    expect(decodeFrame(encodeOk(chunk as SnapshotChunkFrame)).ok).toBe(false);
    expect(decodeFrame(encodeOk(ackOf())).ok).toBe(false);
  });

  it("validation refuses, naming the field", () => {
    const [first, second, last] = chunksOf(snapshotMessage(new Uint8Array(30)), 10) as [SnapshotChunkFrame, SnapshotChunkFrame, SnapshotChunkFrame];
    const bad = (value: unknown, pattern: RegExp) => {
      const r = decodePeerFrame(plainPackr.pack(value));
      expect(r.ok).toBe(false);
      if (!r.ok) expect(r.reason).toMatch(pattern);
    };
    bad({ ...first, extra: 1 }, /unknown field "extra"/);
    bad({ ...first, transferId: 0 }, /transferId/);
    bad({ ...first, crc32: 2 ** 32 }, /crc32/);
    bad({ ...first, meta: undefined }, /meta: required/);
    bad({ ...second, meta: first.meta }, /meta: only the first/);
    bad({ ...last, sha256: undefined }, /sha256: required/);
    bad({ ...second, sha256: new Uint8Array(32) }, /sha256: only the last/);
    bad({ ...last, sha256: new Uint8Array(31) }, /sha256: expected 32 bytes/);
    bad({ ...second, offset: 25 }, /run past totalBytes/);
    bad({ ...second, data: new Uint8Array(0) }, /empty chunk/);
    bad({ ...second, data: "text" }, /data: expected binary/);
    bad({ ...second, data: new Uint8Array(MAX_SNAPSHOT_CHUNK_BYTES + 1), totalBytes: 2 * MAX_SNAPSHOT_CHUNK_BYTES }, /at most/);
    bad({ ...first, meta: { ...first.meta, term: 99 } }, /meta.term: 99 is above the message term/);
    bad({ ...first, to: first.from }, /from and to/);
    bad(ackOf({ status: "refused" }), /code: required/);
    bad({ ...ackOf(), code: "CHUNK_CORRUPT" }, /code: only a refusal/);
    bad({ ...ackOf({ status: "refused" }), code: "NOPE" }, /code: expected/);
    bad({ ...ackOf(), status: "finished" }, /status/);
    bad({ ...ackOf(), reason: "x".repeat(257) }, /reason/);
    bad({ ...ackOf(), received: -1 }, /received/);
  });

  it("encodeSnapshotFrame refuses what the receiver would refuse", () => {
    const [first] = chunksOf(snapshotMessage(new Uint8Array(30)), 10) as [SnapshotChunkFrame];
    expect(encodeSnapshotFrame({ ...first, offset: 5 }).ok).toBe(false);
    expect(encodeSnapshotFrame({ ...first, term: -1 }).ok).toBe(false);
  });
});

describe("decodePeerFrame never throws (fuzz)", () => {
  it("on random bytes, and on valid chunk/ack frames with bytes flipped, truncated or appended", () => {
    fc.assert(fc.property(fc.uint8Array({ maxLength: 512 }), (bytes) => void decodeSafely(bytes)), { numRuns: 3_000 });
    const mutated = fc
      .tuple(
        fc.oneof(validChunkArb, validAckArb).map(encodeOk),
        fc.array(fc.tuple(fc.nat(), fc.integer({ min: 0, max: 255 })), { maxLength: 4 }),
        fc.nat(),
        fc.uint8Array({ maxLength: 8 }),
      )
      .map(([frame, flips, cut, tail]) => {
        const bytes = Buffer.from(frame);
        for (const [at, value] of flips) bytes[at % bytes.length] = value;
        return Buffer.concat([bytes.subarray(0, Math.max(1, cut % (bytes.length + 1))), tail]);
      });
    fc.assert(fc.property(mutated, (bytes) => void decodeSafely(bytes)), { numRuns: 3_000 });
  });

  it("on every strict prefix of a valid chunk frame", () => {
    fc.assert(
      fc.property(validChunkArb.map(encodeOk), (frame) => {
        for (let n = 0; n < frame.length; n++) expect(decodeSafely(frame.subarray(0, n)).ok).toBe(false);
      }),
      { numRuns: 100 },
    );
  });

  it("on valid chunk/ack frames with one field replaced by anything (and any msgpack value typed as a chunk)", () => {
    const replaced = fc
      .tuple(fc.oneof(validChunkArb, validAckArb), fc.nat(), fc.anything({ withBigInt: true, withTypedArray: true, withNullPrototype: true }))
      .map(([frame, which, value]) => {
        const fields = Object.keys(frame);
        const key = fields[which % fields.length] as string;
        return { ...frame, [key]: value };
      });
    fc.assert(
      fc.property(replaced, (value) => {
        let bytes: Buffer;
        try {
          bytes = plainPackr.pack(value);
        } catch {
          return;
        }
        decodeSafely(bytes);
      }),
      { numRuns: 3_000 },
    );
    const typed = fc.tuple(fc.constantFrom("snapshotChunk", "snapshotAck"), fc.dictionary(fc.string(), fc.anything({ withBigInt: true, withDate: true, withMap: true, withSet: true, withTypedArray: true })));
    fc.assert(
      fc.property(typed, ([type, rest]) => {
        let bytes: Buffer;
        try {
          bytes = pack({ ...rest, type });
        } catch {
          return;
        }
        decodeSafely(bytes);
      }),
      { numRuns: 2_000 },
    );
  });

  it("whatever the validator accepts satisfies the chunk invariants", () => {
    fc.assert(
      fc.property(validChunkArb, (chunk) => {
        const r = validateSnapshotFrame(chunk);
        expect(r.ok).toBe(true);
        if (r.ok && r.frame.type === "snapshotChunk") {
          const f = r.frame;
          expect(f.offset + f.data.length).toBeLessThanOrEqual(f.totalBytes);
          expect(f.meta !== undefined).toBe(f.offset === 0);
          expect(f.sha256 !== undefined).toBe(f.offset + f.data.length === f.totalBytes);
        }
      }),
      { numRuns: 500 },
    );
  });
});

describe("OutgoingSnapshot", () => {
  it("keeps at most windowChunks unacknowledged, resumes on acks, and succeeds only on `done`", () => {
    const sent: SnapshotChunkFrame[] = [];
    const outcomes: [boolean, string][] = [];
    const sender = new OutgoingSnapshot({
      message: snapshotMessage(new Uint8Array(100)),
      transferId: 9,
      chunkBytes: 10,
      windowChunks: 3,
      nowMs: 0,
      sink: (chunk) => {
        sent.push(chunk);
        return { ok: true };
      },
      finish: (ok, why) => outcomes.push([ok, why]),
    });
    sender.pump();
    expect(sent.map((c) => c.offset)).toEqual([0, 10, 20]);
    sender.onAck(ackOf({ transferId: 9, received: 10 }), 1);
    expect(sent.map((c) => c.offset)).toEqual([0, 10, 20, 30]);
    for (let received = 20; received <= 90; received += 10) sender.onAck(ackOf({ transferId: 9, received }), 2);
    expect(sent).toHaveLength(10);
    expect(sender.unackedPeak).toBe(3);
    expect(outcomes).toEqual([]);
    sender.onAck(ackOf({ transferId: 9, received: 100, status: "done" }), 3);
    expect(outcomes).toEqual([[true, "delivered"]]);
  });

  it("fails on a refusal, an ack beyond what was sent, a dropped chunk, a stall, or a sink refusal", () => {
    const run = (act: (s: OutgoingSnapshot, outcome: ((w: boolean) => void)[]) => void, sinkOk = true): [boolean, string][] => {
      const outcomes: [boolean, string][] = [];
      const written: ((w: boolean) => void)[] = [];
      const s = new OutgoingSnapshot({
        message: snapshotMessage(new Uint8Array(100)),
        transferId: 1,
        chunkBytes: 10,
        windowChunks: 2,
        nowMs: 0,
        sink: (_chunk, outcome) => {
          written.push(outcome);
          return sinkOk ? { ok: true } : { ok: false, why: "filtered" };
        },
        finish: (ok, why) => outcomes.push([ok, why]),
      });
      s.pump();
      act(s, written);
      return outcomes;
    };
    expect(run((s) => s.onAck(ackOf({ status: "refused", code: "CHUNK_CORRUPT" }), 1))[0]?.[1]).toMatch(/CHUNK_CORRUPT/);
    expect(run((s) => s.onAck(ackOf({ received: 50 }), 1))[0]?.[0]).toBe(false);
    expect(run((s) => s.onAck(ackOf({ received: 20, status: "done" }), 1))[0]?.[0]).toBe(false);
    expect(run((_s, written) => written[1]?.(false))[0]?.[1]).toMatch(/dropped/);
    expect(run((s) => s.checkStall(5_001, 5_000))[0]?.[1]).toMatch(/no acknowledgement/);
    expect(run((s) => s.checkStall(5_000, 5_000))).toEqual([]);
    expect(run(() => {}, false)).toEqual([[false, "filtered"]]);
    // Exactly once, whatever happens afterwards.
    expect(
      run((s) => {
        s.abort("connection lost");
        s.onAck(ackOf({ received: 100, status: "done" }), 1);
        s.checkStall(1e9, 1);
      }),
    ).toEqual([[false, "connection lost"]]);
    expect(run((s) => s.abort("superseded", false))).toEqual([]);
  });
});

describe("SnapshotReassembler", () => {
  const data = new Uint8Array(100).map((_, i) => 255 - i);

  function feedAll(r: SnapshotReassembler, chunks: SnapshotChunkFrame[]) {
    return chunks.map((c) => r.accept(c, 0));
  }

  it("reassembles in-order chunks into one valid snapshot message and frees its reservation", () => {
    const r = new SnapshotReassembler({ maxIncomingBytes: 1_000 });
    const verdicts = feedAll(r, chunksOf(snapshotMessage(data), 30));
    expect(verdicts.map((v) => v.kind)).toEqual(["progress", "progress", "progress", "complete"]);
    const last = verdicts[3];
    expect(last?.kind === "complete" && last.message).toStrictEqual(snapshotMessage(new Uint8Array(data)));
    expect(r.bytesReserved).toBe(0);
    expect(r.inProgress("a")).toBeUndefined();
  });

  it("refuses a chunk with a bad CRC and discards the transfer; nothing completes", () => {
    const r = new SnapshotReassembler({ maxIncomingBytes: 1_000 });
    const chunks = chunksOf(snapshotMessage(data), 30);
    const corrupt = chunks.map((c, i) => (i === 1 ? { ...c, data: Uint8Array.from(c.data, (b, j) => (j === 3 ? b ^ 1 : b)) } : c));
    const verdicts = feedAll(r, corrupt);
    expect(verdicts[1]).toMatchObject({ kind: "refused", code: "CHUNK_CORRUPT" });
    expect(verdicts.slice(2).map((v) => v.kind === "refused" && v.code)).toEqual(["OUT_OF_ORDER", "OUT_OF_ORDER"]);
    expect(r.bytesReserved).toBe(0);
  });

  it("refuses a whole whose SHA-256 does not match (each chunk's CRC fine)", () => {
    const r = new SnapshotReassembler({ maxIncomingBytes: 1_000 });
    const chunks = chunksOf(snapshotMessage(data), 30);
    const lastChunk = chunks[3] as SnapshotChunkFrame;
    chunks[3] = { ...lastChunk, sha256: new Uint8Array(32) };
    expect(feedAll(r, chunks)[3]).toMatchObject({ kind: "refused", code: "SNAPSHOT_CORRUPT" });
    expect(r.bytesReserved).toBe(0);
  });

  it("refuses gaps, duplicates, changed term/size, and unknown transfers; a new transfer supersedes", () => {
    const r = new SnapshotReassembler({ maxIncomingBytes: 1_000 });
    const chunks = chunksOf(snapshotMessage(data), 30, 1);
    const [c0, c1, c2] = chunks as [SnapshotChunkFrame, SnapshotChunkFrame, SnapshotChunkFrame];
    r.accept(c0, 0);
    expect(r.accept(c2, 0)).toMatchObject({ kind: "refused", code: "OUT_OF_ORDER" });
    r.accept(c0, 0);
    r.accept(c1, 0);
    expect(r.accept(c1, 0)).toMatchObject({ kind: "refused", code: "OUT_OF_ORDER" });
    r.accept(c0, 0);
    expect(r.accept({ ...c1, term: 6 }, 0)).toMatchObject({ kind: "refused", code: "INCONSISTENT" });
    expect(r.accept({ ...c1, transferId: 77 }, 0)).toMatchObject({ kind: "refused", code: "OUT_OF_ORDER" });
    // Transfer 2 supersedes transfer 1 half-way; a leftover of 1 does not disturb 2, which completes.
    r.accept(c0, 0);
    const fresh = chunksOf(snapshotMessage(data.map((b) => b ^ 0xff)), 30, 2);
    expect(r.accept(fresh[0] as SnapshotChunkFrame, 0).kind).toBe("progress");
    expect(r.accept(c1, 0)).toMatchObject({ kind: "refused", code: "OUT_OF_ORDER" });
    const verdicts = fresh.slice(1).map((c) => r.accept(c, 0));
    const done = verdicts[verdicts.length - 1];
    expect(done?.kind === "complete" && Buffer.from(done.message.snapshot.data).equals(Buffer.from(data.map((b) => b ^ 0xff)))).toBe(true);
    expect(r.bytesReserved).toBe(0);
  });

  it("caps the bytes being reassembled across peers, and expires stalled transfers", () => {
    const r = new SnapshotReassembler({ maxIncomingBytes: 150 });
    const fromA = chunksOf(snapshotMessage(data, 5, "a", "z"), 30);
    const fromB = chunksOf(snapshotMessage(data, 5, "b", "z"), 30);
    expect(r.accept(fromA[0] as SnapshotChunkFrame, 0).kind).toBe("progress");
    expect(r.accept(fromB[0] as SnapshotChunkFrame, 0)).toMatchObject({ kind: "refused", code: "TOO_LARGE" });
    expect(r.bytesReserved).toBe(100);
    expect(r.expire(1_000, 1_000)).toEqual([]);
    expect(r.expire(1_001, 1_000)).toEqual([{ from: "a", transferId: 1, received: 30, totalBytes: 100 }]);
    expect(r.bytesReserved).toBe(0);
    expect(r.accept(fromB[0] as SnapshotChunkFrame, 0).kind).toBe("progress");
  });
});
