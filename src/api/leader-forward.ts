// Sending a request on to the leader (or to one member): one hop, never more. A write the leader refuses because
// it is handing over is held and resent to the next leader (transfer-hold.ts). Every failure is an API error the
// client can act on: NO_LEADER when the request surely did not take effect, OUTCOME_UNKNOWN when it may have.
import { FORWARDED_HEADER, type RequestContext } from "./router.js";
import { RaftschedError } from "../util/errors.js";
import type { Task } from "../scheduler/types.js";
import { clusterRequest, type ClusterAnswer } from "../tls/cluster-fetch.js";
import type { ReplicaHandle } from "../node/replica-handle.js";
import { NOT_APPLIED_DETAIL, forwardThroughHandOver, type TransferHold } from "../node/transfer-hold.js";

const FORWARD_TIMEOUT_MS = 6000;

export interface Forwarded {
  readonly status: number;
  readonly body: unknown;
  /** A success's text as the leader wrote it (JSON.stringify of `body`): a follower can pass it on without
   *  parsing and serializing megabytes again (issue 14.3); `body` is parsed only when read. */
  readonly text?: string;
}

/** A leader's success answer, parsed only when `body` is read. */
function successAnswer(status: number, text: string, url: string): Forwarded {
  let parsed: { value: unknown } | null = null;
  return {
    status,
    text,
    get body(): unknown {
      if (parsed === null) {
        try {
          parsed = { value: text ? (JSON.parse(text) as unknown) : null };
        } catch {
          throw new RaftschedError("NO_LEADER", `the leader at ${url} answered ${status} with a non-JSON body`);
        }
      }
      return parsed.value;
    },
  };
}

export class LeaderForwarder {
  constructor(
    private readonly n: Pick<ReplicaHandle, "id" | "cfg" | "runner" | "leaderUrl" | "memberUrl">,
    private readonly transferHold: TransferHold,
  ) {}

  async forwardTo(memberId: string, method: string, path: string, body?: unknown): Promise<Forwarded> {
    const url = this.n.memberUrl(memberId);
    if (!url) throw new RaftschedError("NO_LEADER", `no url known for "${memberId}"`);
    return await this.send(url, method, path, body);
  }

  async forward(method: string, path: string, body: unknown, ctx?: RequestContext): Promise<Forwarded> {
    const url = this.n.leaderUrl();
    if (ctx?.forwarded || !url) {
      throw new RaftschedError(
        "NO_LEADER",
        ctx?.forwarded ? "this node is no longer the leader; retry shortly" : "no leader is known yet; retry shortly",
        { leaderId: this.n.runner.knownLeader },
      );
    }
    if (!isHeldWrite(method, path)) return await this.send(url, method, path, body);
    // A write: the leader may refuse it because it is handing over (or just did); wait for the next and resend.
    return await forwardThroughHandOver(this.transferHold, this.n.runner.knownLeader, async (leaderId) => {
      const to = leaderId === null ? url : this.n.memberUrl(leaderId);
      if (!to) throw new RaftschedError("NO_LEADER", `no url known for "${leaderId}"`);
      return await this.send(to, method, path, body);
    });
  }

  private async send(url: string, method: string, path: string, body: unknown): Promise<Forwarded> {
    // The client's bytes as received (RequestContext.body), or a value serialized here, before the try below: a
    // body that cannot be serialized is this node's problem, never "the leader is unreachable" (the callers
    // validate, so JSON.stringify cannot meet a value nested too deep for it).
    const data = body === undefined ? undefined : Buffer.isBuffer(body) ? new Uint8Array(body.buffer as ArrayBuffer, body.byteOffset, body.byteLength) : JSON.stringify(body);
    let res: ClusterAnswer;
    try {
      res = await clusterRequest(url + path, {
        method,
        headers: {
          authorization: `Bearer ${this.n.cfg.token}`,
          [FORWARDED_HEADER]: this.n.id,
          ...(data !== undefined ? { "content-type": "application/json" } : {}),
        },
        ...(data !== undefined ? { body: data } : {}),
        // Adding a voter waits for the learner to catch up first.
        signal: AbortSignal.timeout(path.startsWith("/v1/cluster/members") ? 70_000 : FORWARD_TIMEOUT_MS),
      });
    } catch (err) {
      // We cannot know whether the leader received and applied the write.
      const timedOut = (err as Error).name === "TimeoutError";
      // Only a refused connection certainly carried nothing; a reset may have come after the leader proposed.
      const refused = (err as { cause?: { code?: string } }).cause?.code === "ECONNREFUSED";
      throw new RaftschedError(timedOut ? "OUTCOME_UNKNOWN" : "NO_LEADER", `forwarding to the leader at ${url} failed: ${timedOut ? "timed out" : (err as Error).message}`, {
        [NOT_APPLIED_DETAIL]: refused,
      });
    }
    let answer: string;
    try {
      answer = await res.text();
    } catch (err) {
      // The leader went away while answering: the write may well have been applied.
      throw new RaftschedError("OUTCOME_UNKNOWN", `the leader at ${url} stopped answering mid-response (${(err as Error).message}); the request may have taken effect`);
    }
    if (res.status >= 200 && res.status < 300) return successAnswer(res.status, answer, url);
    let parsed: unknown = null;
    try {
      parsed = answer ? JSON.parse(answer) : null;
    } catch {
      throw new RaftschedError("NO_LEADER", `the leader at ${url} answered ${res.status} with a non-JSON body`);
    }
    const e = (parsed as { error?: { code?: string; message?: string; state?: unknown } } | null)?.error;
    // The leader's own refusal: for the codes isHandOverRefusal names, it proposed nothing. A task's state in a 409
    // (DELETE, retry) is passed on as the leader said it.
    const state = typeof e?.state === "string" ? { state: e.state } : {};
    throw new RaftschedError(e?.code ?? "INTERNAL", e?.message ?? `leader answered ${res.status}`, { [NOT_APPLIED_DETAIL]: true, ...state });
  }
}

/** A submit the leader answered: the task (parsed only when read) and the leader's text to pass on as it is. */
export function forwardedSubmit(r: Forwarded): { created: boolean; readonly task: Task; answerText?: string } {
  return {
    created: r.status === 201,
    get task(): Task {
      return r.body as Task;
    },
    ...(r.text !== undefined ? { answerText: r.text } : {}),
  };
}

/** The writes held through a leader hand-over: task writes (submit, reports, cancel, retry, DELETE) and schedule
 *  writes; membership changes and transfers are the hand-over's own business. */
export function isHeldWrite(method: string, path: string): boolean {
  if (method === "POST") return path.startsWith("/v1/tasks") || path.startsWith("/v1/schedules");
  if (method === "DELETE") return path.startsWith("/v1/tasks/") || path.startsWith("/v1/schedules/");
  return false;
}
