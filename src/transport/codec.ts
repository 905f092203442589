// Peer frames: one Message per WebSocket binary frame, encoded as plain MessagePack maps.
//
// Records/shared structures (msgpackr's default) would shrink frames, but they make a frame's meaning depend on
// state negotiated earlier on the connection; plain maps keep every frame self-describing, which is what lets the
// receiver validate each one in isolation and drop a connection without poisoning the next. Both directions refuse
// anything that is not a valid Message: the sender so that a local bug never gets a healthy link closed by the
// peer, the receiver because the bytes come from the network.
import { Packr, Unpackr, type Options as PackrOptions } from "msgpackr";
import type { Message } from "../raft/types.js";
import { SNAPSHOT_FRAME_TYPES, type SnapshotTransferFrame, validateSnapshotFrame } from "./snapshot-frames.js";
import { validateMessage } from "./validate.js";

export type DecodeResult =
  | { readonly ok: true; readonly message: Message }
  | { readonly ok: false; readonly code: "BAD_FRAME"; readonly reason: string };

export type EncodeResult =
  | { readonly ok: true; readonly bytes: Buffer }
  | { readonly ok: false; readonly code: "BAD_MESSAGE"; readonly reason: string };

// `skipValues` exists at runtime (msgpackr >= 1.11) but is missing from its type declarations.
const packrOptions: PackrOptions & { skipValues: unknown[] } = {
  useRecords: false,
  // Optional fields left `undefined` are simply absent on the wire (msgpackr would otherwise spend an ext on them).
  skipValues: [undefined],
  structuredClone: false,
};
const packr = new Packr(packrOptions);

const unpackr = new Unpackr({
  useRecords: false,
  mapsAsObjects: true,
  // Cycles/back-references have no place in a Message; refuse the extension outright.
  structuredClone: false,
});

/** Validates and encodes one message. Never throws. The returned Buffer may share memory with other frames
 *  (msgpackr carves frames out of one arena) but is never overwritten afterwards. */
export function encodeFrame(message: Message): EncodeResult {
  const checked = validateMessage(message);
  if (!checked.ok) return { ok: false, code: "BAD_MESSAGE", reason: checked.reason };
  try {
    return { ok: true, bytes: packr.pack(message) };
  } catch (err) {
    return { ok: false, code: "BAD_MESSAGE", reason: `encode failed: ${errorText(err)}` };
  }
}

/** Decodes and validates one frame. Never throws, whatever the bytes. Binary fields of the result are views over
 *  `bytes` (no copy): the caller must not reuse that buffer while the message is alive. */
export function decodeFrame(bytes: Uint8Array): DecodeResult {
  if (!(bytes instanceof Uint8Array)) return { ok: false, code: "BAD_FRAME", reason: "frame is not binary data" };
  if (bytes.length === 0) return { ok: false, code: "BAD_FRAME", reason: "empty frame" };
  let value: unknown;
  try {
    value = unpackr.unpack(bytes);
  } catch (err) {
    return { ok: false, code: "BAD_FRAME", reason: `not a MessagePack value: ${errorText(err)}` };
  }
  const checked = validateMessage(value);
  if (!checked.ok) return { ok: false, code: "BAD_FRAME", reason: checked.reason };
  return checked;
}

/** Anything that may arrive on a peer connection: a Raft message, or one of the transport's snapshot frames. */
export type PeerFrame = { readonly kind: "message"; readonly message: Message } | { readonly kind: "snapshot"; readonly frame: SnapshotTransferFrame };

export type PeerDecodeResult = ({ readonly ok: true } & PeerFrame) | { readonly ok: false; readonly code: "BAD_FRAME"; readonly reason: string };

/** Decodes and validates one frame from a peer: a Message exactly as decodeFrame does, or a snapshot chunk/ack
 *  frame validated as strictly. Never throws. */
export function decodePeerFrame(bytes: Uint8Array): PeerDecodeResult {
  if (!(bytes instanceof Uint8Array)) return { ok: false, code: "BAD_FRAME", reason: "frame is not binary data" };
  if (bytes.length === 0) return { ok: false, code: "BAD_FRAME", reason: "empty frame" };
  let value: unknown;
  try {
    value = unpackr.unpack(bytes);
  } catch (err) {
    return { ok: false, code: "BAD_FRAME", reason: `not a MessagePack value: ${errorText(err)}` };
  }
  let type: unknown;
  try {
    type = typeof value === "object" && value !== null ? (value as { type?: unknown }).type : undefined;
  } catch {
    type = undefined; // a getter cannot come out of msgpackr, but nothing here may throw
  }
  if (typeof type === "string" && SNAPSHOT_FRAME_TYPES.has(type)) {
    const checked = validateSnapshotFrame(value);
    if (!checked.ok) return { ok: false, code: "BAD_FRAME", reason: checked.reason };
    return { ok: true, kind: "snapshot", frame: checked.frame };
  }
  const checked = validateMessage(value);
  if (!checked.ok) return { ok: false, code: "BAD_FRAME", reason: checked.reason };
  return { ok: true, kind: "message", message: checked.message };
}

/** Validates and encodes one snapshot chunk or ack frame. Never throws. */
export function encodeSnapshotFrame(frame: SnapshotTransferFrame): EncodeResult {
  const checked = validateSnapshotFrame(frame);
  if (!checked.ok) return { ok: false, code: "BAD_MESSAGE", reason: checked.reason };
  try {
    return { ok: true, bytes: packr.pack(frame) };
  } catch (err) {
    return { ok: false, code: "BAD_MESSAGE", reason: `encode failed: ${errorText(err)}` };
  }
}

function errorText(err: unknown): string {
  let text: string;
  try {
    text = err instanceof Error ? err.message : String(err);
  } catch {
    text = "unprintable error";
  }
  return text.length > 200 ? `${text.slice(0, 200)}…` : text;
}
