// Every bound the peer transport enforces, in one place, so a reader can see what a hostile or buggy peer can
// cost us. The frame-content limits are checked by validate.ts on every decoded frame.

/** Node ids: the same ceiling the API uses for task ids. */
export const MAX_NODE_ID_CHARS = 128;
/** ReadIndex contexts are short correlation tokens minted by the core. */
export const MAX_CONTEXT_CHARS = 256;
/** Entries in one AppendEntries frame (the core batches 512 by default). */
export const MAX_ENTRIES_PER_FRAME = 10_000;
/** Members in a snapshot's ConfState (voters + learners each). */
export const MAX_MEMBERS = 1_024;

/** Defaults for WsTransport options. */
export const DEFAULT_MAX_PAYLOAD_BYTES = 16 * 1024 * 1024;
export const DEFAULT_SEND_QUEUE_LIMIT_FRAMES = 1_024;
/** Bytes waiting in one peer's queue; with 16 MiB frames the frame count alone would allow 16 GiB. */
export const DEFAULT_SEND_QUEUE_LIMIT_BYTES = 64 * 1024 * 1024;
/** Bytes handed to a socket but not yet written; above this we stop draining our queue into ws. */
export const DEFAULT_SOCKET_HIGH_WATER_BYTES = 4 * 1024 * 1024;
export const DEFAULT_BACKOFF_INITIAL_MS = 50;
export const DEFAULT_BACKOFF_MAX_MS = 2_000;
/** Fraction of each backoff delay that is randomized (0 = none, 1 = anywhere in [0, 2 × delay]). */
export const DEFAULT_BACKOFF_JITTER = 0.2;
/** A connection that answers no ping within two intervals is terminated (half-open TCP detection). */
export const DEFAULT_PING_INTERVAL_MS = 1_000;
/** An outbound dial that has not completed the upgrade in this long is abandoned and retried. */
export const DEFAULT_HANDSHAKE_TIMEOUT_MS = 2_000;
/** Remote addresses remembered for "log a refused upgrade once per address"; the oldest forgotten past it. */
export const MAX_REMEMBERED_REFUSALS = 1_024;

// ---- snapshot transfer (InstallSnapshot in chunks; see snapshot-frames.ts) ----------------------------------------
/** Snapshot data bytes per chunk frame; a snapshot up to this size travels as a single chunk. */
export const DEFAULT_SNAPSHOT_CHUNK_BYTES = 1024 * 1024;
/** Hard ceiling on one chunk's data, whatever the sender's setting: keeps every chunk frame well under maxPayload. */
export const MAX_SNAPSHOT_CHUNK_BYTES = 8 * 1024 * 1024;
/** Chunks a sender may have sent but not yet seen acknowledged: what bounds its memory and its queue. */
export const DEFAULT_SNAPSHOT_WINDOW_CHUNKS = 4;
/** Sum of the sizes of every snapshot being reassembled, across all peers (at most one transfer per peer). */
export const DEFAULT_MAX_INCOMING_SNAPSHOT_BYTES = 1024 * 1024 * 1024;
/** A transfer with no progress (no ack on the sending side, no chunk on the receiving side) this long is dropped. */
export const DEFAULT_SNAPSHOT_STALL_TIMEOUT_MS = 10_000;
/** Length of the free-text reason a receiver gives when it refuses a transfer. */
export const MAX_REFUSAL_REASON_CHARS = 256;
/** Characters of a refused peer upgrade's answer body kept for the log: a STORAGE_REPLACED answer names the way
 *  out with the node id three times, longer than a transfer's reason. */
export const MAX_UPGRADE_REFUSAL_CHARS = 1024;
