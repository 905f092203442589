// fast-check generators for VALID peer messages: every field in range and every Raft-level invariant the validator
// checks (entries consecutive after prevLogIndex, terms non-decreasing and never above the message term, ...).
import { MAX_TERM_OR_INDEX } from "../../../src/transport/validate.js";
import fc from "fast-check";
import type { Entry, Message, NodeId } from "../../../src/raft/types.js";

export const nodeIdArb: fc.Arbitrary<NodeId> = fc.oneof(
  fc.string({ minLength: 1, maxLength: 128 }),
  // Any code points (each at most two UTF-16 units, so at most 128 characters).
  fc.string({ minLength: 1, maxLength: 64, unit: "binary" }),
);

const endpointsArb = fc
  .tuple(nodeIdArb, nodeIdArb)
  .filter(([from, to]) => from !== to)
  .map(([from, to]) => ({ from, to }));

// Terms and indexes are bounded by the validator (MAX_TERM_OR_INDEX = 2^48); valid messages stay within it.
const safeNat = fc.integer({ min: 0, max: MAX_TERM_OR_INDEX });
const contextArb = fc.oneof(fc.string({ maxLength: 256 }), fc.string({ maxLength: 128, unit: "binary" }));
const bytesArb = fc.uint8Array({ maxLength: 64 });

/** A log position (index, term) that is consistent: index 0 has term 0; term never above `maxTerm`. */
function logPosition(maxTerm: number): fc.Arbitrary<{ index: number; term: number }> {
  return fc.oneof(
    fc.constant({ index: 0, term: 0 }),
    fc.record({ index: fc.integer({ min: 1, max: MAX_TERM_OR_INDEX - 20_000 }), term: fc.integer({ min: 0, max: maxTerm }) }),
  );
}

function entriesAfter(prevIndex: number, prevTerm: number, term: number): fc.Arbitrary<Entry[]> {
  if (term < 1) return fc.constant([]);
  const lowest = Math.max(prevTerm, 1);
  return fc
    .array(fc.record({ term: fc.integer({ min: lowest, max: term }), kind: fc.constantFrom("normal" as const, "config" as const), data: bytesArb }), {
      maxLength: 20,
    })
    .map((raw) => {
      const terms = raw.map((e) => e.term).sort((a, b) => a - b);
      return raw.map((e, i) => ({ term: terms[i] as number, index: prevIndex + 1 + i, kind: e.kind, data: e.data }));
    });
}

const messageArb: fc.Arbitrary<Message> = fc.tuple(endpointsArb, safeNat).chain(([ends, term]): fc.Arbitrary<Message> => {
  const base = { ...ends, term };
  return fc.oneof(
    fc
      .tuple(fc.constantFrom("vote" as const, "preVote" as const), logPosition(term), fc.option(fc.boolean(), { nil: undefined }))
      .map(([type, last, transfer]) => ({
        type,
        ...base,
        lastLogIndex: last.index,
        lastLogTerm: last.term,
        ...(transfer === undefined ? {} : { transfer }),
      })),
    fc.tuple(fc.constantFrom("voteResp" as const, "preVoteResp" as const), fc.boolean()).map(([type, reject]) => ({ type, ...base, reject })),
    logPosition(term).chain((prev) =>
      fc.tuple(entriesAfter(prev.index, prev.term, term), safeNat).map(([entries, commit]) => ({
        type: "append" as const,
        ...base,
        prevLogIndex: prev.index,
        prevLogTerm: prev.term,
        entries,
        commit,
      })),
    ),
    fc
      .tuple(safeNat, fc.boolean(), fc.option(safeNat, { nil: undefined }), fc.option(safeNat, { nil: undefined }))
      .map(([index, reject, rejectHint, logTerm]) => ({
        type: "appendResp" as const,
        ...base,
        index,
        reject,
        ...(rejectHint === undefined ? {} : { rejectHint }),
        ...(logTerm === undefined ? {} : { logTerm }),
      })),
    fc
      .tuple(safeNat, fc.option(contextArb, { nil: undefined }))
      .map(([commit, context]) => ({ type: "heartbeat" as const, ...base, commit, ...(context === undefined ? {} : { context }) })),
    fc
      .option(contextArb, { nil: undefined })
      .map((context) => ({ type: "heartbeatResp" as const, ...base, ...(context === undefined ? {} : { context }) })),
    fc.constant({ type: "timeoutNow" as const, ...base }),
    contextArb.map((context) => ({ type: "readIndex" as const, ...base, context })),
    fc.tuple(contextArb, safeNat).map(([context, index]) => ({ type: "readIndexResp" as const, ...base, context, index })),
    ...(term >= 1
      ? [
          fc
            .tuple(
              fc.integer({ min: 1, max: MAX_TERM_OR_INDEX }),
              fc.integer({ min: 1, max: term }),
              fc.uniqueArray(nodeIdArb, { minLength: 1, maxLength: 9 }),
              fc.integer({ min: 1, max: 9 }),
              bytesArb,
            )
            .map(([index, snapTerm, members, voterCount, data]) => ({
              type: "snapshot" as const,
              ...base,
              snapshot: {
                meta: { index, term: snapTerm, conf: { voters: members.slice(0, voterCount), learners: members.slice(voterCount) } },
                data,
              },
            })),
        ]
      : []),
  );
});

export const validMessageArb = messageArb;
