// What an operator should do when a peer refuses this node's connection. The refusal itself ("403: node "n4" is
// not a peer of this node") says what happened, not what to do; the usual cause is a new node started without
// --join on a cluster that does not list it yet (it bootstrapped a configuration of its own from its file).

export interface RefusalAdvice {
  /** Stable, for log searches and alerts. */
  readonly code: "NOT_A_MEMBER";
  readonly hint: string;
}

/** Advice for a refused upgrade (`status`, the peer's answer body), or null when the refusal needs none. */
export function refusalAdvice(status: number | undefined, body: string, selfId: string): RefusalAdvice | null {
  if (status === 403 && /is not a peer/.test(body)) {
    return {
      code: "NOT_A_MEMBER",
      hint:
        `this node ("${selfId}") is not a member of the peer's cluster. To add it: stop it, empty its data dir, ` +
        `start it again with --join (it then waits instead of bootstrapping), and run ` +
        `"raftsched member add ${selfId} --config <cluster-file>" from anywhere`,
    };
  }
  return null;
}
