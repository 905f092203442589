// Writes that arrive while the leader hands leadership over (issue #18 item 4). The core refuses proposals during
// a transfer (TRANSFER_IN_PROGRESS), so a SIGTERM, `member remove <leader>` or transfer-leader used to fail the
// writes in flight with 503. Now such a write is held until the hand-over ends, then proposed here (the transfer
// was abandoned and this node still leads) or sent on to the new leader (it moved). Bounded: at most
// MAX_HELD_WRITES at once and at most maxHoldMs each (about eight election timeouts); past either bound the write
// fails with 503 TRANSFER_IN_PROGRESS as before, and nothing was proposed, so the client may retry it.
//
// The same applies one hop back: a follower that forwarded a write to a leader that answers "transfer in
// progress" or "no longer the leader" (it stepped down meanwhile) waits for the new leader and forwards once more.
import { RaftschedError, errorCode } from "../util/errors.js";

export const MAX_HELD_WRITES = 256;
const POLL_MS = 10;

/** What the hold watches: this node's view of the leadership, read fresh at every poll. */
export interface LeadershipView {
  readonly isLeader: boolean;
  /** A transfer is under way (the core refuses proposals meanwhile). */
  readonly transferring: boolean;
  readonly knownLeader: string | null;
}

export type HoldOutcome = { readonly kind: "propose-here" } | { readonly kind: "leader-elsewhere"; readonly leaderId: string };

export class TransferHold {
  private held = 0;
  /** The view, read at most once per poll for all held writes (the leader's status is not free to build). */
  private cached: { readonly view: LeadershipView; readonly atMs: number } | null = null;

  constructor(
    private readonly o: {
      readonly selfId: string;
      readonly view: () => LeadershipView;
      readonly maxHoldMs: () => number;
      readonly maxHeld?: number;
    },
  ) {}

  /** This node's view of the leadership now. */
  readonly view = (): LeadershipView => this.o.view();

  /** Writes being held right now. */
  get count(): number {
    return this.held;
  }

  /** Waits until the leadership settles: this node leads with no transfer, or another node is known to lead
   *  (other than `notLeader`, the one that just refused). Throws TRANSFER_IN_PROGRESS past the bounds. */
  async waitForLeader(notLeader: string | null = null): Promise<HoldOutcome> {
    const maxHeld = this.o.maxHeld ?? MAX_HELD_WRITES;
    if (this.held >= maxHeld) {
      throw new RaftschedError("TRANSFER_IN_PROGRESS", `leadership is moving and ${maxHeld} writes are already waiting for it; retry shortly`);
    }
    this.held++;
    try {
      const maxHoldMs = this.o.maxHoldMs();
      const deadline = Date.now() + maxHoldMs;
      for (;;) {
        const v = this.currentView();
        if (v.isLeader && !v.transferring) return { kind: "propose-here" };
        if (!v.isLeader && v.knownLeader !== null && v.knownLeader !== this.o.selfId && v.knownLeader !== notLeader) {
          return { kind: "leader-elsewhere", leaderId: v.knownLeader };
        }
        if (Date.now() >= deadline) {
          throw new RaftschedError("TRANSFER_IN_PROGRESS", `leadership did not settle within ${maxHoldMs} ms; the write was not applied, retry shortly`);
        }
        await new Promise((r) => setTimeout(r, POLL_MS));
      }
    } finally {
      this.held--;
    }
  }

  private currentView(): LeadershipView {
    const now = Date.now();
    if (this.cached === null || now - this.cached.atMs >= POLL_MS) this.cached = { view: this.o.view(), atMs: now };
    return this.cached.view;
  }

  /** Resolves once no write is held and `pending()` (proposals awaiting their commit) is 0, or after timeoutMs: a
   *  leader that handed over before stopping lets its held writes move on and its last proposals be answered
   *  (the new leader commits them) instead of failing them with SHUTTING_DOWN. */
  async drained(timeoutMs: number, pending: () => number = () => 0): Promise<void> {
    const deadline = Date.now() + timeoutMs;
    while ((this.held > 0 || pending() > 0) && Date.now() < deadline) await new Promise((r) => setTimeout(r, POLL_MS));
  }
}

/** On the leader: propose; if a hand-over refuses it, hold, then propose again here or send it to the new leader
 *  (`elsewhere`, which may refuse when this write came forwarded already: the forwarding follower retries). A
 *  NOT_LEADER from the core counts as such a refusal: the hand-over finished between the leader check and the
 *  proposal (a DELETE reads first), the core appended nothing, and the write belongs to the new leader (CI saw a
 *  DELETE answered 503 NOT_LEADER during a graceful restart). */
export async function proposeThroughHandOver<T>(hold: TransferHold, propose: () => Promise<T>, elsewhere: () => Promise<T>): Promise<T> {
  // Twice at most: a transfer abandoned and at once started again is the caller's (or the operator's) business.
  for (let attempt = 0; ; attempt++) {
    try {
      return await propose();
    } catch (err) {
      const code = errorCode(err);
      if ((code !== "TRANSFER_IN_PROGRESS" && code !== "NOT_LEADER") || attempt >= 2) throw err;
    }
    const outcome = await hold.waitForLeader();
    if (outcome.kind === "leader-elsewhere") return await elsewhere();
  }
}

/** A write that reads before it proposes (DELETE confirms the task's state with a ReadIndex first): a read that
 *  fails because leadership is moving (a hand-over under way, or this node no longer leads) proposed nothing, so it
 *  fails as TRANSFER_IN_PROGRESS and proposeThroughHandOver holds the write as it holds a refused proposal. */
export async function readBeforeHeldWrite(read: () => Promise<void>, view: () => LeadershipView): Promise<void> {
  try {
    await read();
  } catch (err) {
    const v = view();
    if (v.isLeader && !v.transferring) throw err;
    throw new RaftschedError("TRANSFER_IN_PROGRESS", `leadership moved during the read before this write (${errorCode(err) ?? "error"}); nothing was proposed`);
  }
}

/** Set in an error's details by the forwarding code: true when the leader certainly did not apply the write (it
 *  answered with a refusal, or the connection was refused before anything was sent). */
export const NOT_APPLIED_DETAIL = "notApplied";

/** Refusals by which a leader says it did not apply the write because leadership is moving or moved. Only the
 *  leader's own answer (or a refused connection) says so: a connection reset or a timeout may come after the
 *  leader proposed the write, and resending it would then find the task created by this very request and answer
 *  200 "already existed" — a submit the client sent once would look as if someone else had made it (found by
 *  `raftsched chaos --seed 7`: a kill-leader mid-forward). Those stay unknown to the client instead. */
export function isHandOverRefusal(err: unknown): boolean {
  const code = errorCode(err);
  const notApplied = (err as { details?: Record<string, unknown> } | null)?.details?.[NOT_APPLIED_DETAIL] === true;
  return notApplied && (code === "TRANSFER_IN_PROGRESS" || code === "NO_LEADER" || code === "NOT_LEADER");
}

/** On a follower forwarding a write: if the leader refused it for a hand-over, wait for the next leader and
 *  forward once more. `send(leaderId | null)` forwards to the given leader (null: the one known now). */
export async function forwardThroughHandOver<T>(hold: TransferHold, firstLeader: string | null, send: (leaderId: string | null) => Promise<T>): Promise<T> {
  try {
    return await send(null);
  } catch (err) {
    if (!isHandOverRefusal(err)) throw err;
    // No other leader within the bound (the leader is just unreachable): the original answer stands.
    const outcome = await hold.waitForLeader(firstLeader).catch(() => null);
    if (outcome === null || outcome.kind === "propose-here") throw err; // leading here now: the client's retry lands here
    return await send(outcome.leaderId);
  }
}
