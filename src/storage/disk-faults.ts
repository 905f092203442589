// Disk fault injection for the store's write path (issue 14.5): every group-commit batch (the write and its fsync)
// passes through `DiskFaults.beforeWrite()`, which can add latency, hold the write until released (a disk that
// stops answering, as an NFS mount or a dying SSD does), or fail it with EIO / ENOSPC the way LevelDB would.
//
// Off by default: with mode "none" the gate costs one comparison per batch. Tests set it through the store's
// `faults` property; `raftsched chaos` sets it over POST /v1/debug/faults { disk: {...} }, which exists only when the
// node runs with RAFTSCHED_ENABLE_FAULTS=1 (src/api/fault-hooks.ts).
import { RaftschedError } from "../util/errors.js";

export const DISK_FAULT_MODES = ["none", "latency", "stall", "eio", "enospc"] as const;
export type DiskFaultMode = (typeof DISK_FAULT_MODES)[number];

export interface DiskFaultSpec {
  readonly mode: DiskFaultMode;
  /** For "latency": added before every batch. */
  readonly latencyMs?: number;
}

/** A latency past this is a stall; use mode "stall" for that (it is released explicitly, not by a timer). */
export const MAX_DISK_LATENCY_MS = 60_000;

/** An error shaped like the one Node/LevelDB give for a failed write: `code` is the errno name. */
export class InjectedDiskError extends Error {
  readonly code: "EIO" | "ENOSPC";
  constructor(code: "EIO" | "ENOSPC") {
    super(code === "EIO" ? "EIO: i/o error, write (injected)" : "ENOSPC: no space left on device, write (injected)");
    this.name = "InjectedDiskError";
    this.code = code;
  }
}

export class DiskFaults {
  private spec: DiskFaultSpec = { mode: "none" };
  /** Writes held by a stall wait on this; set() to anything else releases them. */
  private stallRelease: (() => void) | null = null;
  private stallGate: Promise<void> | null = null;
  /** Batches that have passed through the gate while a fault was set (tests assert the fault was hit). */
  private hits = 0;

  current(): DiskFaultSpec {
    return this.spec;
  }

  faultedWrites(): number {
    return this.hits;
  }

  /** Replaces the fault. Leaving "stall" releases every held write (they then go to disk in order). */
  set(spec: DiskFaultSpec): void {
    const checked = checkDiskFaultSpec(spec);
    if (checked.mode === "stall" && this.stallGate === null) {
      this.stallGate = new Promise<void>((resolve) => {
        this.stallRelease = resolve;
      });
    } else if (checked.mode !== "stall") {
      this.release();
    }
    this.spec = checked;
  }

  /** Releases a stall (same as set({ mode: "none" }) when stalled). */
  release(): void {
    const release = this.stallRelease;
    this.stallGate = null;
    this.stallRelease = null;
    if (this.spec.mode === "stall") this.spec = { mode: "none" };
    release?.();
  }

  /** Called before each batch is written. Resolves when the write may go on; rejects with the injected error. */
  beforeWrite(): Promise<void> | undefined {
    const spec = this.spec;
    if (spec.mode === "none") return undefined;
    this.hits++;
    switch (spec.mode) {
      case "latency":
        return new Promise((r) => setTimeout(r, spec.latencyMs ?? 0));
      case "stall":
        return this.stallGate ?? undefined;
      case "eio":
        return Promise.reject(new InjectedDiskError("EIO"));
      case "enospc":
        return Promise.reject(new InjectedDiskError("ENOSPC"));
    }
  }
}

/** Validates a fault spec from a test or from the fault hook's JSON body; throws BAD_FIELD. */
export function checkDiskFaultSpec(input: unknown): DiskFaultSpec {
  if (typeof input !== "object" || input === null || Array.isArray(input)) {
    throw new RaftschedError("BAD_FIELD", `disk: must be an object { mode: ${DISK_FAULT_MODES.join("|")}, latencyMs? }`);
  }
  const o = input as Record<string, unknown>;
  for (const k of Object.keys(o)) if (k !== "mode" && k !== "latencyMs") throw new RaftschedError("BAD_FIELD", `disk.${k}: unknown field (allowed: mode, latencyMs)`);
  const mode = o.mode;
  if (typeof mode !== "string" || !(DISK_FAULT_MODES as readonly string[]).includes(mode)) {
    throw new RaftschedError("BAD_FIELD", `disk.mode: must be one of ${DISK_FAULT_MODES.join(", ")}`);
  }
  if (mode !== "latency") {
    if (o.latencyMs !== undefined) throw new RaftschedError("BAD_FIELD", "disk.latencyMs: only with mode latency");
    return { mode: mode as DiskFaultMode };
  }
  const latencyMs = o.latencyMs;
  if (typeof latencyMs !== "number" || !Number.isInteger(latencyMs) || latencyMs < 0 || latencyMs > MAX_DISK_LATENCY_MS) {
    throw new RaftschedError("BAD_FIELD", `disk.latencyMs: an integer from 0 to ${MAX_DISK_LATENCY_MS}`);
  }
  return { mode: "latency", latencyMs };
}

/** The errno behind a failed write, when it is one the node reports by name (ours or LevelDB's wrapped one). */
export function diskErrnoOf(err: unknown): "EIO" | "ENOSPC" | null {
  for (let e: unknown = err, depth = 0; e && depth < 4; e = (e as { cause?: unknown }).cause, depth++) {
    const code = (e as { code?: unknown }).code;
    const message = String((e as { message?: unknown }).message ?? "");
    if (code === "ENOSPC" || /ENOSPC|No space left/i.test(message)) return "ENOSPC";
    if (code === "EIO" || /\bEIO\b|Input\/output error|i\/o error/i.test(message)) return "EIO";
  }
  return null;
}
